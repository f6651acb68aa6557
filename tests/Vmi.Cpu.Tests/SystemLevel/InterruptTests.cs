using Iced.Intel;
using Vmi.Cpu.Tests.Support;
using static Iced.Intel.AssemblerRegisters;
using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests.SystemLevel;

/// <summary>
/// External interrupts on the INTR line: masked by IF, held off for one instruction after STI,
/// waking HLT, acknowledged once, and delivered through the IDT like any other event.
/// </summary>
public sealed class InterruptTests
{
    private const byte Irq = 0x30;

    [Fact]
    public void NotDeliveredWhileIfIsClear()
    {
        var h = new H();
        var a = new Assembler(32);
        a.mov(eax, 1);
        a.hlt();
        GuestProgram p = h.Load(a);
        h.Platform.Raise(Irq);

        CpuExit exit = h.RunUntilHalt();
        Assert.Null(exit.Detail);
        Assert.Equal(p.End, h.Cpu.Eip);
        Assert.Equal(1u, h.Cpu.Eax);

        // Still halted with the line up: IF = 0 keeps the CPU asleep.
        Assert.Equal(CpuExitReason.Halted, h.Cpu.Run(1000).Reason);
        Assert.Equal(H.NoVector, h.LastVector);
        Assert.Equal(0, h.Platform.Acknowledges);
        Assert.True(h.Cpu.InterruptLine);
    }

    [Fact]
    public void StiHltWakesAfterTheHlt()
    {
        var h = new H();
        GuestProgram p = h.Load((a, l) =>
        {
            a.sti();
            a.hlt();
            l.Define(a, "after");
            a.mov(ebx, 1);
            a.hlt();
        });
        h.Platform.Raise(Irq);

        h.RunUntilHalt();

        h.AssertStopped(Irq);
        Assert.Equal(p["after"], h.Stack(0)); // the HLT retired before the interrupt
        Assert.Equal((uint)H.Code0, h.Stack(1));
        Assert.Equal(EFlags.IF, h.Stack(2) & EFlags.IF);
        Assert.Equal(0u, h.Cpu.Ebx);
        Assert.Equal(1, h.Platform.Acknowledges);
        Assert.False(h.Cpu.InterruptLine);
    }

    [Fact]
    public void StiShadowCoversExactlyOneInstruction()
    {
        var h = new H();
        GuestProgram p = h.Load((a, l) =>
        {
            a.sti();
            a.inc(ecx);
            l.Define(a, "second");
            a.inc(ecx);
            a.inc(ecx);
            a.hlt();
        });
        h.Platform.Raise(Irq);

        h.RunUntilHalt();

        h.AssertStopped(Irq);
        Assert.Equal(1u, h.Cpu.Ecx);
        Assert.Equal(p["second"], h.Stack(0));
    }

    [Fact]
    public void MovSsShadowHoldsOffTheInterruptForOneInstruction()
    {
        // An interrupt between "mov ss" and "mov esp" would push onto a half-switched stack.
        const uint newStack = H.Ring0StackTop - 0x100;
        var h = new H();
        GuestProgram p = h.Load((a, l) =>
        {
            a.mov(eax, H.Data0);
            a.mov(ss, ax);
            a.mov(esp, newStack);
            l.Define(a, "next");
            a.nop();
            a.hlt();
        });
        h.Cpu.Eflags = EFlags.IF;
        h.Cpu.Step();
        h.Cpu.Step();
        h.Platform.Raise(Irq); // arrives right after MOV SS

        h.RunUntilHalt();

        h.AssertStopped(Irq);
        Assert.Equal(newStack - 12, h.Cpu.Esp);
        Assert.Equal(p["next"], h.Stack(0));
    }

    [Fact]
    public void PendingInterruptIsTakenBeforeTheFirstInstructionWhenIfIsSet()
    {
        var h = new H();
        var a = new Assembler(32);
        a.mov(eax, 1);
        a.hlt();
        GuestProgram p = h.Load(a);
        h.Cpu.Eflags = EFlags.IF;
        h.Platform.Raise(Irq);

        h.RunUntilHalt();

        h.AssertStopped(Irq);
        Assert.Equal(p.Address, h.Stack(0));
        Assert.Equal(0u, h.Cpu.Eax);
        Assert.Equal(0u, h.Cpu.Eflags & EFlags.IF);
    }

    [Fact]
    public void HaltedCpuWakesOnALaterInterrupt()
    {
        var h = new H();
        var a = new Assembler(32);
        a.hlt();
        a.mov(eax, 7);
        GuestProgram p = h.Load(a);
        h.Cpu.Eflags = EFlags.IF;

        Assert.Equal(CpuExitReason.Halted, h.Cpu.Run(1000).Reason);
        Assert.Equal(CpuExitReason.Halted, h.Cpu.Run(1000).Reason); // nothing pending: stays asleep
        long retired = h.Cpu.InstructionsRetired;

        h.Platform.Raise(Irq);
        h.RunUntilHalt();

        h.AssertStopped(Irq);
        Assert.Equal(p.Address + 1, h.Stack(0)); // resumes after the HLT
        Assert.True(h.Cpu.InstructionsRetired > retired);
    }

