using Vmi.Machine.Boot;
using Vmi.TestSupport;
using Xunit.Abstractions;

namespace Vmi.EndToEnd.Tests;

/// <summary>
/// The test kernel against QEMU, the reference machine: it must build, be accepted by our
/// multiboot loader, pass all its self-tests on QEMU and print the same bytes on every run.
/// Tests that need QEMU are skipped, with the reason shown, when it is not installed.
/// </summary>
public sealed class TestKernelOnQemuTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public void TestKernel_BuildsAndIsAValidMultibootImage()
    {
        string elf = QemuRunner.BuildTestKernel();
        var image = MultibootImage.Parse(File.ReadAllBytes(elf));
        image.ValidateFor(64u << 20);

        Assert.False(image.UsesAoutKludge);
        Assert.Equal(GuestLayout.HighMemoryStart, image.Segments.Min(s => s.PhysicalAddress));
        Assert.InRange(image.EntryPoint, GuestLayout.HighMemoryStart, GuestLayout.HighMemoryStart + 0x10_0000);
    }

    [SkippableFact]
    public void TestKernel_PassesEverySelfTestOnQemu()
    {
        Skip.If(QemuRunner.FindQemu() is null, $"{QemuRunner.QemuBinary} is not installed");
        var result = QemuRunner.Run(QemuRunner.BuildTestKernel(), "hello bench=none", Timeout);
        output.WriteLine(result.Stdout);
        output.WriteLine(result.Stderr);

        Assert.False(result.TimedOut, "QEMU timed out");
        Assert.Equal(0, result.GuestExitCode);
        string[] lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("vmi testkernel", lines[0]);
        Assert.Contains("cmdline: hello bench=none", lines);
        Assert.DoesNotContain(lines, l => l.StartsWith("FAIL", StringComparison.Ordinal));
        foreach (var name in new[] { "multiboot-magic", "arith", "rep-movs-stos", "strcmp", "switch", "funcptr", "recursion", "crc32", "sort",
                     "gdt", "idt", "exception-de", "exception-ud", "paging", "paging-alias", "invlpg", "pagefault" })
        {
            Assert.Contains(lines, l => l.StartsWith($"ok {name} ", StringComparison.Ordinal));
        }
        Assert.Contains("ok timer 10", lines);
        Assert.Contains("ok pagefault cr2=deadbeef err=00000002", lines);
        Assert.Equal("done failures=0", lines[^1]);
    }

    [SkippableFact]
    public void TestKernel_OutputIsDeterministicOnQemu()
    {
        Skip.If(QemuRunner.FindQemu() is null, $"{QemuRunner.QemuBinary} is not installed");
        string elf = QemuRunner.BuildTestKernel();
        var first = QemuRunner.Run(elf, "bench=loop iters=2000", Timeout);
        var second = QemuRunner.Run(elf, "bench=loop iters=2000", Timeout);

        Assert.Contains("bench loop iters=2000 checksum=", first.Stdout, StringComparison.Ordinal);
        Assert.Equal(first.StdoutBytes, second.StdoutBytes);
    }
}
