using System.Text;
using Vmi.TestSupport;
using Xunit.Abstractions;

namespace Vmi.EndToEnd.Tests;

/// <summary>
/// The bootinfo kernel (tests/assets/bootinfo), linked with plain <c>ld -m elf_i386 -Ttext ADDR
/// -e _start</c> and no linker script, on <c>vmi run</c> and on QEMU: a kernel QEMU boots must
/// boot, its command line and modules must reach it unchanged, and nothing the loader builds may
/// land on it (the kernel checks and prints FAIL lines otherwise).
/// </summary>
public sealed class BootInfoKernelTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vmi-bootinfo-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void PlainLdKernel_BootsOnVmi()
    {
        var r = VmiRunner.Cli("run", VmiRunner.BootInfo, "--cmdline", "k x", "-q");
        output.WriteLine(r.Stdout + r.Stderr);

        Assert.Equal("", r.Stderr);
        Assert.Equal("bootinfo\ncmdline 'k x'\ncmdline high bytes: none\nmods 0\ndone failures=0\n", r.Stdout);
        Assert.Equal(1, r.ExitCode); // the guest wrote 0 to the debug-exit port: (0 << 1) | 1
    }

    [Theory]
    [InlineData("bootinfo-8000")] // over 0x9000, where the information structure used to be fixed
    [InlineData("bootinfo-0500")] // over 0x500, where the boot GDT used to be fixed
    public void KernelLinkedLow_BootsWithTheLoadersStructuresElsewhere(string variant)
    {
        string module = WriteFile("m.bin", Encoding.ASCII.GetBytes("module bytes"));
        var r = VmiRunner.Cli("run", QemuRunner.BuildBootInfo(variant), "--cmdline", "low", "--initrd", $"{module} arg", "-q");
        output.WriteLine(r.Stdout + r.Stderr);

        Assert.DoesNotContain("FAIL", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("cmdline 'low'\n", r.Stdout, StringComparison.Ordinal);
        Assert.Contains($"mod 0 size 12 crc32 {Checksums.Crc32("module bytes"u8):x8} page-aligned yes string '{module} arg'\n", r.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("done failures=0\n", r.Stdout, StringComparison.Ordinal);
        Assert.Equal(1, r.ExitCode);
    }

    [Fact]
    public void Modules_ReachTheKernelWithTheirStringsSizesAndBytes()
    {
        byte[] first = Encoding.ASCII.GetBytes("hello module\n");
        byte[] second = Enumerable.Range(0, 10_000).Select(i => (byte)(i * 31 + 7)).ToArray();
        string a = WriteFile("a.txt", first);
        string b = WriteFile("b,c.bin", second); // a comma in the name, written ",," in the list
        string empty = WriteFile("empty", []);

        var r = VmiRunner.Cli("run", VmiRunner.BootInfo, "--initrd", $"{a} one two,{b.Replace(",", ",,", StringComparison.Ordinal)} x,,y,{empty}", "-q");
        output.WriteLine(r.Stdout + r.Stderr);

        Assert.Contains(
            "mods 3\n" +
            $"mod 0 size 13 crc32 {Checksums.Crc32(first):x8} page-aligned yes string '{a} one two'\nmod string high bytes: none\n" +
            $"mod 1 size 10000 crc32 {Checksums.Crc32(second):x8} page-aligned yes string '{b} x,y'\nmod string high bytes: none\n" +
            $"mod 2 size 0 crc32 00000000 page-aligned yes string '{empty}'\nmod string high bytes: none\n" +
            "done failures=0\n",
            r.Stdout,
            StringComparison.Ordinal);
        Assert.Equal(1, r.ExitCode);
    }

    [Fact]
    public void NonUtf8CommandLine_ReachesTheGuestByteForByte()
    {
        string serial = Path.Combine(_dir, "serial");
        byte[] cmdline = [(byte)'k', (byte)' ', 0xFF, 0xE9];

        var r = VmiRunner.CliWithRawLastArgument(cmdline, "run", VmiRunner.BootInfo, "--serial", serial, "-q", "--cmdline");
        output.WriteLine(r.Stderr);

        Assert.Equal(1, r.ExitCode);
        byte[] guest = File.ReadAllBytes(serial);
        Assert.Contains("cmdline high bytes: ff e9\n", Encoding.Latin1.GetString(guest), StringComparison.Ordinal);
        Assert.Contains("cmdline 'k \u00FF\u00E9'\n", Encoding.Latin1.GetString(guest), StringComparison.Ordinal);
    }

    [Fact]
    public void NonUtf8ModuleArguments_ReachTheGuestByteForByte()
    {
        string serial = Path.Combine(_dir, "serial");
        string module = WriteFile("m", [42]);
        byte[] initrd = [.. Encoding.UTF8.GetBytes(module + " "), 0xFF, 0xE9];

        var r = VmiRunner.CliWithRawLastArgument(initrd, "run", VmiRunner.BootInfo, "--serial", serial, "-q", "--initrd");
        output.WriteLine(r.Stderr);

        Assert.Equal(1, r.ExitCode);
        string guest = Encoding.Latin1.GetString(File.ReadAllBytes(serial));
        Assert.Contains($"string '{module} \u00FF\u00E9'\nmod string high bytes: ff e9\n", guest, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void PlainLdKernelWithModules_MatchesQemuByteForByte()
    {
        Skip.If(QemuRunner.FindQemu() is null, $"{QemuRunner.QemuBinary} is not installed");
        string elf = VmiRunner.BootInfo;
        string a = WriteFile("a.txt", Encoding.ASCII.GetBytes("first module\n"));
        string b = WriteFile("b.bin", Enumerable.Range(0, 5000).Select(i => (byte)(i ^ (i >> 8))).ToArray());
        string initrd = $"{a} one two,{b} x,,y";
        string serial = Path.Combine(_dir, "serial");

        var qemu = QemuRunner.Run(elf, "a,b,,c d", TimeSpan.FromSeconds(30), initrd: initrd);
        // QEMU passes "<kernel path> <-append>" as the command line; give vmi the same bytes.
        var vmi = VmiRunner.Cli("run", elf, "--cmdline", $"{elf} a,b,,c d", "--initrd", initrd, "--serial", serial, "-q");
        output.WriteLine(qemu.Stdout);

        Assert.False(qemu.TimedOut, "QEMU timed out");
        Assert.Contains("mods 2\n", qemu.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("done failures=0\n", qemu.Stdout, StringComparison.Ordinal);
        Assert.Equal(qemu.StdoutBytes, File.ReadAllBytes(serial));
        Assert.Equal(qemu.ExitCode, vmi.ExitCode);
    }

    [Fact]
    public void MissingModule_IsAUsageErrorNamingIt()
    {
        string missing = Path.Combine(_dir, "no-such-module");
        AssertOneLineUsageError(VmiRunner.Cli("run", VmiRunner.BootInfo, "--initrd", $"{WriteFile("ok", [1])},{missing} args"), $"cannot read '{missing}'");
    }

    [Fact]
    public void UnreadableModule_IsAUsageErrorNamingIt() =>
        AssertOneLineUsageError(VmiRunner.Cli("run", VmiRunner.BootInfo, "--initrd", _dir), $"cannot read '{_dir}'");

    [Fact]
    public void EmptyModuleName_IsAUsageError() =>
        AssertOneLineUsageError(VmiRunner.Cli("run", VmiRunner.BootInfo, "--initrd", $"{WriteFile("ok", [1])},"), "module 1 has no file name");

    [Fact]
    public void ModuleTooBigForRam_IsAUsageError()
    {
        string big = Path.Combine(_dir, "big.bin");
        using (var f = File.Create(big))
        {
            f.SetLength(2 << 20); // 2 MiB cannot fit beside a kernel in 2 MiB of RAM
        }
        AssertOneLineUsageError(VmiRunner.Cli("run", VmiRunner.BootInfo, "--memory", "2M", "--initrd", big), $"no room in RAM for module 0 '{big}'");
    }

    private static void AssertOneLineUsageError(VmiRunner.CliResult r, string fragment)
    {
        Assert.Equal(2, r.ExitCode);
        string[] lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("vmi: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(fragment, lines[0], StringComparison.Ordinal);
    }

    private string WriteFile(string name, byte[] content)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, content);
        return path;
    }

}
