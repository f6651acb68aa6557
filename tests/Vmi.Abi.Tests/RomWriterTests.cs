using System.Buffers.Binary;
using CsCheck;
using static Vmi.Abi.Tests.TestRom;
using L = Vmi.Abi.RomLayout;

namespace Vmi.Abi.Tests;

public sealed class RomWriterTests
{
    [Fact]
    public void WriteHeader_PutsSignaturesAndFieldsAtTheAbiOffsets()
    {
        var image = new byte[L.HeaderSize];
        image.AsSpan().Fill(0xEE);
        RomWriter.WriteHeader(image, new RomHeader(4, 0x9055_44E9, 7, 3, 9, 0xFC00_0000, 0x1234, 0x0040, 0x0060));

        Assert.Equal([0x55, 0xAA], image[0..2]);
        Assert.Equal(4, image[0x02]);
        Assert.Equal([0xE9, 0x44, 0x55, 0x90], image[0x03..0x07]);
        Assert.Equal("cVmi"u8.ToArray(), image[0x08..0x0C]);
        Assert.Equal(7, image[0x0C]);
        Assert.Equal(3, image[0x0D]);
        Assert.Equal(9, image[0x0E]);
        Assert.Equal([0x00, 0x00, 0x00, 0xFC], image[0x10..0x14]);
        Assert.Equal([0x34, 0x12], image[0x16..0x18]);
        Assert.Equal([0x40, 0x00], image[0x18..0x1A]);
        Assert.Equal([0x60, 0x00], image[0x1A..0x1C]);

        // pad and reserved bytes are zeroed; the entry slots are code and are left alone
        Assert.All(new[] { 0x07, 0x0F, 0x14, 0x15 }, at => Assert.Equal(0, image[at]));
        Assert.All(image[0x1C..0x80], b => Assert.Equal(0, b));
        Assert.All(image[0x80..0x90], b => Assert.Equal(0xEE, b));
    }

