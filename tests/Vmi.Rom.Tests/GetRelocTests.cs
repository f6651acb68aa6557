using Vmi.Abi;

namespace Vmi.Rom.Tests;

/// <summary>
/// vmi_init and get_reloc executed on our CPU, for every call number of every built-in profile,
/// with the ROM mapped at its physical address and at a high alias (position independence).
/// </summary>
public sealed class GetRelocTests
{
    public static TheoryData<string, uint?> Cases()
    {
        var d = new TheoryData<string, uint?>();
        foreach (string p in RomProfiles.Names)
        {
            d.Add(p, null);
            d.Add(p, 0xC00C_0000u);
        }
        return d;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void VmiInitSucceeds(string profile, uint? alias)
    {
        VmiRom rom = RomProfiles.Build(profile)!;
        var m = new RomMachine(rom.Image, alias);
        m.Call(m.RomLinear + RomLayout.VmiInitOffset, eax: 0xDEAD_BEEF);
        Assert.Equal(0u, m.Cpu.Eax);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GetRelocAnswersEveryCallFromItsRunTimeAddress(string profile, uint? alias)
    {
        VmiRom rom = RomProfiles.Build(profile)!;
        var m = new RomMachine(rom.Image, alias);
        foreach (VmiCall call in VmiCalls.All)
        {
            m.Call(m.RomLinear + RomLayout.GetRelocOffset, eax: (uint)call);
            RelocationInfo got = RelocationInfo.FromRegisters(m.Cpu.Eax, m.Cpu.Edx);
            Assert.Equal(rom.ExpectedRelocation(call, m.RomLinear), got);
            Assert.Equal(0u, m.Cpu.Edx >> 8); // reserved bytes are zero
            if (got.Type is RelocationType.CallRel or RelocationType.JumpRel)
            {
                Assert.InRange(got.Eip, m.RomLinear, m.RomLinear + (uint)rom.Image.Length - 1);
            }
        }
    }

    [Theory]
    [InlineData(74u)]
    [InlineData(75u)]
    [InlineData(255u)]
    [InlineData(0x8000_0000u)]
    [InlineData(0xFFFF_FFFFu)]
    public void NumbersBeyondTheTableAnswerNone(uint number)
    {
        VmiRom rom = RomProfiles.Native();
        var m = new RomMachine(rom.Image);
        m.Call(RomMachine.RomPhysical + RomLayout.GetRelocOffset, eax: number);
        Assert.Equal(new RelocationInfo(0, RelocationType.None), RelocationInfo.FromRegisters(m.Cpu.Eax, m.Cpu.Edx));
    }

    [Fact]
    public void NativeProfileCallsEveryStubButTheKeptNativeOnesAndJumpsOnlyForIretAndSysexit()
    {
        VmiRom rom = RomProfiles.Native();
        foreach (VmiCall call in VmiCalls.All)
        {
            RelocationType expected = RomProfiles.KeptNative.Contains(call) ? RelocationType.None
                : VmiCalls.NeverReturns(call) ? RelocationType.JumpRel
                : RelocationType.CallRel;
            Assert.Equal(expected, rom.Types[call]);
        }
    }

    [Fact]
    public void NopDemoDropsOnlyTheSafeCalls()
    {
        VmiRom rom = RomProfiles.NopDemo();
        Assert.Equal(RelocationType.Nop, rom.Types[VmiCall.UpdatePxE]);
        Assert.Equal(RelocationType.Nop, rom.Types[VmiCall.SetLazyMode]);
        Assert.Equal(RelocationType.None, rom.Types[VmiCall.GetCr0]);
        Assert.Equal(RelocationType.None, rom.Types[VmiCall.DisableInterrupts]);
        // Linux poisons the native IRET/SYSEXIT fallbacks: even this ROM jumps to stubs for them.
        Assert.Equal(RelocationType.JumpRel, rom.Types[VmiCall.Iret]);
        Assert.Equal(RelocationType.JumpRel, rom.Types[VmiCall.Sysexit]);
        Assert.Equal(RomProfiles.SafeToDrop.Count, rom.Types.Values.Count(t => t == RelocationType.Nop));
        Assert.Equal([VmiCall.Iret, VmiCall.Sysexit], rom.StubOffsets.Keys.Order());
    }
}
