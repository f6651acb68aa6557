using CsCheck;

namespace Vmi.Abi.Tests;

public sealed class RelocationInfoTests
{
    [Fact]
    public void FromRegisters_TakesEipFromEaxAndTypeFromDl() =>
        Assert.Equal(new RelocationInfo(0xFFC0_1234, RelocationType.CallRel), RelocationInfo.FromRegisters(0xFFC0_1234, 0x0000_0001));

    [Fact]
    public void FromRegisters_IgnoresTheReservedBytes() =>
        Assert.Equal(new RelocationInfo(0x1000, RelocationType.JumpRel), RelocationInfo.FromRegisters(0x1000, 0xDEAD_BE02));

    [Theory]
    [InlineData(RelocationType.None, 0u)]
    [InlineData(RelocationType.CallRel, 1u)]
    [InlineData(RelocationType.JumpRel, 2u)]
    [InlineData(RelocationType.Nop, 3u)]
    public void ToRegisters_PutsTypeInDlWithReservedZero(RelocationType type, uint edx) =>
        Assert.Equal((0xC000_0000u, edx), new RelocationInfo(0xC000_0000, type).ToRegisters());

    [Fact]
    public void RoundTrip_ThroughRegisters() =>
        Gen.Select(Gen.UInt, Gen.Byte).Sample((eip, type) =>
        {
            var info = new RelocationInfo(eip, (RelocationType)type);
            var (eax, edx) = info.ToRegisters();
            Assert.Equal(info, RelocationInfo.FromRegisters(eax, edx));
            Assert.Equal(0u, edx >> 8);
        });

    [Fact]
    public void IsKnownType_CoversTheFourAbiTypes()
    {
        Assert.True(new RelocationInfo(0, RelocationType.Nop).IsKnownType);
        Assert.False(new RelocationInfo(0, (RelocationType)4).IsKnownType);
    }

    [Theory]
    [InlineData(0xC010_0000u, 0xC010_0105u, 0x100)]
    [InlineData(0xC010_0105u, 0xC010_0000u, -0x10A)]
    [InlineData(0x0000_0000u, 0xFFFF_FFFFu, -6)]   // wraps like the CPU's 32-bit EIP
    public void Rel32_IsTargetMinusSitePlus5(uint site, uint target, int rel) => Assert.Equal(rel, RelocationInfo.Rel32(site, target));

    [Fact]
    public void TypeValues_MatchTheAbi()
    {
        Assert.Equal(0, (int)RelocationType.None);
        Assert.Equal(1, (int)RelocationType.CallRel);
        Assert.Equal(2, (int)RelocationType.JumpRel);
        Assert.Equal(3, (int)RelocationType.Nop);
        Assert.Equal(8, RelocationInfo.Size);
    }
}
