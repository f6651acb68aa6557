using Iced.Intel;
using Vmi.Abi;
using Vmi.Guest.Image;
using Vmi.Guest.Patching;
using Vmi.Rom;

namespace Vmi.Guest.Tests.Patching;

/// <summary>What each site of the test kernel becomes for a ROM's answers, and the answers the kernel refuses.</summary>
public sealed class SitePlanTests
{
    private const uint RomBase = 0xC8000;
    private const int RomLength = 0x800;

    private static readonly IReadOnlyList<VmiSite> Sites = SiteKernels.Good.Sites;

    /// <summary>One of each relocation type over the test kernel's five calls.</summary>
    private static Dictionary<VmiCall, RelocationInfo> Answers() => new()
    {
        [VmiCall.DisableInterrupts] = new(RomBase + 0x100, RelocationType.CallRel),
        [VmiCall.SetCr3] = new(0, RelocationType.None),
        [VmiCall.InvalPage] = new(RomBase + 0x200, RelocationType.CallRel),
        [VmiCall.EnableInterrupts] = new(0, RelocationType.Nop),
        [VmiCall.Iret] = new(RomBase + 0x7F0, RelocationType.JumpRel),
    };

    private static byte[] Bytes(VmiCall call, SitePlan plan) => plan.Sites.Single(s => s.Site.Call == call).Bytes;

    private static uint Address(VmiCall call) => Sites.Single(s => s.Call == call).Address;

    [Fact]
    public void EachRelocationTypeGivesItsExactBytes()
    {
        SitePlan plan = SitePlan.Create(Sites, Answers(), RomBase, RomLength);

        // cli at 0xC0100000 calling 0xC8100: rel32 = 0xC8100 - 0xC0100005 = 0x3FFC80FB.
        Assert.Equal([0xE8, 0xFB, 0x80, 0xFC, 0x3F], Bytes(VmiCall.DisableInterrupts, plan));
        Assert.Equal([0x0F, 0x22, 0xD8, 0x90, 0x90], Bytes(VmiCall.SetCr3, plan)); // NONE: native bytes
        Assert.Equal([0x90, 0x90, 0x90, 0x90, 0x90], Bytes(VmiCall.EnableInterrupts, plan)); // NOP
        byte[] invlpg = Bytes(VmiCall.InvalPage, plan);
        Assert.Equal([0xE8, .. BitConverter.GetBytes(RomBase + 0x200 - (Address(VmiCall.InvalPage) + 5)), 0x90, 0x90], invlpg);
        Assert.Equal([0xE9, .. BitConverter.GetBytes(RomBase + 0x7F0 - (Address(VmiCall.Iret) + 5))], Bytes(VmiCall.Iret, plan));
        Assert.Equal((2, 1, 1, 1), (plan.Count(RelocationType.CallRel), plan.Count(RelocationType.JumpRel),
            plan.Count(RelocationType.Nop), plan.Count(RelocationType.None)));
    }

    [Fact]
    public void PatchedSitesDecodeAsACallOrJumpToTheTarget()
    {
        SitePlan plan = SitePlan.Create(Sites, Answers(), RomBase, RomLength);

        foreach (PlannedSite s in plan.Sites.Where(s => s.Target is not null))
        {
            var decoder = Decoder.Create(32, new ByteArrayCodeReader(s.Bytes));
            decoder.IP = s.Site.Address;
            Instruction first = decoder.Decode();
            Assert.Equal(s.Relocation.Type == RelocationType.CallRel ? Mnemonic.Call : Mnemonic.Jmp, first.Mnemonic);
            Assert.Equal(s.Target, first.NearBranch32);
            while (decoder.IP < s.Site.Address + (ulong)s.Site.Length)
            {
                Assert.Equal(Mnemonic.Nop, decoder.Decode().Mnemonic);
            }
        }
    }

    [Fact]
    public void TheNativeProfileCallsItsStubsAndJumpsForIret()
    {
        VmiRom rom = RomProfiles.Native();
        var answers = VmiCalls.All.ToDictionary(c => c, c => rom.ExpectedRelocation(c, RomBase));

        SitePlan plan = SitePlan.Create(Sites, answers, RomBase, rom.Image.Length);

        PlannedSite cli = plan.Sites.Single(s => s.Site.Call == VmiCall.DisableInterrupts);
        Assert.Equal(RelocationType.CallRel, cli.Relocation.Type);
        Assert.Equal(RomBase + (uint)rom.StubOffsets[VmiCall.DisableInterrupts], cli.Target);
        Assert.Equal(RelocationType.JumpRel, plan.Sites.Single(s => s.Site.Call == VmiCall.Iret).Relocation.Type);
        Assert.Equal(5, plan.Count(RelocationType.CallRel) + plan.Count(RelocationType.JumpRel));
    }

    [Fact]
    public void JumpRelForCliIsRejected()
    {
        var answers = Answers();
        answers[VmiCall.DisableInterrupts] = new(RomBase + 0x100, RelocationType.JumpRel);

        Assert.False(SitePlan.TryCreate(Sites, answers, RomBase, RomLength, out SitePlan? plan, out IReadOnlyList<string> problems));

        Assert.Null(plan);
        Assert.Equal(["DisableInterrupts: JUMP_REL for a call that returns (only IRET and SYSEXIT may jump)"], problems);
    }

    [Theory]
    [InlineData(RomBase - 1)]
    [InlineData(RomBase + RomLength)] // one past the last byte
    [InlineData(0u)]
    public void ATargetOutsideTheRomIsRejected(uint target)
    {
        var answers = Answers();
        answers[VmiCall.InvalPage] = new(target, RelocationType.CallRel);

        SitePlanException e = Assert.Throws<SitePlanException>(() => SitePlan.Create(Sites, answers, RomBase, RomLength));

        Assert.Equal([$"InvalPage: CALL_REL target 0x{target:X8} lies outside the ROM [0x000C8000, 0x000C8800)"], e.Problems);
    }

    [Fact]
    public void AJumpOutsideTheRomIsRejectedToo()
    {
        var answers = Answers();
        answers[VmiCall.Iret] = new(0xC0100000, RelocationType.JumpRel);

        Assert.False(SitePlan.TryCreate(Sites, answers, RomBase, RomLength, out _, out IReadOnlyList<string> problems));

        Assert.Equal(["IRET: JUMP_REL target 0xC0100000 lies outside the ROM [0x000C8000, 0x000C8800)"], problems);
    }

    [Fact]
    public void AnUnknownTypeIsRejected()
    {
        var answers = Answers();
        answers[VmiCall.SetCr3] = new(RomBase, (RelocationType)4);

        Assert.False(SitePlan.TryCreate(Sites, answers, RomBase, RomLength, out _, out IReadOnlyList<string> problems));

        Assert.Equal(["SetCR3: relocation type 4 is unknown"], problems);
    }

    [Fact]
    public void ACallWithSitesButNoAnswerIsRejected()
    {
        var answers = Answers();
        answers.Remove(VmiCall.EnableInterrupts);

        Assert.False(SitePlan.TryCreate(Sites, answers, RomBase, RomLength, out _, out IReadOnlyList<string> problems));

        Assert.Equal(["EnableInterrupts: no get_reloc answer"], problems);
    }

    [Fact]
    public void AnswersForCallsWithoutSitesAreNotChecked()
    {
        var answers = Answers();
        answers[VmiCall.Halt] = new(0, RelocationType.JumpRel); // the kernel has no Halt site

        Assert.True(SitePlan.TryCreate(Sites, answers, RomBase, RomLength, out _, out IReadOnlyList<string> problems));
        Assert.Empty(problems);
    }
}
