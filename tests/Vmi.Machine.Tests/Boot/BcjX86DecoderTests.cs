using Vmi.Machine.Boot;

namespace Vmi.Machine.Tests.Boot;

/// <summary>
/// The x86 BCJ filter against xz's own: xz encodes a raw stream with --x86 --lzma2, and decoding
/// it with --lzma2 alone gives xz's filtered bytes, which our encoder must reproduce exactly and
/// our decoder must turn back into the input.
/// </summary>
public sealed class BcjX86DecoderTests
{
    [Fact]
    public void NearCall_OperandBecomesAbsoluteAndBack()
    {
        // call +0 at position 0x10: the target is 0x15, the next instruction.
        byte[] code = [.. new byte[0x10], 0xE8, 0, 0, 0, 0, 0x90, 0x90, 0x90, 0x90, 0x90];
        byte[] encoded = (byte[])code.Clone();

        BcjX86Decoder.Encode(encoded);
        Assert.Equal([0xE8, 0x15, 0, 0, 0], encoded[0x10..0x15]);

        BcjX86Decoder.Decode(encoded);
        Assert.Equal(code, encoded);
    }

    [Fact]
    public void FarOperand_IsLeftAlone()
    {
        byte[] code = [0xE9, 0x78, 0x56, 0x34, 0x12, 0x90, 0x90, 0x90, 0x90];
        byte[] copy = (byte[])code.Clone();

        BcjX86Decoder.Decode(copy);
        Assert.Equal(code, copy);
    }

    [Fact]
    public void LastFourBytes_AreNeverConverted()
    {
        byte[] tail = [0x90, 0xE8, 0, 0, 0];
        byte[] copy = (byte[])tail.Clone();

        BcjX86Decoder.Encode(copy.AsSpan(1));
        Assert.Equal(tail, copy);
    }

    public static TheoryData<string> Inputs => new() { "dense-e8-e9", "runtime-library" };

    [SkippableTheory]
    [MemberData(nameof(Inputs))]
    public void MatchesXz_ByteForByte(string input)
    {
        Skip.IfNot(XzTool.Installed, XzTool.Missing);
        byte[]? data = Input(input);
        Skip.If(data is null, "no native runtime library beside the test to use as x86 code");

        byte[] filteredByXz = XzTool.Run(XzTool.Run(data!, "--format=raw", "--x86", "--lzma2", "-c"), "--format=raw", "--lzma2", "-d", "-c");
        Assert.NotEqual(data, filteredByXz); // the input has branches to convert, so the comparison means something

        byte[] ours = (byte[])data!.Clone();
        BcjX86Decoder.Encode(ours);
        Assert.Equal(filteredByXz, ours);

        BcjX86Decoder.Decode(filteredByXz);
        Assert.Equal(data, filteredByXz);
    }

    /// <summary>
    /// Deterministic inputs: bytes with E8/E9 every few positions and operands whose high byte is
    /// often 00 or FF, so every branch of the mask logic is taken; and a real x86 binary, the
    /// .NET runtime's own native library.
    /// </summary>
    private static byte[]? Input(string name)
    {
        if (name == "runtime-library")
        {
            string dir = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
            string? lib = new[] { "libcoreclr.so", "libclrjit.so" }.Select(f => Path.Combine(dir, f)).FirstOrDefault(File.Exists);
            return lib is null ? null : File.ReadAllBytes(lib)[..Math.Min(4 << 20, (int)new FileInfo(lib).Length)];
        }
        var random = new Random(1234);
        var data = new byte[256 * 1024];
        random.NextBytes(data);
        for (int i = 0; i < data.Length; i++)
        {
            int roll = random.Next(16);
            data[i] = roll switch
            {
                0 or 1 => 0xE8,
                2 => 0xE9,
                3 or 4 => 0x00,
                5 or 6 => 0xFF,
                _ => data[i],
            };
        }
        return data;
    }
}
