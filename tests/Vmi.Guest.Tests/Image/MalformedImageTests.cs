using ELFSharp.ELF;
using Vmi.Guest.Image;

namespace Vmi.Guest.Tests.Image;

/// <summary>Every way a kernel file can be unusable gives a <see cref="GuestImageException"/> naming where.</summary>
public sealed class MalformedImageTests
{
    private static GuestImageException LoadFails(byte[] file) => Assert.Throws<GuestImageException>(() => GuestKernelImage.Load(file));

    private static long SiteTableOffset(byte[] file)
    {
        using ELF<uint> elf = ELFReader.Load<uint>(new MemoryStream(file), shouldOwnStream: true);
        return elf.Sections.Single(s => s.Name == ".vmi_sites").Offset;
    }

    [Fact]
    public void NotAnElfFile()
    {
        GuestImageException e = LoadFails("hello, world"u8.ToArray());

        Assert.Equal(("e_ident", 0L), (e.Field, e.Offset));
        Assert.Contains("not an ELF file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TruncatedInsideTheElfHeader()
    {
        GuestImageException e = LoadFails(SiteKernels.GoodBytes[..40]);

        Assert.Equal(("ELF header", 40L), (e.Field, e.Offset));
    }

    [Fact]
    public void TruncatedBeforeTheSectionHeaders()
    {
        byte[] good = SiteKernels.GoodBytes;

        GuestImageException e = LoadFails(good[..(good.Length / 2)]);

        Assert.Equal("ELF headers", e.Field);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Elf64IsTheWrongClass()
    {
        byte[] file = SiteKernels.GoodBytes;
        file[4] = 2;

        GuestImageException e = LoadFails(file);

        Assert.Equal(("e_ident[EI_CLASS]", 4L), (e.Field, e.Offset));
        Assert.Contains("ELFCLASS64", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnotherMachineIsRefused()
    {
        byte[] file = SiteKernels.GoodBytes;
        file[18] = 40; // EM_ARM

        GuestImageException e = LoadFails(file);

        Assert.Equal(("e_machine", 18L), (e.Field, e.Offset));
    }

    [Fact]
    public void AnUnlinkedObjectIsRefused()
    {
        string obj = Path.Combine(Path.GetDirectoryName(SiteKernels.GoodPath)!, "sites.o");

        GuestImageException e = LoadFails(File.ReadAllBytes(obj));

        Assert.Equal(("e_type", 16L), (e.Field, e.Offset));
        Assert.Contains("after linking", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ASiteTableOfSevenBytesIsNotWholeRecords()
    {
        byte[] file = SiteKernels.Bad("BAD_TABLE_SIZE");

        GuestImageException e = LoadFails(file);

        Assert.Equal(".vmi_sites", e.Field);
        Assert.Equal(SiteTableOffset(file), e.Offset);
        Assert.Null(e.Record);
        Assert.Contains("size 7 is not a multiple of the 8-byte record", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ARecordOutsideEveryExecutableSection()
    {
        byte[] file = SiteKernels.Bad("BAD_ADDRESS");

        GuestImageException e = LoadFails(file);

        Assert.Equal((1, "address", SiteTableOffset(file) + 8), (e.Record, e.Field, e.Offset));
        Assert.Equal($".vmi_sites record 1 (offset 0x{SiteTableOffset(file) + 8:X}): address: 0x00001000 is in no executable section", e.Message);
    }

    [Fact]
    public void ASiteOfFourBytesIsTooShort()
    {
        byte[] file = SiteKernels.Bad("BAD_LENGTH");

        GuestImageException e = LoadFails(file);

        Assert.Equal((1, "length", SiteTableOffset(file) + 8 + 6), (e.Record, e.Field, e.Offset));
        Assert.Contains("is 4, must be at least 5", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ACallNumberPastTheTable()
    {
        byte[] file = SiteKernels.Bad("BAD_CALL");

        GuestImageException e = LoadFails(file);

        Assert.Equal((1, "call", SiteTableOffset(file) + 8 + 4), (e.Record, e.Field, e.Offset));
        Assert.Contains("74 is not a VMI API 3.x call number", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OverlappingSites()
    {
        byte[] file = SiteKernels.Bad("BAD_OVERLAP");

        GuestImageException e = LoadFails(file);

        Assert.Equal((1, "address"), (e.Record, e.Field));
        Assert.Contains("overlaps record 0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryLoadReturnsTheProblemInsteadOfThrowing()
    {
        Assert.False(GuestKernelImage.TryLoad(SiteKernels.Bad("BAD_LENGTH"), out GuestKernelImage? image, out GuestImageException? error));
        Assert.Null(image);
        Assert.Equal("length", error.Field);
        Assert.True(GuestKernelImage.TryLoad(SiteKernels.GoodBytes, out image, out error));
        Assert.Null(error);
        Assert.Equal(5, image.Sites.Count);
    }

    [Fact]
    public void CorruptedHeadersNeverThrowAnythingElse()
    {
        // ELFSharp throws what it likes on a bad header; the reader must turn all of it into GuestImageException.
        byte[] good = SiteKernels.GoodBytes;
        var random = new Random(1234);
        int refused = 0;
        for (int i = 0; i < 2000; i++)
        {
            byte[] file = (byte[])good.Clone();
            for (int n = random.Next(1, 4); n > 0; n--)
            {
                // The ELF header, the section headers at the end, or anywhere.
                int at = random.Next(3) switch
                {
                    0 => random.Next(52),
                    1 => file.Length - 1 - random.Next(Math.Min(file.Length, 400)),
                    _ => random.Next(file.Length),
                };
                file[at] = (byte)random.Next(256);
            }
            try
            {
                GuestKernelImage image = GuestKernelImage.Load(file);
                _ = Vmi.Guest.Scanning.SensitiveInstructionScan.Run(image);
            }
            catch (GuestImageException)
            {
                refused++;
            }
        }
        Assert.InRange(refused, 1, 1999); // some corruptions matter, some do not
    }
}
