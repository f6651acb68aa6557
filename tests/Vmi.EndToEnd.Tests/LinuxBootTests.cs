using System.Buffers.Binary;
using System.Text;
using Vmi.TestSupport;
using Xunit.Abstractions;

namespace Vmi.EndToEnd.Tests;

/// <summary>
/// `vmi run` on synthetic bzImages (tests/assets/linuxboot): a tiny kernel, compressed as the
/// kernel build compresses vmlinux and wrapped in a setup header, that checks what the 32-bit boot
/// protocol hands it (entry registers, GDT, zero page, command line, initrd, E820) and prints it.
/// QEMU boots the variant with real-mode setup code by its own path, as the reference.
/// </summary>
public sealed class LinuxBootTests(ITestOutputHelper output) : IDisposable
{
    private const string Cmdline = "console=ttyS0 root=/dev/ram0 quiet";

    private readonly string _dir = Directory.CreateTempSubdirectory("vmi-linuxboot-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Image(string name) => Path.Combine(Path.GetDirectoryName(QemuRunner.BuildAsset("linuxboot"))!, name);

    private static byte[] InitrdBytes { get; } = Enumerable.Range(0, 70_000).Select(i => (byte)(i * 13 + (i >> 9))).ToArray();

    private string Initrd() => WriteFile("initrd.img", InitrdBytes);

    /// <summary>What the synthetic kernel prints when the loader did everything right, but for the loader-specific lines.</summary>
    private static string ExpectedChecks(string entry) =>
        "linuxboot\n" +
        $"entry {entry}\n" +
        "entry state checked\n" +
        "protocol 2.15\n" +
        "loader 0xff\n" +
        "init_size 0x100000 from 0x1000000\n" +
        $"cmdline '{Cmdline}'\n" +
        $"initrd size {InitrdBytes.Length} crc32 {Checksums.Crc32(InitrdBytes):x8} page-aligned yes\n";

    [Theory]
    [InlineData("--append")]
    [InlineData("--cmdline")]
    public void XzBzImage_IsDecompressedOnTheHostAndBoots(string cmdlineOption)
    {
        var r = VmiRunner.Cli("run", Image("linux-xz.bzImage"), cmdlineOption, Cmdline, "--initrd", Initrd());
        output.WriteLine(r.Stdout + r.Stderr);

        Assert.StartsWith(ExpectedChecks("vmlinux at 16 MiB"), r.Stdout, StringComparison.Ordinal);
        Assert.Contains("e820 0000000000100000 0000000003f00000 type 1\n", r.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("done failures=0\n", r.Stdout, StringComparison.Ordinal);
        Assert.Equal(1, r.ExitCode); // the kernel wrote 0 to the debug-exit port
        int vmlinuxSize = (int)new FileInfo(Path.Combine(Path.GetDirectoryName(Image("linux-xz.bzImage"))!, "vmlinux.bin")).Length;
        Assert.Contains(
            $"vmi: Linux boot protocol 2.15, payload xz, decompressed on the host to {vmlinuxSize:N0} bytes, vmlinux loaded at 0x01000000, entry 0x01000000, " +
            $"zero page 0x00010000, initrd 0x03FEE000 ({InitrdBytes.Length:N0} bytes)\n",
            r.Stderr,
            StringComparison.Ordinal);
    }

    [Fact]
    public void GzipBzImage_IsDecompressedOnTheHostAndBoots()
    {
        var r = VmiRunner.Cli("run", Image("linux-gzip.bzImage"), "--append", Cmdline, "--initrd", Initrd());
        output.WriteLine(r.Stdout + r.Stderr);

        Assert.StartsWith(ExpectedChecks("vmlinux at 16 MiB"), r.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("done failures=0\n", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("payload gzip, decompressed on the host", r.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, r.ExitCode);
    }

    [Fact]
    public void Initrd_StaysBelowInitrdAddrMax()
    {
        // initrd_addr_max is 32 MiB - 1 in this image, RAM 64 MiB: the initrd ends at 32 MiB, not 64.
        var r = VmiRunner.Cli("run", Image("linux-lowinitrd.bzImage"), "--append", Cmdline, "--initrd", Initrd());
        output.WriteLine(r.Stdout + r.Stderr);

        Assert.StartsWith(ExpectedChecks("vmlinux at 16 MiB"), r.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("done failures=0\n", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("initrd 0x01FEE000 (", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void UnhandledPayload_BootsTheCompressedImageAtCode32StartWithANote()
    {
        var r = VmiRunner.Cli("run", Image("linux-zstd.bzImage"), "--append", Cmdline, "--initrd", Initrd());
        output.WriteLine(r.Stdout + r.Stderr);

        Assert.StartsWith(ExpectedChecks("protected-mode part at 1 MiB"), r.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("done failures=0\n", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("vmi: note: the payload is zstd, which vmi cannot decompress on the host; booting the compressed image at code32_start", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("payload zstd, left to the kernel's decompressor, image loaded at 0x00100000, entry 0x00100000", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void GuestDecompress_BootsTheImageAtCode32StartEvenWhenTheHostCouldDecompress()
    {
        // linux-qemu.bzImage's protected-mode part starts with the kernel itself, linked at 1 MiB.
        var r = VmiRunner.Cli("run", Image("linux-qemu.bzImage"), "--append", Cmdline, "--initrd", Initrd(), "--guest-decompress");
        output.WriteLine(r.Stdout + r.Stderr);

        Assert.StartsWith(ExpectedChecks("protected-mode part at 1 MiB"), r.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("done failures=0\n", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("vmi: note: host decompression was turned off (--guest-decompress)", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("payload xz, left to the kernel's decompressor", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void GuestDecompressForAMultibootKernel_IsAUsageError() =>
        AssertOneLineUsageError(VmiRunner.Cli("run", VmiRunner.BootInfo, "--guest-decompress"), "--guest-decompress is for Linux kernels");

    [Fact]
    public void JsonSummary_SaysWhatWasLoaded()
    {
        string json = Path.Combine(_dir, "run.json");
        var r = VmiRunner.Cli("run", Image("linux-xz.bzImage"), "--json", json, "-q");

        Assert.Equal(1, r.ExitCode);
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
        Assert.StartsWith("Linux boot protocol 2.15, payload xz, decompressed on the host", doc.RootElement.GetProperty("linuxBoot").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void WithoutInitrd_TheKernelSeesNone()
    {
        var r = VmiRunner.Cli("run", Image("linux-xz.bzImage"), "-q");

        Assert.Contains("cmdline ''\ninitrd none\n", r.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("done failures=0\n", r.Stdout, StringComparison.Ordinal);
        Assert.Equal("", r.Stderr);
    }

    [SkippableFact]
    public void QemuBootsTheSameImage_AndTheKernelSeesTheSame()
    {
        Skip.If(QemuRunner.FindQemu() is null, $"{QemuRunner.QemuBinary} is not installed");
        string image = Image("linux-qemu.bzImage");
        string initrd = Initrd();

        QemuResult qemu = QemuRunner.Run(image, Cmdline, TimeSpan.FromSeconds(30), initrd: initrd);
        var vmi = VmiRunner.Cli("run", image, "--append", Cmdline, "--initrd", initrd, "-q");
        output.WriteLine("QEMU:\n" + qemu.Stdout + "\nvmi:\n" + vmi.Stdout);

        // QEMU runs the image's real-mode setup and the kernel at 1 MiB (it cannot decompress on the
        // host); vmi decompresses and enters vmlinux at 16 MiB. The loader's name and the BIOS's
        // memory map differ; every check and everything else the kernel received must not.
        Assert.False(qemu.TimedOut, "QEMU timed out");
        Assert.Contains("entry protected-mode part at 1 MiB\n", qemu.Stdout, StringComparison.Ordinal);
        Assert.Contains("entry vmlinux at 16 MiB\n", vmi.Stdout, StringComparison.Ordinal);
        Assert.Equal(LoaderIndependent(qemu.Stdout), LoaderIndependent(vmi.Stdout));
        Assert.EndsWith("done failures=0\n", qemu.Stdout, StringComparison.Ordinal);
        Assert.Equal(qemu.ExitCode, vmi.ExitCode);
    }

    [Fact]
    public void TruncatedImage_IsAUsageErrorNamingIt()
    {
        string image = WriteFile("truncated.bzImage", File.ReadAllBytes(Image("linux-xz.bzImage"))[..0x250]);

        AssertOneLineUsageError(VmiRunner.Cli("run", image), "Linux image truncated: 592 bytes is shorter than the setup header up to init_size");
    }

    [Fact]
    public void TooOldProtocol_IsAUsageErrorNamingTheVersionField()
    {
        byte[] bytes = File.ReadAllBytes(Image("linux-xz.bzImage"));
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(0x206), 0x0208);

        AssertOneLineUsageError(VmiRunner.Cli("run", WriteFile("old.bzImage", bytes)), "Linux setup header field version (offset 0x206) is 0x0208 (protocol 2.08)");
    }

    [Fact]
    public void ZImage_IsAUsageErrorNamingLoadflags()
    {
        byte[] bytes = File.ReadAllBytes(Image("linux-xz.bzImage"));
        bytes[0x211] = 0;

        AssertOneLineUsageError(VmiRunner.Cli("run", WriteFile("z.bzImage", bytes)), "field loadflags (offset 0x211) is 0x00: bit 0 (LOADED_HIGH) is clear: this is a zImage");
    }

    [Fact]
    public void CorruptPayload_IsAUsageError()
    {
        byte[] bytes = File.ReadAllBytes(Image("linux-xz.bzImage"));
        int setup = (bytes[0x1F1] + 1) * 512;
        int payload = setup + BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(0x248));
        bytes[payload + 100] ^= 0xFF;

        AssertOneLineUsageError(VmiRunner.Cli("run", WriteFile("bad.bzImage", bytes)), "Linux payload (xz) does not decompress: xz:");
    }

    [Fact]
    public void CommandLineLongerThanCmdlineSize_IsAUsageError() =>
        AssertOneLineUsageError(VmiRunner.Cli("run", Image("linux-xz.bzImage"), "--append", new string('x', 2048)),
            "the command line is 2048 bytes, longer than the kernel's cmdline_size (offset 0x238) of 2047");

    [Fact]
    public void TooLittleRamForInitSize_IsAUsageErrorNamingInitSize() =>
        AssertOneLineUsageError(VmiRunner.Cli("run", Image("linux-xz.bzImage"), "--memory", "16M"),
            "field init_size (offset 0x260) is 0x100000: the kernel needs RAM [0x01000000, 0x01100000)");

    [Fact]
    public void MissingInitrd_IsAUsageError()
    {
        string missing = Path.Combine(_dir, "no-such-initrd");

        AssertOneLineUsageError(VmiRunner.Cli("run", Image("linux-xz.bzImage"), "--initrd", missing), $"--initrd: {missing}: no such file");
    }

    [Fact]
    public void MultibootKernel_TakesAppendToo()
    {
        var r = VmiRunner.Cli("run", VmiRunner.BootInfo, "--append", "k x", "-q");

        Assert.Contains("cmdline 'k x'\n", r.Stdout, StringComparison.Ordinal);
        Assert.Equal(1, r.ExitCode);
    }

    private static string LoaderIndependent(string kernelOutput) =>
        string.Concat(kernelOutput.Split('\n').Where(l => l.Length > 0 && !l.StartsWith("entry ", StringComparison.Ordinal) && !l.StartsWith("loader ", StringComparison.Ordinal) && !l.StartsWith("e820 ", StringComparison.Ordinal)).Select(l => l + "\n"));

    private static void AssertOneLineUsageError(VmiRunner.CliResult r, string fragment)
    {
        Assert.Equal(2, r.ExitCode);
        string[] lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("vmi: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(fragment, lines[0], StringComparison.Ordinal);
        Assert.Equal("", r.Stdout);
    }

    [Theory]
    [InlineData("2G")]
    [InlineData("3000M")]
    public void RamTheMachineCannotHaveIsRefusedBeforeTheKernelIsPlanned(string memory)
    {
        // Found booting Debian's kernel with -m 2G: the loader placed the initrd for 2 GiB, then the
        // machine refused the size, in two lines. The size is the --memory option's problem, alone.
        var r = VmiRunner.Cli("run", Image("linux-xz.bzImage"), "--append", Cmdline, "-m", memory);

        Assert.Equal(2, r.ExitCode);
        string line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"vmi: --memory: {memory}: memory size ", line, StringComparison.Ordinal);
        Assert.Contains("2040 MiB", line, StringComparison.Ordinal);
    }

    private string WriteFile(string name, byte[] content)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, content);
        return path;
    }

}
