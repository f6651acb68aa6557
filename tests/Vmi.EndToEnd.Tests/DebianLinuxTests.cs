using Vmi.TestSupport;
using Vmi.TestSupport.Linux;
using Xunit.Abstractions;

namespace Vmi.EndToEnd.Tests;

/// <summary>
/// A kernel nobody here wrote: Debian's i386 Linux 6.1 (the -686 flavour, unmodified, from Debian's
/// package registry) boots on vmi by the 32-bit boot protocol with a busybox initramfs, runs /init's
/// commands (uname, /proc/cpuinfo, a shell loop, floating point in awk) and powers off through the
/// debug-exit port; QEMU boots the same files and must print the same lines.
/// </summary>
public sealed class DebianLinuxTests(ITestOutputHelper output)
{
    private static readonly Lazy<(DebianLinux? Linux, string Reason, string? Initramfs)> Files = new(() =>
    {
        DebianLinux? linux = DebianLinux.Find(out string reason);
        return (linux, reason, linux?.BuildInitramfs());
    });

    private (DebianLinux Linux, string Initramfs) Require()
    {
        (DebianLinux? linux, string reason, string? initramfs) = Files.Value;
        Skip.If(linux is null, reason);
        output.WriteLine(linux!.Versions);
        return (linux, initramfs!);
    }

    private (IReadOnlyList<string> Lines, VmiRunner.CliResult Result) BootOnVmi(params string[] extra)
    {
        (DebianLinux linux, string initramfs) = Require();
        string serial = Path.Combine(Path.GetTempPath(), $"vmi-debian-{Environment.ProcessId}-{Guid.NewGuid():N}.serial");
        try
        {
            VmiRunner.CliResult r = VmiRunner.Cli(["run", linux.Kernel, "--initrd", initramfs, "--append", DebianLinux.CommandLine,
                "-m", $"{DebianLinux.MemoryMiB}M", "--max-instructions", "1500000000", "--serial", serial, .. extra]);
            string console = File.ReadAllText(serial);
            output.WriteLine(r.Stderr);
            output.WriteLine(console);
            return (DebianLinux.MarkedLines(console), r);
        }
        finally
        {
            File.Delete(serial);
        }
    }

    [SkippableFact]
    public void DebiansKernelBootsToABusyboxShellRunsInitsCommandsAndPowersOffThroughTheDebugPort()
    {
        (IReadOnlyList<string> lines, VmiRunner.CliResult r) = BootBare();

        Assert.Equal(1, r.ExitCode); // (0 << 1) | 1: /init wrote 0 to port 0xF4 through /dev/port
        Assert.Contains("Linux boot protocol 2.15, payload xz, decompressed on the host", r.Stderr, StringComparison.Ordinal);
        Assert.Equal("VMI-LINUX begin", lines[0]);
        Assert.Matches(@"^Linux \(none\) 6\.1\.\d+-\d+-686 #1 SMP PREEMPT_DYNAMIC Debian .* i686 GNU/Linux$", lines[1]);
        Assert.Contains("fpu\t\t: yes", lines);
        Assert.Contains("loop 4 16", lines);
        Assert.Contains(lines, l => l.StartsWith("awk harmonic20 3.597739657143682 sqrt2 1.414213562373095 e 2.718281828459046 pi 3.141592653589793", StringComparison.Ordinal)
            || l.StartsWith("awk harmonic20 3.597739657143682 sqrt2 1.414213562373095 e 2.718281828459046 pi 3.141592653589794", StringComparison.Ordinal));
        Assert.Equal("VMI-LINUX end", lines[^1]);
    }

    [SkippableFact]
    public void QemuBootingTheSameKernelAndInitramfsPrintsTheSameLines()
    {
        (DebianLinux linux, string initramfs) = Require();
        Skip.If(QemuRunner.FindQemu() is null, $"{QemuRunner.QemuBinary} is not installed");

        QemuResult qemu = QemuRunner.Run(linux.Kernel, DebianLinux.CommandLine, TimeSpan.FromMinutes(3), memoryMiB: DebianLinux.MemoryMiB, initrd: initramfs);
        (IReadOnlyList<string> vmi, _) = BootBare();
        output.WriteLine(qemu.Stdout);

        Assert.False(qemu.TimedOut, "QEMU timed out");
        Assert.Equal(1, qemu.ExitCode);
        IReadOnlyList<string> expected = DebianLinux.MarkedLines(qemu.Stdout);
        Assert.True(expected.Count >= 10, $"QEMU printed {expected.Count} marked lines");
        Assert.Equal(expected, vmi);
    }

    /// <summary>The bare machine's boot, run once for every test that compares with it.</summary>
    private static readonly Lazy<(IReadOnlyList<string> Lines, VmiRunner.CliResult Result, string Log)> BareBoot = new(() =>
    {
        var log = new StringOutput();
        (IReadOnlyList<string> lines, VmiRunner.CliResult r) = new DebianLinuxTests(log).BootOnVmi();
        return (lines, r, log.Text);
    });

    private (IReadOnlyList<string> Lines, VmiRunner.CliResult Result) BootBare()
    {
        Require();
        (IReadOnlyList<string> lines, VmiRunner.CliResult r, string log) = BareBoot.Value;
        output.WriteLine(log);
        return (lines, r);
    }

    private sealed class StringOutput : ITestOutputHelper
    {
        private readonly System.Text.StringBuilder text = new();

        public string Text => text.ToString();

        public void WriteLine(string message) => text.AppendLine(message);

        public void WriteLine(string format, params object[] args) => text.AppendLine(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));
    }

    [SkippableTheory]
    [InlineData("native")]
    [InlineData("bt")]
    [InlineData("vt")]
    [InlineData("vt-npt")]
    public void UnderAHypervisorBackendTheBootPrintsWhatItPrintsOnTheBareMachine(string backend)
    {
        (IReadOnlyList<string> bare, _) = BootBare();
        (IReadOnlyList<string> lines, VmiRunner.CliResult r) = BootOnVmi("--hypervisor", backend, "--events");

        Assert.Equal(1, r.ExitCode);
        Assert.True(bare.Count >= 10);
        Assert.Equal(bare, lines);
        Assert.Contains($"under {backend} (cost profile p4-2006)", r.Stderr, StringComparison.Ordinal);
    }
}
