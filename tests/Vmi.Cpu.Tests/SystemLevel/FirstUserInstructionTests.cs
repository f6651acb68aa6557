using Iced.Intel;
using Vmi.Cpu.Tests.Support;
using static Iced.Intel.AssemblerRegisters;
using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests.SystemLevel;

/// <summary>The counter a kernel's boot is measured by: instructions retired before the first one at CPL 3.</summary>
public sealed class FirstUserInstructionTests
{
    [Fact]
    public void AnIretToRing3CountsEverythingUpToAndIncludingItself()
    {
        var h = new H();
        var u = new Assembler(32);
        Label spin = u.CreateLabel();
        u.Label(ref spin);
        u.nop();
        u.nop();
        u.jmp(spin);
        const uint userCode = H.CodeBase + 0x1000;
        h.Load(u, userCode);
        var a = new Assembler(32);
        a.push(H.Data3);
        a.push(H.Ring3StackTop);
        a.push(0x202);
        a.push(H.Code3);
        a.push(userCode);
        a.iretd(); // the sixth instruction
        h.Load(a);

        Assert.False(h.Cpu.Counters.ReachedUserMode);
        h.Cpu.Run(20);

        Assert.True(h.Cpu.Counters.ReachedUserMode);
        Assert.Equal(6, h.Cpu.Counters.FirstUserInstruction);
        Assert.Equal(3, h.Cpu.Cpl);
    }

    [Fact]
    public void StartingAtRing3CountsNothingBeforeIt()
    {
        var h = new H();
        var a = new Assembler(32);
        a.nop();
        a.nop();
        GuestProgram p = h.Load(a);
        h.EnterRing(3, p.Address, H.Ring3StackTop);

        h.Cpu.Run(2);

        Assert.True(h.Cpu.Counters.ReachedUserMode);
        Assert.Equal(0, h.Cpu.Counters.FirstUserInstruction);
    }
}
