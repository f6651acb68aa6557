using System.Security.Cryptography;
using System.Text.Json;
using Vmi.TestSupport;

namespace Vmi.EndToEnd.Tests;

/// <summary>`vmi rom build` for backends and profile files, and `vmi run --hypervisor` publishing the backend's ROM.</summary>
public sealed class PublishedRomCommandTests
{
    private static readonly Lazy<string> GuestKernel = new(QemuRunner.BuildGuestKernel);

    private static IReadOnlyList<string> ResultLines(string stdout) =>
        [.. stdout.Split('\n').Where(l => l.StartsWith("RESULT ", StringComparison.Ordinal)).Select(l => l.Trim())];

    [Fact]
    public void EachBackendsPublishedRomIsFoundByAnIndependentProbe()
    {
        foreach ((string backend, string product) in new[] { ("bt", "VMI bt ROM (pentium4-2006, int 0x82 hypercalls)"), ("vt", "VMI vt ROM (pentium4-2006, vmcall hypercalls)"), ("vt-npt", "VMI vt-npt ROM (barcelona-2007, vmmcall hypercalls)") })
        {
            var r = VmiRunner.Cli("run", VmiRunner.RomProbe, "--hypervisor", backend, "-q");

            Assert.True(r.Stdout.Contains($"product {product}", StringComparison.Ordinal), $"{backend}:\n{r.Stdout}\n{r.Stderr}");
            Assert.Contains("checksum ok", r.Stdout, StringComparison.Ordinal);
            Assert.Contains("vmi_init eax 0", r.Stdout, StringComparison.Ordinal);
        }
        var none = VmiRunner.Cli("run", VmiRunner.RomProbe, "--hypervisor", "vt", "--no-rom", "-q");
        Assert.Contains("no vmi rom found", none.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void ABackendsRomBuiltForAnAmdModelUsesVmmcallAndVerifies()
    {
        string rom = Path.Combine(Path.GetTempPath(), $"vmi-vt-amd-{Environment.ProcessId}.rom");
        try
        {
            var build = VmiRunner.Cli("rom", "build", "--profile", "vt", "--cpu", "opteron-2006", "-o", rom);
            Assert.True(build.ExitCode == 0, build.Stderr);
            var verify = VmiRunner.Cli("rom", "verify", rom);
            Assert.True(verify.ExitCode == 0, verify.Stdout + verify.Stderr);
            Assert.Contains("VMI vt ROM (opteron-2006, vmmcall hypercalls)", verify.Stdout, StringComparison.Ordinal);
            Assert.True(File.ReadAllBytes(rom).AsSpan().IndexOf(new byte[] { 0x0F, 0x01, 0xD9 }) >= 0);
        }
        finally
        {
            File.Delete(rom);
        }
    }

    [Fact]
    public void TheSameKernelBinaryTakesARomFromAProfileWrittenAfterItWasBuilt()
    {
        string kernel = GuestKernel.Value;
        byte[] before = SHA256.HashData(File.ReadAllBytes(kernel));
        string dir = Directory.CreateTempSubdirectory("vmi-newhv-").FullName;
        try
        {
            // A hypervisor nobody had heard of when the kernel was compiled: its port I/O and CR3 loads are hypercalls.
            string profile = Path.Combine(dir, "newhv.json");
            File.WriteAllText(profile, """
                { "name": "newhv", "hypercall": "vmcall",
                  "calls": { "INB": "hypercall", "OUTB": "hypercall", "SetCR3": "hypercall", "CPUID": "stub", "IODelay": "nop" } }
                """);
            string rom = Path.Combine(dir, "newhv.rom");
            var build = VmiRunner.Cli("rom", "build", "--profile", profile, "-o", rom);
            Assert.True(build.ExitCode == 0, build.Stderr);

            var native = VmiRunner.Cli("run", kernel, "--cmdline", "kernel vmi=off quiet bench=syscall,io,ctxsw iters=20", "-q");
            var run = VmiRunner.Cli("run", kernel, "--cmdline", "kernel quiet bench=syscall,io,ctxsw iters=20", "--hypervisor", "vt", "--rom", rom, "--json", "-");

            Assert.Equal(1, run.ExitCode); // the guest wrote 0: every workload passed
            using var json = JsonDocument.Parse(run.Stdout[run.Stdout.IndexOf('{')..]);
            JsonElement byDetail = json.RootElement.GetProperty("eventsByDetail");
            string text = byDetail.ToString();
            Assert.Contains("INB", text, StringComparison.Ordinal);
            Assert.Contains("SetCR3", text, StringComparison.Ordinal);
            Assert.Equal(ResultLines(native.Stdout), ResultLines(VmiRunner.Cli("run", kernel, "--cmdline", "kernel quiet bench=syscall,io,ctxsw iters=20", "--hypervisor", "vt", "--rom", rom, "-q").Stdout));
            Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(kernel))); // the very same binary
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void AProfileFileThatAsksForTheImpossibleIsRefusedNamingTheKey()
    {
        string dir = Directory.CreateTempSubdirectory("vmi-badhv-").FullName;
        try
        {
            string profile = Path.Combine(dir, "bad.json");
            File.WriteAllText(profile, """{ "calls": { "IRET": "native" } }""");
            var r = VmiRunner.Cli("rom", "build", "--profile", profile, "-o", Path.Combine(dir, "x.rom"));
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("calls.IRET", r.Stderr, StringComparison.Ordinal);

            File.WriteAllText(profile, """{ "calls": { "DisableInterrupts": "hypercall" } }""");
            r = VmiRunner.Cli("rom", "build", "--profile", profile, "-o", Path.Combine(dir, "x.rom"));
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("calls.DisableInterrupts", r.Stderr, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(dir, "x.rom")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ExplainSaysWhyEachCallIsWhatItIs()
    {
        string rom = Path.Combine(Path.GetTempPath(), $"vmi-bt-{Environment.ProcessId}.rom");
        try
        {
            var bt = VmiRunner.Cli("rom", "build", "--profile", "bt", "-o", rom, "--explain");
            Assert.True(bt.ExitCode == 0, bt.Stderr);
            string[] lines = bt.Stdout.Split('\n');
            Assert.Contains(lines, l => l.StartsWith("DisableInterrupts", StringComparison.Ordinal) && l.Contains("virtual IF", StringComparison.Ordinal) && l.Contains("native 2030", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("GetInterruptMask", StringComparison.Ordinal) && l.Contains("native incorrect here", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("GetCycleFrequency", StringComparison.Ordinal) && l.Contains("delivers alarms", StringComparison.Ordinal));
            var verify = VmiRunner.Cli("rom", "verify", rom);
            Assert.True(verify.ExitCode == 0, verify.Stdout + verify.Stderr);
            Assert.Contains("VMI bt ROM (pentium4-2006, int 0x82 hypercalls)", verify.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(rom);
        }
    }
}