    [Fact]
    public void WritePci_PutsPcirAndFields()
    {
        var image = new byte[64];
        RomWriter.WritePci(image, 8, PciData);
        Assert.Equal("PCIR"u8.ToArray(), image[8..12]);
        Assert.Equal(0x15AD, BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(12)));
        Assert.Equal(24, BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(18)));
        Assert.Equal(2, BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(24)));
        Assert.Equal(0x80, image[8 + 21]);
    }

    [Fact]
    public void WritePnp_PutsSignatureAndComputesTheChecksum()
    {
        var image = new byte[64];
        image.AsSpan(20, 14).Fill(0x11); // bytes 18..31 of a 32-byte header: part of the sum
        RomWriter.WritePnp(image, 2, PnpData with { Checksum = 0x77 });
        Assert.Equal("$PnP"u8.ToArray(), image[2..6]);
        Assert.Equal(0, RomWriter.Checksum(image.AsSpan(2, 32)));
        Assert.NotEqual(0x77, image[2 + 9]);
    }

    [Fact]
    public void WritePnp_ShortLength_ChecksumsThe18AbiBytes()
    {
        var image = new byte[18];
        RomWriter.WritePnp(image, 0, PnpData with { Length = 1 });
        Assert.Equal(0, RomWriter.Checksum(image));
    }

    [Fact]
    public void WritePnp_RefusesAHeaderThatDoesNotFit() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => RomWriter.WritePnp(new byte[40], 10, PnpData));

    [Fact]
    public void WriteString_IsNulTerminatedAscii()
    {
        var image = new byte[8];
        image.AsSpan().Fill(0xFF);
        Assert.Equal(4, RomWriter.WriteString(image, 2, "GPL"));
        Assert.Equal([0xFF, 0xFF, (byte)'G', (byte)'P', (byte)'L', 0, 0xFF, 0xFF], image);
        Assert.Equal(1, RomWriter.WriteString(image, 7, ""));
    }

    [Theory]
    [InlineData("caf\u00E9")]
    [InlineData("a\nb")]
    [InlineData("nul\0")]
    public void WriteString_RefusesNonPrintable(string s) =>
        Assert.Throws<ArgumentException>(() => RomWriter.WriteString(new byte[16], 0, s));

    [Fact]
    public void WriteString_RefusesAStringThatDoesNotFit() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => RomWriter.WriteString(new byte[4], 1, "abc"));

    [Fact]
    public void Checksum_IsTheEightBitSum() => Assert.Equal(0x01, RomWriter.Checksum([0xFF, 0x01, 0x01]));

    [Fact]
    public void FixChecksum_SetsOnlyTheLastByteOfRomLength()
    {
        var image = new byte[1536];
        Random.Shared.NextBytes(image);
        image[2] = 2;
        var before = (byte[])image.Clone();
        RomWriter.FixChecksum(image);
        Assert.Equal(0, RomWriter.Checksum(image.AsSpan(0, 1024)));
        Assert.Equal(before[..1023], image[..1023]);
        Assert.Equal(before[1024..], image[1024..]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void FixChecksum_RefusesAnUnusableRomLength(byte blocks)
    {
        var image = new byte[1024];
        image[2] = blocks;
        Assert.Throws<ArgumentException>(() => RomWriter.FixChecksum(image));
    }

    [Fact]
    public void EntryJump_IsE9Rel16FromIp6()
    {
        Assert.Equal(0x9000_8AE9u, RomJumps.EntryJump(0x90));
        var image = Build();
        Assert.True(RomJumps.TryGetEntryTarget(image, out int target));
        Assert.Equal(EntryCode, target);
    }

    [Fact]
    public void SlotJump_IsE9Rel32PaddedWithInt3()
    {
        var image = new byte[0x100];
        RomJumps.WriteSlotJump(image, 0x80, 0x98);
        Assert.Equal([0xE9, 0x13, 0x00, 0x00, 0x00, 0xCC, 0xCC, 0xCC], image[0x80..0x88]);
        Assert.True(RomJumps.TryGetSlotTarget(image, 0x80, out long target));
        Assert.Equal(0x98, target);
    }

    [Fact]
    public void ReadWriteRead_RoundTrips()
    {
        var first = RomReader.Read(Build());
        var copy = WriteAll(first, first.Bytes.Length);
        var second = RomReader.Read(copy);

        Assert.Equal(first.Header, second.Header);
        Assert.Equal(first.Pci, second.Pci);
        Assert.Equal(first.Pnp, second.Pnp);
        Assert.Equal((first.License, first.Manufacturer, first.Product), (second.License, second.Manufacturer, second.Product));
        Assert.Equal(first, second); // the test image holds nothing but these structures, so the bytes agree too
    }

    private static byte[] WriteAll(VmiRomImage rom, int size)
    {
        var image = new byte[size];
        RomWriter.WriteHeader(image, rom.Header);
        rom.Bytes.AsSpan(L.VmiInitOffset, 2 * L.EntrySlotSize).CopyTo(image.AsSpan(L.VmiInitOffset));
        rom.Bytes.AsSpan(EntryCode, 0x20).CopyTo(image.AsSpan(EntryCode)); // the code the jumps land on
        RomWriter.WritePci(image, rom.Header.PciHeaderOffset, rom.Pci);
        RomWriter.WritePnp(image, rom.Header.PnpHeaderOffset, rom.Pnp!);
        RomWriter.WriteString(image, rom.Pnp!.ManufacturerOffset, rom.Manufacturer!);
        RomWriter.WriteString(image, rom.Pnp.ProductOffset, rom.Product!);
        RomWriter.WriteString(image, rom.Header.LicenseOffset, rom.License!);
        RomWriter.FixChecksum(image);
        return image;
    }

    private static readonly Gen<RomHeader> GenHeader =
        Gen.Select(Gen.Byte, Gen.UInt, Gen.Byte, Gen.Byte, Gen.Byte, Gen.UInt)
            .Select(Gen.UShort, Gen.UShort, Gen.UShort)
            .Select((a, lic, pci, pnp) => new RomHeader(a.Item1, a.Item2, a.Item3, a.Item4, a.Item5, a.Item6, lic, pci, pnp));

    private static readonly Gen<PciDataStructure> GenPci =
        Gen.Select(Gen.UShort.Array[5], Gen.Byte.Array[8],
            (u, b) => new PciDataStructure(u[0], u[1], u[2], u[3], b[0], b[1], b[2], b[3], u[4], b[4], b[5], b[6], b[7]));

    private static readonly Gen<PnpHeader> GenPnp =
        Gen.Select(Gen.Byte, Gen.Byte[0, 2], Gen.UShort, Gen.UInt, Gen.UShort, Gen.UShort,
            (rev, len, next, id, mfr, prod) => new PnpHeader(rev, len, next, 0, id, mfr, prod));

    [Fact]
    public void RandomStructures_RoundTripThroughWriterAndDecoder() =>
        Gen.Select(GenHeader, GenPci, GenPnp).Sample((h, p, n) =>
        {
            var image = new byte[L.HeaderSize + 64];
            RomWriter.WriteHeader(image, h);
            RomWriter.WritePci(image, L.HeaderSize, p);
            RomWriter.WritePnp(image, L.HeaderSize + 32, n);

            Assert.Equal(h, RomReader.DecodeHeader(image));
            Assert.Equal(p, RomReader.DecodePci(image, L.HeaderSize));
            var pnp = RomReader.DecodePnp(image, L.HeaderSize + 32);
            Assert.Equal(n with { Checksum = pnp.Checksum }, pnp);
            Assert.Equal(0, RomWriter.Checksum(image.AsSpan(L.HeaderSize + 32, L.PnpChecksumSpan(n.Length))));
        }, iter: 2_000);

    [Fact]
    public void PrintableStrings_RoundTrip() =>
        Gen.Char[' ', '~'].Array[0, 40].Select(cs => new string(cs)).Sample(s =>
        {
            var image = Build(i =>
            {
                PutU16(i, L.LicenseOffsetOffset, 0x200);
                RomWriter.WriteString(i, 0x200, s);
                return i;
            });
            Assert.Equal(s, RomReader.Read(image).License);
            Assert.Empty(RomValidator.Validate(image));
        }, iter: 500);
}
