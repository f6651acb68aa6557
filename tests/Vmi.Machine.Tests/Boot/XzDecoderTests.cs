using Vmi.Machine.Boot;

namespace Vmi.Machine.Tests.Boot;

/// <summary>The xz container decoder against what the xz tool writes, and against corruption.</summary>
public sealed class XzDecoderTests
{
    private static readonly byte[] s_code = Code();

    private static byte[] Code()
    {
        var random = new Random(99);
        var data = new byte[300_000];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = random.Next(10) switch { 0 => 0xE8, 1 => 0x00, 2 => 0xFF, _ => (byte)random.Next(64) };
        }
        return data;
    }

    [SkippableTheory]
    [InlineData("--check=crc32", "--x86", "--lzma2=dict=1MiB")] // what the kernel build uses
    [InlineData("--check=crc64", "--x86", "--lzma2")]
    [InlineData("--check=sha256", "--lzma2")]
    [InlineData("--check=none", "--x86", "--lzma2")]
    [InlineData("--check=crc32", "--x86", "--lzma2", "--block-size=65536")] // many blocks, each with its own BCJ state
    public void DecodesWhatXzWrites(params string[] options)
    {
        Skip.IfNot(XzTool.Installed, XzTool.Missing);
        byte[] xz = XzTool.Run(s_code, ["--format=xz", "-c", .. options]);

        Assert.Equal(s_code, XzDecoder.Decode(xz, s_code.Length));
    }

    [SkippableFact]
    public void ConcatenatedStreamsWithPadding_DecodeInOrder()
    {
        Skip.IfNot(XzTool.Installed, XzTool.Missing);
        byte[] a = XzTool.Run(s_code[..1000], "--format=xz", "--x86", "--lzma2", "-c");
        byte[] b = XzTool.Run(s_code[1000..5000], "--format=xz", "--x86", "--lzma2", "-c");

        Assert.Equal(s_code[..5000], XzDecoder.Decode([.. a, 0, 0, 0, 0, .. b], 5000));
    }

    [SkippableFact]
    public void OutputOverTheLimit_IsRefusedBeforeDecoding()
    {
        Skip.IfNot(XzTool.Installed, XzTool.Missing);
        byte[] xz = XzTool.Run(s_code, "--format=xz", "-c");

        var e = Assert.Throws<InvalidDataException>(() => XzDecoder.Decode(xz, s_code.Length - 1));
        Assert.Contains("more than", e.Message, StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData(0, "stream header")]       // the magic
    [InlineData(8, "stream header CRC32")] // the header's CRC
    [InlineData(13, "block header CRC32")] // inside the block header
    [InlineData(200, "xz:")]               // compressed data: LZMA2 fails or the check does not match
    [InlineData(-1, "no stream footer magic")]
    [InlineData(-10, "stream footer CRC32")]
    public void CorruptByte_IsAnInvalidDataError(int at, string expected)
    {
        Skip.IfNot(XzTool.Installed, XzTool.Missing);
        byte[] xz = XzTool.Run(s_code, "--format=xz", "--check=crc32", "--x86", "--lzma2", "-c");
        xz[at < 0 ? xz.Length + at : at] ^= 0x55;

        var e = Assert.ThrowsAny<Exception>(() => XzDecoder.Decode(xz, s_code.Length));
        Assert.IsType<InvalidDataException>(e, exactMatch: false);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void TruncatedStream_IsAnInvalidDataError()
    {
        Skip.IfNot(XzTool.Installed, XzTool.Missing);
        byte[] xz = XzTool.Run(s_code, "--format=xz", "-c");

        Assert.Throws<InvalidDataException>(() => XzDecoder.Decode(xz[..^20], s_code.Length));
    }

    [Fact]
    public void Garbage_IsAnInvalidDataError() => Assert.Throws<InvalidDataException>(() => XzDecoder.Decode("hello, not xz at all"u8, 100));
}
