using System.Diagnostics;
using Vmi.Machine.Boot;

namespace Vmi.Machine.Tests.Boot;

/// <summary>Payload formats told by their magic, and each decoder against its reference tool.</summary>
public sealed class KernelPayloadTests
{
    [Theory]
    [InlineData(new byte[] { 0x7F, 0x45, 0x4C, 0x46 }, PayloadFormat.None)]
    [InlineData(new byte[] { 0x1F, 0x8B, 8, 0 }, PayloadFormat.Gzip)]
    [InlineData(new byte[] { 0x42, 0x5A, 0x68, 0x39 }, PayloadFormat.Bzip2)]
    [InlineData(new byte[] { 0x5D, 0, 0, 0x80 }, PayloadFormat.Lzma)]
    [InlineData(new byte[] { 0xFD, 0x37, 0x7A, 0x58, 0x5A, 0 }, PayloadFormat.Xz)]
    [InlineData(new byte[] { 0x89, 0x4C, 0x5A, 0x4F }, PayloadFormat.Lzo)]
    [InlineData(new byte[] { 0x02, 0x21, 0x4C, 0x18 }, PayloadFormat.Lz4)]
    [InlineData(new byte[] { 0x28, 0xB5, 0x2F, 0xFD }, PayloadFormat.Zstd)]
    [InlineData(new byte[] { 1, 2, 3, 4 }, PayloadFormat.Unknown)]
    public void Detect_ByMagic(byte[] start, PayloadFormat expected) => Assert.Equal(expected, KernelPayload.Detect(start));

    [Theory]
    [InlineData(new byte[] { 0x89, 0x4C, 0x5A, 0x4F, 0, 0, 0, 0 }, "lzo")]
    [InlineData(new byte[] { 0x02, 0x21, 0x4C, 0x18, 0, 0, 0, 0 }, "lz4")]
    [InlineData(new byte[] { 0x28, 0xB5, 0x2F, 0xFD, 0, 0, 0, 0 }, "zstd")]
    [InlineData(new byte[] { 9, 9, 9, 9, 0, 0, 0, 0 }, "unknown format (first bytes 09090909)")]
    public void UnhandledFormat_IsNamedNotDecoded(byte[] payload, string name)
    {
        DecompressedPayload r = KernelPayload.Decompress(payload, 1 << 20, 0);

        Assert.Null(r.Vmlinux);
        Assert.Contains(name, r.NotHandled, StringComparison.Ordinal);
    }

    /// <summary>Each compressor as the kernel build runs it (arch/x86/boot/compressed/Makefile, scripts/Makefile.lib), where installed.</summary>
    [SkippableTheory]
    [InlineData("gzip", PayloadFormat.Gzip, "gzip", "-n", "-9", "-c")]
    [InlineData("bzip2", PayloadFormat.Bzip2, "bzip2", "-9", "-c")]
    [InlineData("lzma", PayloadFormat.Lzma, "xz", "--format=lzma", "-9", "-c")]
    [InlineData("xz", PayloadFormat.Xz, "xz", "--check=crc32", "--x86", "--lzma2=dict=32MiB", "-c")]
    public void Decompress_WhatTheKernelBuildWrites(string name, PayloadFormat format, string tool, params string[] arguments)
    {
        string? path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);
        Skip.If(path is null, $"{tool} is not installed");
        byte[] vmlinux = TestBzImage.Vmlinux();
        byte[] payload = TestBzImage.WithSizeTrailer(Compress(path!, arguments, vmlinux), vmlinux.Length);

        DecompressedPayload r = KernelPayload.Decompress(payload, 1 << 20, 0);

        Assert.Equal(format, r.Format);
        Assert.Equal(vmlinux, r.Vmlinux);
        Assert.Equal(name, KernelPayload.Name(format));
    }

    [Fact]
    public void TrailerOverTheLimit_IsRefusedBeforeDecoding()
    {
        byte[] payload = TestBzImage.GzipPayload(TestBzImage.Vmlinux());

        var e = Assert.Throws<BootImageException>(() => KernelPayload.Decompress(payload, 100, 0x1000));
        Assert.Contains("more than the 0x64 this machine can hold", e.Message, StringComparison.Ordinal);
        Assert.Equal(0x1000 + payload.Length - 4, e.FileOffset);
    }

    private static byte[] Compress(string tool, string[] arguments, byte[] input)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in arguments)
        {
            psi.ArgumentList.Add(a);
        }
        using Process p = Process.Start(psi)!;
        var output = new MemoryStream();
        Task copy = p.StandardOutput.BaseStream.CopyToAsync(output);
        p.StandardInput.BaseStream.Write(input);
        p.StandardInput.Close();
        copy.Wait();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return output.ToArray();
    }
}
