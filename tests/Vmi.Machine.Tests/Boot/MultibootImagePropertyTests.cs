using CsCheck;
using Vmi.Machine.Boot;

namespace Vmi.Machine.Tests.Boot;

/// <summary>Damaged images must fail with <see cref="BootImageException"/> only, never another exception type.</summary>
public sealed class MultibootImagePropertyTests
{
    private static readonly byte[] ValidImage = TestElfBuilder.Valid().Build();
    private static readonly byte[] KludgeImage = BuildKludgeImage();

    private static byte[] BuildKludgeImage()
    {
        var b = TestElfBuilder.Valid();
        b.HeaderFlags = 0x0001_0003;
        b.HeaderAddressFields = [0x0020_0200, 0x0020_0000, 0x0020_1100, 0x0020_4000, 0x0020_0200];
        return b.Build();
    }

    private static void ParseAndValidate(byte[] file)
    {
        try
        {
            var image = MultibootImage.Parse(file);
            image.ValidateFor(64u << 20);
            foreach (var s in image.Segments)
                Assert.True(s.FileBytes.Length <= s.MemorySize);
        }
        catch (BootImageException)
        {
            // the expected failure mode
        }
    }

    /// <summary>Flips biased towards the first 0x240 bytes, where the ELF, program and multiboot headers live.</summary>
    private static Gen<(int Position, byte Value)[]> Flips(int length) =>
        Gen.Frequency(
            (3, Gen.Int[0, 0x23F]),
            (1, Gen.Int[0, length - 1]))
        .Select(Gen.Byte)
        .Array[1, 8];

    private static byte[] Apply(byte[] original, (int Position, byte Value)[] flips)
    {
        var copy = (byte[])original.Clone();
        foreach (var (position, value) in flips)
            copy[position] = value;
        return copy;
    }

    [Fact]
    public void ByteFlips_OnlyEverThrowBootImageException() =>
        Flips(ValidImage.Length).Sample(flips => ParseAndValidate(Apply(ValidImage, flips)), iter: 20_000);

    [Fact]
    public void ByteFlipsInKludgeImage_OnlyEverThrowBootImageException() =>
        Flips(KludgeImage.Length).Sample(flips => ParseAndValidate(Apply(KludgeImage, flips)), iter: 20_000);

    [Fact]
    public void Truncations_OnlyEverThrowBootImageException() =>
        Gen.Int[0, ValidImage.Length].Sample(length => ParseAndValidate(ValidImage[..length]), iter: 5_000);

    [Fact]
    public void TruncatedAndFlipped_OnlyEverThrowBootImageException() =>
        Gen.Select(Gen.Int[0, ValidImage.Length], Flips(ValidImage.Length))
            .Sample((length, flips) => ParseAndValidate(Apply(ValidImage, flips)[..length]), iter: 10_000);

    [Fact]
    public void RandomBytesBehindAValidHeader_OnlyEverThrowBootImageException() =>
        Gen.Byte.Array[16, 600].Sample(bytes =>
        {
            var file = (byte[])bytes.Clone();
            if (file.Length >= 0x40)
                TestElfBuilder.WriteMultibootHeader(file, 0x20, BitConverter.ToUInt32(file, 0) & 0x0001_0007, []);
            ParseAndValidate(file);
        }, iter: 20_000);
}
