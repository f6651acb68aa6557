using CsCheck;

namespace Vmi.Abi.Tests;

/// <summary>
/// Damaged images: <see cref="RomValidator.Validate"/> never throws, <see cref="RomReader.Read"/> throws only
/// <see cref="RomFormatException"/>, and any image the validator accepts the reader can read.
/// </summary>
public sealed class RomValidatorPropertyTests
{
    private static readonly byte[] Valid = TestRom.Build();

    private static IReadOnlyList<RomViolation> Check(byte[] image)
    {
        var violations = RomValidator.Validate(image);
        bool readable = RomReader.TryRead(image, out var rom, out var error);
        Assert.Equal(readable, rom is not null);
        Assert.Equal(readable, error is null);
        try
        {
            RomReader.Read(image);
        }
        catch (RomFormatException)
        {
            Assert.False(readable);
        }
        // Every reader refusal is also a validator violation.
        if (violations.Count == 0)
            Assert.True(readable, error?.Message);
        return violations;
    }

    /// <summary>Flips biased towards the header and the structures (the first 0x130 bytes), where most rules live.</summary>
    private static Gen<(int Position, byte Value)[]> Flips(int length) =>
        Gen.Frequency((3, Gen.Int[0, 0x12F]), (1, Gen.Int[0, length - 1]))
            .Select(Gen.Byte)
            .Array[1, 8];

    private static byte[] Apply(byte[] original, (int Position, byte Value)[] flips)
    {
        var copy = (byte[])original.Clone();
        foreach (var (position, value) in flips)
            copy[position] = value;
        return copy;
    }

    private static byte[] Resize(byte[] original, int length, byte fill)
    {
        var copy = new byte[length];
        copy.AsSpan().Fill(fill);
        original.AsSpan(0, Math.Min(length, original.Length)).CopyTo(copy);
        return copy;
    }

    [Fact]
    public void ByteFlips_NeverThrowUnexpectedly() =>
        Flips(Valid.Length).Sample(flips => Check(Apply(Valid, flips)), iter: 20_000);

    [Fact]
    public void TruncatedOrExtended_NeverThrowUnexpectedly() =>
        Gen.Select(Gen.Int[0, 3 * Valid.Length], Gen.Byte)
            .Sample((length, fill) => Check(Resize(Valid, length, fill)), iter: 5_000);

    [Fact]
    public void ResizedAndFlipped_NeverThrowUnexpectedly() =>
        Gen.Select(Gen.Int[0, 2 * Valid.Length], Flips(Valid.Length))
            .Sample((length, flips) => Check(Resize(Apply(Valid, flips), length, 0)), iter: 10_000);

    [Fact]
    public void RandomBytesBehindTheSignatures_NeverThrowUnexpectedly() =>
        Gen.Byte.Array[0, 1200].Sample(bytes =>
        {
            if (bytes.Length >= RomLayout.HeaderSize)
            {
                bytes[0] = 0x55;
                bytes[1] = 0xAA;
                "cVmi"u8.CopyTo(bytes.AsSpan(RomLayout.VromSignatureOffset));
                bytes[RomLayout.ApiVersionMajorOffset] = 3;
            }
            Check(bytes);
        }, iter: 20_000);

    [Fact]
    public void AnySingleChangedByte_IsNeverValid() =>
        Gen.Select(Gen.Int[0, Valid.Length - 1], Gen.Byte[1, 255]).Sample((position, xor) =>
        {
            var image = (byte[])Valid.Clone();
            image[position] ^= xor;
            Assert.NotEmpty(Check(image));
        }, iter: 20_000);

    /// <summary>Exhaustive version of the above: every position, every other value (the 8-bit checksum catches them all).</summary>
    [Fact]
    public void EverySingleByteChange_IsReported()
    {
        var image = (byte[])Valid.Clone();
        for (int position = 0; position < image.Length; position++)
        {
            byte original = image[position];
            for (int xor = 1; xor < 256; xor++)
            {
                image[position] = (byte)(original ^ xor);
                Assert.NotEmpty(RomValidator.Validate(image));
            }
            image[position] = original;
        }
    }
}
