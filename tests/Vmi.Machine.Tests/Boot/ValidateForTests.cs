using Vmi.Machine.Boot;
using static Vmi.Machine.Tests.Boot.TestElfBuilder;

namespace Vmi.Machine.Tests.Boot;

public sealed class ValidateForTests
{
    private static MultibootImage WithSecondSegmentAt(uint paddr, uint memSize = 0x2000, uint flags = 6)
    {
        var b = Valid();
        b.Segments[1] = b.Segments[1] with { PhysicalAddress = paddr, VirtualAddress = paddr, MemorySize = memSize, Flags = flags };
        return MultibootImage.Parse(b.Build());
    }

    private static void AssertError(MultibootImage image, uint ram, string fragment)
    {
        var e = Assert.Throws<BootImageException>(() => image.ValidateFor(ram));
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
        Assert.Equal(PhdrOffset(1), e.FileOffset); // points at segment 1's program header
    }

    [Fact]
    public void SegmentBeyondRam() =>
        AssertError(WithSecondSegmentAt(0x03FF_F000), 64u << 20, "segment 1 [0x03FFF000, 0x04001000) lies beyond the end of RAM (0x04000000 bytes)");

    [Fact]
    public void SegmentEndingExactlyAtEndOfRam_Fits() => WithSecondSegmentAt(0x03FF_E000).ValidateFor(64u << 20);

    [Fact]
    public void SegmentInTheVgaHole() => AssertError(WithSecondSegmentAt(0x000B_8000), 64u << 20, "overlaps the VGA memory hole");

    [Fact]
    public void SegmentInTheOptionRomWindow() => AssertError(WithSecondSegmentAt(0x000C_8000), 64u << 20, "overlaps the option-ROM window");

    [Fact]
    public void WritableSegmentOverTheBios() =>
        AssertError(WithSecondSegmentAt(0x000F_F000, 0x1000), 64u << 20,
            "segment 1 [0x000FF000, 0x00100000) is writable (PF_W) but overlaps the BIOS area [0x000E0000, 0x00100000), which is read-only to the guest");

    /// <summary>What <c>ld -Ttext 0x100000</c> without a linker script emits: the ELF and program headers, read-only, at 0xFF000.</summary>
    [Theory]
    [InlineData(4u)] // R, as binutils 2.40 makes it
    [InlineData(5u)] // R X
    public void ReadOnlySegmentInTheBiosArea_IsAllowed(uint flags) => WithSecondSegmentAt(0x000F_F000, 0x74, flags).ValidateFor(64u << 20);

    [Fact]
    public void ReadOnlySegmentStraddlingTheBiosAreaAndHighMemory_IsAllowed()
    {
        var b = Valid();
        b.Segments[0] = b.Segments[0] with { PhysicalAddress = 0x000F_FF80, VirtualAddress = 0x000F_FF80, Flags = 5 };
        b.Entry = 0x0010_0000;
        MultibootImage.Parse(b.Build()).ValidateFor(64u << 20);
    }

    [Fact]
    public void ReadOnlySegmentInTheOptionRomWindow_IsStillRefused() =>
        AssertError(WithSecondSegmentAt(0x000C_8000, 0x100, 4), 64u << 20, "overlaps the option-ROM window");

    [Fact]
    public void AoutKludgeImageOverTheBios_IsRefusedAsWritable()
    {
        var b = Valid();
        b.HeaderFlags = 0x0001_0003;
        // header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr: the file from 0 loads at 0xFF000
        b.HeaderAddressFields = [0x000F_F200, 0x000F_F000, 0, 0, 0x000F_F200];
        var e = Assert.Throws<BootImageException>(() => MultibootImage.Parse(b.Build()).ValidateFor(64u << 20));
        Assert.Contains("is writable (the a.out-kludge image holds data and bss) but overlaps the BIOS area", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SegmentOverQemusInformationAddress_IsAllowed() => WithSecondSegmentAt(0x0000_8000).ValidateFor(64u << 20);

    [Fact]
    public void SegmentInFreeConventionalMemory_IsAllowed() => WithSecondSegmentAt(0x0002_0000).ValidateFor(64u << 20);

    [Fact]
    public void TooLittleRam()
    {
        var e = Assert.Throws<BootImageException>(() => MultibootImage.Parse(Valid().Build()).ValidateFor(1u << 20));
        Assert.Contains("below the minimum", e.Message, StringComparison.Ordinal);
    }
}
