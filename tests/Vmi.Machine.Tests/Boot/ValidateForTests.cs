using Vmi.Machine.Boot;
using static Vmi.Machine.Tests.Boot.TestElfBuilder;

namespace Vmi.Machine.Tests.Boot;

public sealed class ValidateForTests
{
    private static MultibootImage WithSecondSegmentAt(uint paddr, uint memSize = 0x2000)
    {
        var b = Valid();
        b.Segments[1] = b.Segments[1] with { PhysicalAddress = paddr, VirtualAddress = paddr, MemorySize = memSize };
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
    public void SegmentOverTheBios() => AssertError(WithSecondSegmentAt(0x000F_F000, 0x1000), 64u << 20, "overlaps the BIOS area");

    [Fact]
    public void SegmentOverTheMultibootInfoArea() => AssertError(WithSecondSegmentAt(0x0000_8000), 64u << 20, "overlaps the multiboot info area");

    [Fact]
    public void SegmentInFreeConventionalMemory_IsAllowed() => WithSecondSegmentAt(0x0002_0000).ValidateFor(64u << 20);

    [Fact]
    public void TooLittleRam()
    {
        var e = Assert.Throws<BootImageException>(() => MultibootImage.Parse(Valid().Build()).ValidateFor(1u << 20));
        Assert.Contains("below the minimum", e.Message, StringComparison.Ordinal);
    }
}