    [Fact]
    public void InterruptReturnResumesTheProgram()
    {
        var h = new H();
        GuestProgram p = h.Load((a, l) =>
        {
            Label top = a.CreateLabel();
            a.sti();
            a.mov(ecx, 100);
            a.Label(ref top);
            a.inc(ebx);
            a.dec(ecx);
            a.jne(top);
            a.hlt();

            l.Define(a, "isr");
            a.inc(__dword_ptr[H.DataBase]);
            a.iretd();
        });
        h.SetGate(Irq, p["isr"]);

        Assert.Equal(CpuExitReason.InstructionLimit, h.Cpu.Run(20).Reason);
        h.Platform.Raise(Irq); // arrives mid-loop
        h.RunUntilHalt();

        Assert.Equal(1u, h.Memory.Read32(H.DataBase));
        Assert.Equal(0u, h.Cpu.Ecx);
        Assert.Equal(100u, h.Cpu.Ebx);
        Assert.Equal(H.Ring0StackTop, h.Cpu.Esp);
        Assert.Equal(EFlags.IF, h.Cpu.Eflags & EFlags.IF);
    }

    [Fact]
    public void LongRepMovsIsInterruptibleAndResumes()
    {
        // An interrupt between two iterations of a REP sees EIP at the REP instruction, the registers
        // part-way and RF = 1 in the pushed EFLAGS (SDM 17.3.1.1), and IRET resumes the copy where it stopped.
        const int length = 3 * 4096;
        const uint src = H.ScratchBase, dst = H.ScratchBase + 0x10_0000;
        var h = new H();
        var data = new byte[length];
        new Random(5).NextBytes(data);
        h.Memory.Load(src, data);
        GuestProgram p = h.Load((a, l) =>
        {
            a.sti();
            a.mov(esi, src);
            a.mov(edi, dst);
            a.mov(ecx, length);
            l.Define(a, "copy");
            a.rep.movsb();
            a.hlt();

            l.Define(a, "isr");
            a.mov(__dword_ptr[H.DataBase], ecx);
            a.mov(eax, __dword_ptr[esp]);
            a.mov(__dword_ptr[H.DataBase + 4], eax);
            a.mov(eax, __dword_ptr[esp + 8]);
            a.mov(__dword_ptr[H.DataBase + 8], eax);
            a.iretd();
        });
        h.SetGate(Irq, p["isr"]);
        h.RunUntilEip(p["copy"]);
        Assert.Equal(CpuExitReason.InstructionLimit, h.Cpu.Run(100).Reason); // 100 iterations

        h.Platform.Raise(Irq);
        h.RunUntilHalt(length * 2);

        Assert.Equal((uint)(length - 100), h.Memory.Read32(H.DataBase));
        Assert.Equal(p["copy"], h.Memory.Read32(H.DataBase + 4));
        Assert.Equal(EFlags.RF, h.Memory.Read32(H.DataBase + 8) & EFlags.RF);
        Assert.Equal(0u, h.Cpu.Ecx);
        var copied = new byte[length];
        h.Memory.ReadBytes(dst, copied);
        Assert.Equal(data, copied);
    }

    [Fact]
    public void ExternalInterruptFromRing3IgnoresGateDplAndSwitchesStacks()
    {
        var h = new H();
        var a = new Assembler(32);
        Label self = a.CreateLabel();
        a.Label(ref self);
        a.jmp(self);
        GuestProgram p = h.Load(a);
        h.EnterRing(3, p.Address, H.Ring3StackTop, EFlags.IF);

        Assert.Equal(CpuExitReason.InstructionLimit, h.Cpu.Run(50).Reason);
        h.Platform.Raise(Irq);
        h.RunUntilHalt();

        h.AssertStopped(Irq);
        Assert.Equal(H.Ring0StackTop - 20, h.Cpu.Esp);
        Assert.Equal(p.Address, h.Stack(0));
        Assert.Equal((uint)H.Code3, h.Stack(1));
        Assert.Equal(H.Ring3StackTop, h.Stack(3));
        Assert.Equal((uint)H.Data3, h.Stack(4));
    }

    [Theory]
    [InlineData(0xE, false)]
    [InlineData(0xF, true)]
    public void TrapGatesKeepIfInterruptGatesClearIt(int type, bool ifInHandler)
    {
        var h = new H();
        h.SetGate(0x50, H.StubAddress(0x50), type: type);
        var a = new Assembler(32);
        a.sti();
        a.@int(0x50);
        h.Load(a);

        h.RunUntilHalt();

        h.AssertStopped(0x50);
        Assert.Equal(ifInHandler ? EFlags.IF : 0, h.Cpu.Eflags & EFlags.IF);
        Assert.Equal(EFlags.IF, h.Stack(2) & EFlags.IF);
    }
}
