using Vmi.TestSupport;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Vmi.EndToEnd.Tests;

/// <summary>
/// What every command does with files it cannot use: inputs too large to be what they claim
/// (read with a cap, never whole), outputs that cannot be created (reported before anything
/// runs) and outputs that fail while being written (/dev/full: the open succeeds, every write
/// fails). Always one line naming the option and the path, never a stack trace.
/// </summary>
public sealed class InputOutputErrorTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("vmi-io-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string PathOf(string name) => Path.Combine(dir, name);

    private static void AssertOneLine(VmiRunner.CliResult r, int exitCode, string pattern)
    {
        Assert.Equal(exitCode, r.ExitCode);
        string[] lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Matches(pattern, lines[0]);
        Assert.DoesNotContain("   at ", r.Stderr + r.Stdout, StringComparison.Ordinal);
    }

    // ---- inputs ---------------------------------------------------------------------------

    [Theory]
    [InlineData("run", "/dev/zero")]
    [InlineData("run", "KERNEL", "--rom", "/dev/zero")]
    [InlineData("rom", "verify", "/dev/zero")]
    [InlineData("rom", "dump", "/dev/zero")]
    public void AnEndlessInputIsReadOnlyUpToItsCap(params string[] args)
    {
        var r = VmiRunner.Cli([.. args.Select(a => a == "KERNEL" ? VmiRunner.TestKernel : a)]);
        AssertOneLine(r, 2, @"^vmi: (kernel |--rom )?/dev/zero: more than \d+ bytes: too large for (a kernel|an option ROM) \(at most .+\)$");
    }

    [Fact]
    public void ASparseGigabyteKernelIsRefusedByItsSize()
    {
        string path = PathOf("sparse.elf");
        using (var f = File.Create(path))
        {
            f.SetLength(1L << 30);
        }
        var r = VmiRunner.Cli("run", path);
        AssertOneLine(r, 2, @"^vmi: kernel .*sparse\.elf: 1073741824 bytes: too large for a kernel \(at most 256 MiB\)$");
    }

    [Fact]
    public void AnOversizedRomIsRefusedByItsSize()
    {
        string path = PathOf("big.rom");
        File.WriteAllBytes(path, new byte[256 * 1024]);
        foreach (string[] args in new[] { new[] { "rom", "verify", path }, ["rom", "dump", path], ["run", VmiRunner.TestKernel, "--rom", path] })
        {
            var r = VmiRunner.Cli(args);
            AssertOneLine(r, 2, @"^vmi: (--rom )?.*big\.rom: 262144 bytes: too large for an option ROM \(at most 131072 bytes, the 0xC0000-0xDFFFF window\)$");
        }
    }

    [Fact]
    public void ADirectoryIsNotAKernel()
    {
        var r = VmiRunner.Cli("run", dir);
        AssertOneLine(r, 2, "^vmi: kernel .*: is a directory$");
    }

    // ---- outputs that cannot be created --------------------------------------------------

    public static TheoryData<string> OutputOptions => new() { "--serial", "--json", "--trace" };

    [Theory]
    [MemberData(nameof(OutputOptions))]
    public void AnOutputInAMissingDirectoryIsRefusedBeforeTheRun(string option)
    {
        string serial = PathOf("serial.txt");
        string target = PathOf("no-such-dir/out.txt");
        string[] args = option == "--serial"
            ? ["run", VmiRunner.TestKernel, "--serial", target]
            : ["run", VmiRunner.TestKernel, "--serial", serial, option, target];
        var r = VmiRunner.Cli(args);
        AssertOneLine(r, 2, $"^vmi: {option} {Regex.Escape(target)}: cannot write: no such directory {Regex.Escape(PathOf("no-such-dir"))}$");
        // Refused before the run: the guest printed nothing anywhere.
        Assert.Equal("", r.Stdout);
        Assert.True(!File.Exists(serial) || File.ReadAllText(serial) == "", "the guest ran although an output was unusable");
    }

    [Theory]
    [MemberData(nameof(OutputOptions))]
    public void AnOutputThatIsADirectoryIsRefusedBeforeTheRun(string option)
    {
        var r = VmiRunner.Cli("run", VmiRunner.TestKernel, option, dir);
        AssertOneLine(r, 2, $"^vmi: {option} {Regex.Escape(dir)}: cannot write: is a directory$");
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void RomBuildUsesTheSameWording()
    {
        string target = PathOf("no-such-dir/x.rom");
        AssertOneLine(VmiRunner.Cli("rom", "build", "--profile", "native", "-o", target), 2,
            $"^vmi: --output {Regex.Escape(target)}: cannot write: no such directory {Regex.Escape(PathOf("no-such-dir"))}$");
        AssertOneLine(VmiRunner.Cli("rom", "build", "--profile", "native", "-o", dir), 2,
            $"^vmi: --output {Regex.Escape(dir)}: cannot write: is a directory$");
    }

    [SkippableFact]
    public void AnOutputWithoutWritePermissionIsRefusedBeforeTheRun()
    {
        // root writes anywhere, so only an unprivileged user can see this refusal.
        Skip.If(Environment.UserName == "root", "running as root: permissions do not apply");
        if (OperatingSystem.IsWindows())
        {
            return; // no Unix modes
        }
        string locked = PathOf("locked");
        Directory.CreateDirectory(locked);
        File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        string target = Path.Combine(locked, "out.json");
        var r = VmiRunner.Cli("run", VmiRunner.TestKernel, "--json", target);
        AssertOneLine(r, 2, $"^vmi: --json {Regex.Escape(target)}: cannot write: permission denied$");
    }

    // ---- outputs that fail while being written -------------------------------------------

    [Theory]
    [MemberData(nameof(OutputOptions))]
    public void AFullDiskIsOneLineAndTheGuestStatusIsStillReported(string option)
    {
        // A guest that prints and exits with status 33 (it writes 0x10): vmi's own exit code 1 is then visibly vmi's.
        string kernel = FlatKernel.Write(dir, "hello.bin", a =>
        {
            FlatKernel.Print(a, "hello\n");
            FlatKernel.DebugExit(a, 0x10);
        });
        string serial = PathOf("serial.txt");
        string[] args = option == "--serial"
            ? ["run", kernel, "--serial", "/dev/full"]
            : ["run", kernel, "--serial", serial, option, "/dev/full"];
        var r = VmiRunner.Cli(args);
        Assert.Equal(1, r.ExitCode);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("bug in vmi", r.Stderr, StringComparison.Ordinal);
        string[] lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines, l => l.StartsWith($"vmi: {option} /dev/full: write failed: ", StringComparison.Ordinal));
        // The summary still says how the guest ended.
        Assert.Contains(lines, l => l.StartsWith("vmi: guest exit through the debug port: status 33 ", StringComparison.Ordinal));
    }

    [Fact]
    public void RomBuildToAFullDiskFails()
    {
        var r = VmiRunner.Cli("rom", "build", "--profile", "native", "-o", "/dev/full");
        AssertOneLine(r, 1, "^vmi: --output /dev/full: write failed: ");
        Assert.Equal("", r.Stdout);
    }

    [Theory]
    [InlineData("verify")]
    [InlineData("dump")]
    public void AReportToAFullStdoutIsOneLine(string command)
    {
        string rom = PathOf("native.rom");
        File.WriteAllBytes(rom, Vmi.Rom.RomProfiles.Native().Image);
        var psi = new System.Diagnostics.ProcessStartInfo("sh") { RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "-c", "exec dotnet \"$0\" rom \"$1\" \"$2\" > /dev/full", Path.Combine(AppContext.BaseDirectory, "vmi.dll"), command, rom })
        {
            psi.ArgumentList.Add(a);
        }
        using var p = System.Diagnostics.Process.Start(psi)!;
        string stderr = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(60_000));
        AssertOneLine(new VmiRunner.CliResult(p.ExitCode, "", stderr), 1, "^vmi: stdout: write failed: ");
    }

    // ---- --json - ------------------------------------------------------------------------

    [Fact]
    public void JsonOnStdoutIsKeptApartFromTheGuestConsole()
    {
        var r = VmiRunner.Cli("run", VmiRunner.TestKernel, "--json", "-");
        Assert.Equal(1, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal("DebugExit", doc.RootElement.GetProperty("exitReason").GetString());
        Assert.Contains("done failures=0", r.Stderr, StringComparison.Ordinal);
    }
}
