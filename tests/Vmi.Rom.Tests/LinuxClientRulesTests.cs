using Vmi.Abi;

namespace Vmi.Rom.Tests;

/// <summary>
/// The built-in ROMs satisfy what Linux 2.6.32's VMI client requires (vmi-abi.md), and the checker
/// names each way a ROM can break it: the three faults a real Linux kernel met with our earlier
/// native ROM (UpdateKernelStack writing through the SS0 selector, GetCycleFrequency offered without
/// alarms) and the rules for IRET/SYSEXIT, wrapped calls and relocation targets.
/// </summary>
public sealed class LinuxClientRulesTests
{
    private const uint Base = 0xC0000;

    private static Dictionary<VmiCall, RelocationInfo> Answers(VmiRom rom) =>
        VmiCalls.All.ToDictionary(c => c, c => rom.ExpectedRelocation(c, Base));

    public static TheoryData<string> Profiles() => new(RomProfiles.Names);

    [Theory]
    [MemberData(nameof(Profiles))]
    public void BuiltInProfilesSatisfyLinux(string profile)
    {
        VmiRom rom = RomProfiles.Build(profile)!;
        Assert.Empty(LinuxClientRules.Check(Answers(rom), Base, rom.Image.Length));
    }

    [Fact]
    public void TheNativeProfileKeepsTheTimerAndApicCallsNative()
    {
        VmiRom rom = RomProfiles.Native();
        foreach (VmiCall call in VmiCalls.All)
        {
            RelocationType expected = RomProfiles.KeptNative.Contains(call) ? RelocationType.None
                : VmiCalls.NeverReturns(call) ? RelocationType.JumpRel
                : RelocationType.CallRel;
            Assert.Equal(expected, rom.ExpectedRelocation(call, Base).Type);
        }
        Assert.Contains(VmiCall.GetCycleFrequency, RomProfiles.KeptNative);
    }

    [Fact]
    public void NopDemoJumpsToStubsForIretAndSysexit()
    {
        VmiRom rom = RomProfiles.NopDemo();
        Assert.Equal(RelocationType.JumpRel, rom.ExpectedRelocation(VmiCall.Iret, Base).Type);
        Assert.Equal(RelocationType.JumpRel, rom.ExpectedRelocation(VmiCall.Sysexit, Base).Type);
    }

    [Fact]
    public void AllStubsOffersACycleFrequencyItCannotBackWithAlarms()
    {
        // What our native ROM answered before: Linux then waited for an alarm forever.
        VmiRom rom = RomProfiles.AllStubs();
        IReadOnlyList<string> broken = LinuxClientRules.Check(Answers(rom), Base, rom.Image.Length);
        Assert.Empty(broken); // SetAlarm/CancelAlarm are CALL_REL there too: the checker cannot tell a stub that does nothing
        var noAlarms = Answers(rom);
        noAlarms[VmiCall.SetAlarm] = new RelocationInfo(0, RelocationType.None);
        Assert.Contains(LinuxClientRules.Check(noAlarms, Base, rom.Image.Length), l => l.StartsWith("GetCycleFrequency:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(VmiCall.Iret, RelocationType.None, "IRET: must be CALL_REL or JUMP_REL")]
    [InlineData(VmiCall.Sysexit, RelocationType.Nop, "SYSEXIT: must be CALL_REL or JUMP_REL")]
    [InlineData(VmiCall.Cpuid, RelocationType.JumpRel, "CPUID: JUMP_REL for a call that returns (Linux's wrapper BUGs on it)")]
    [InlineData(VmiCall.DisableInterrupts, RelocationType.JumpRel, "DisableInterrupts: JUMP_REL for a call that returns")]
    [InlineData(VmiCall.SetCr3, (RelocationType)7, "SetCR3: relocation type 7 is unknown")]
    public void EachBrokenRuleIsNamed(VmiCall call, RelocationType type, string message)
    {
        VmiRom rom = RomProfiles.Native();
        var answers = Answers(rom);
        answers[call] = new RelocationInfo(Base + 0x100, type);
        Assert.Contains(LinuxClientRules.Check(answers, Base, rom.Image.Length), l => l.StartsWith(message, StringComparison.Ordinal));
    }

    [Fact]
    public void ATargetOutsideTheRomIsNamed()
    {
        VmiRom rom = RomProfiles.Native();
        var answers = Answers(rom);
        answers[VmiCall.SetCr0] = new RelocationInfo(Base + (uint)rom.Image.Length, RelocationType.CallRel);
        Assert.Contains(LinuxClientRules.Check(answers, Base, rom.Image.Length), l => l.StartsWith("SetCR0: CallRel target", StringComparison.Ordinal));
    }
}
