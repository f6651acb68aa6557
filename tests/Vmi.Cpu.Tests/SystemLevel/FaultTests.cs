using Iced.Intel;
using Vmi.Cpu.Tests.Support;
using static Iced.Intel.AssemblerRegisters;
using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests.SystemLevel;

/// <summary>
/// Exceptions as a kernel sees them: the frame on the stack, the error code, the faulting EIP,
/// state untouched by the faulting instruction, and the double/triple-fault escalation.
/// </summary>
public sealed class FaultTests
{
    /// <summary>All six arithmetic flags set, plus the always-one bit: easy to spot if an instruction clobbers them.</summary>
    private const uint FlagPattern = EFlags.CF | EFlags.PF | EFlags.AF | EFlags.ZF | EFlags.SF | EFlags.OF | EFlags.Reserved1;

    public enum DivCase
    {
        DivByZero32,
        DivByZero8,
        QuotientOverflow32,
        QuotientOverflow8,
        IdivMinByMinusOne32,
        IdivOverflow16,
    }

    [Theory]
    [InlineData(DivCase.DivByZero32, 0x1234_5678u, 0x0000_0001u, 0u)]
    [InlineData(DivCase.DivByZero8, 0x0000_1000u, 0u, 0x0000_FF00u)]
    [InlineData(DivCase.QuotientOverflow32, 0u, 2u, 1u)]
    [InlineData(DivCase.QuotientOverflow8, 0x0000_1000u, 0u, 0x10u)]
    [InlineData(DivCase.IdivMinByMinusOne32, 0x8000_0000u, 0xFFFF_FFFFu, 0xFFFF_FFFFu)]
    [InlineData(DivCase.IdivOverflow16, 0x0000_0000u, 0x0000_0001u, 0x0000_0001u)]
    public void DivideErrorLeavesStateAsBeforeTheInstruction(DivCase which, uint eaxIn, uint edxIn, uint ecxIn)
    {
        var h = new H();
        var a = new Assembler(32);
        Label fault = a.CreateLabel();
        a.mov(eax, eaxIn);
        a.mov(edx, edxIn);
        a.mov(ecx, ecxIn);
        a.push((int)FlagPattern);
        a.popfd();
        a.Label(ref fault);
        switch (which)
        {
            case DivCase.DivByZero32 or DivCase.QuotientOverflow32: a.div(ecx); break;
            case DivCase.DivByZero8 or DivCase.QuotientOverflow8: a.div(cl); break;
            case DivCase.IdivMinByMinusOne32: a.idiv(ecx); break;
            case DivCase.IdivOverflow16: a.idiv(cx); break; // 0x0001_0000 / 1 does not fit 16 bits
        }
        a.hlt();
        GuestProgram p = h.Load(a);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.DE);
        Assert.Equal(H.Ring0StackTop - 12, h.Cpu.Esp); // no error code
        Assert.Equal(p[fault], h.Stack(0));
        Assert.Equal(H.Code0, (ushort)h.Stack(1));
        // A fault pushes RF = 1 (SDM 17.3.1.1), so IRET re-runs the instruction past a code breakpoint.
        Assert.Equal(FlagPattern | EFlags.RF, h.Stack(2));
        Assert.Equal(eaxIn, h.Cpu.Eax);
        Assert.Equal(edxIn, h.Cpu.Edx);
        Assert.Equal(ecxIn, h.Cpu.Ecx);
        Assert.Equal(FlagPattern & EFlags.Arith, h.Cpu.Eflags & EFlags.Arith);
    }

    [Fact]
    public void Ud2RaisesInvalidOpcodeAtTheInstruction()
    {
        var h = new H();
        var a = new Assembler(32);
        Label fault = a.CreateLabel();
        a.nop();
        a.Label(ref fault);
        a.ud2();
        a.hlt();
        GuestProgram p = h.Load(a);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.UD);
        Assert.Equal(H.Ring0StackTop - 12, h.Cpu.Esp);
        Assert.Equal(p[fault], h.Stack(0));
        Assert.Equal(1u, h.ExceptionCount);
    }

    [Fact]
    public void Int1RaisesDebugTrapAfterTheInstruction()
    {
        var h = new H();
        var a = new Assembler(32);
        Label after = a.CreateLabel();
        a.nop();
        a.db(0xF1); // INT1 / ICEBP: a trap, so the pushed EIP is the next instruction
        a.Label(ref after);
        a.hlt();
        GuestProgram p = h.Load(a);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.DB);
        Assert.Equal(H.Ring0StackTop - 12, h.Cpu.Esp);
        Assert.Equal(p[after], h.Stack(0));
    }

    [Fact]
    public void UndefinedEncodingRaisesInvalidOpcode()
    {
        var h = new H();
        h.Memory.Load(H.CodeBase, [0x90, 0x0F, 0xFF, 0xF4]); // nop; ud0-ish garbage (0F FF); hlt

        h.RunUntilHalt();

        h.AssertStopped(Vectors.UD);
        Assert.Equal(H.CodeBase + 1, h.Stack(0));
    }

    public enum PrivilegedCase
    {
        Cli,
        Hlt,
        MovToCr0,
        MovFromCr3,
        Lgdt,
        Lidt,
        Wrmsr,
        Rdmsr,
        Invlpg,
        MovToDr7,
        Ltr,
        Clts,
        Wbinvd,
        Sysexit,
    }

    [Theory]
    [InlineData(PrivilegedCase.Cli)]
    [InlineData(PrivilegedCase.Hlt)]
    [InlineData(PrivilegedCase.MovToCr0)]
    [InlineData(PrivilegedCase.MovFromCr3)]
    [InlineData(PrivilegedCase.Lgdt)]
    [InlineData(PrivilegedCase.Lidt)]
    [InlineData(PrivilegedCase.Wrmsr)]
    [InlineData(PrivilegedCase.Rdmsr)]
    [InlineData(PrivilegedCase.Invlpg)]
    [InlineData(PrivilegedCase.MovToDr7)]
    [InlineData(PrivilegedCase.Ltr)]
    [InlineData(PrivilegedCase.Clts)]
    [InlineData(PrivilegedCase.Wbinvd)]
    [InlineData(PrivilegedCase.Sysexit)]
    public void PrivilegedInstructionAtCpl3RaisesGeneralProtection(PrivilegedCase which)
    {
        var h = new H();
        var a = new Assembler(32);
        Label fault = a.CreateLabel();
        a.mov(eax, 0x11);
        a.mov(ecx, 0x174);
        a.Label(ref fault);
        switch (which)
        {
            case PrivilegedCase.Cli: a.cli(); break;
            case PrivilegedCase.Hlt: a.hlt(); break;
            case PrivilegedCase.MovToCr0: a.mov(cr0, eax); break;
            case PrivilegedCase.MovFromCr3: a.mov(eax, cr3); break;
            case PrivilegedCase.Lgdt: a.lgdt(__[H.DataBase]); break;
            case PrivilegedCase.Lidt: a.lidt(__[H.DataBase]); break;
            case PrivilegedCase.Wrmsr: a.wrmsr(); break;
            case PrivilegedCase.Rdmsr: a.rdmsr(); break;
            case PrivilegedCase.Invlpg: a.invlpg(__byte_ptr[H.DataBase]); break;
            case PrivilegedCase.MovToDr7: a.mov(dr7, eax); break;
            case PrivilegedCase.Ltr: a.ltr(ax); break;
            case PrivilegedCase.Clts: a.clts(); break;
            case PrivilegedCase.Wbinvd: a.wbinvd(); break;
            case PrivilegedCase.Sysexit: a.sysexit(); break;
        }
        a.int3();
        GuestProgram p = h.Load(a);
        h.EnterRing(3, p.Address, H.Ring3StackTop, EFlags.IF);
        uint cr0Before = h.Cpu.Cr0;

        h.RunUntilHalt();

        h.AssertStopped(Vectors.GP);
        Assert.Equal(H.Ring0StackTop - 24, h.Cpu.Esp); // error code + EIP, CS, EFLAGS, ESP, SS
        Assert.Equal(0u, h.Stack(0));
        Assert.Equal(p[fault], h.Stack(1));
        Assert.Equal(H.Code3, (ushort)h.Stack(2));
        Assert.Equal(EFlags.IF, h.Stack(3) & EFlags.IF); // CLI did not take effect
        Assert.Equal(H.Ring3StackTop, h.Stack(4));
        Assert.Equal(H.Data3, (ushort)h.Stack(5));
        Assert.Equal(0x11u, h.Cpu.Eax);
        Assert.Equal(cr0Before, h.Cpu.Cr0);
        Assert.Equal(0, h.Cpu.Cpl);
    }

    [Fact]
    public void NotPresentGateRaisesSegmentNotPresentWithIdtErrorCode()
    {
        var h = new H();
        h.SetGate(0x40, H.StubAddress(0x40), present: false);
        var a = new Assembler(32);
        a.@int(0x40);
        a.hlt();
        GuestProgram p = h.Load(a);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.NP);
        Assert.Equal(0x40u * 8 + 2, h.Stack(0)); // IDT bit set, EXT clear (software interrupt)
        Assert.Equal(p.Address, h.Stack(1));
    }

    /// <summary>
    /// A benign exception whose gate is missing is followed serially by #NP (no double fault: a
    /// benign first event never makes one); only a second contributory fault while delivering that
    /// #NP escalates to #DF.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BenignFaultThroughAMissingGateIsHandledSeriallyThenEscalates(bool npGateMissingToo)
    {
        var h = new H();
        h.SetGate(Vectors.UD, H.StubAddress(Vectors.UD), present: false);
        if (npGateMissingToo)
        {
            h.SetGate(Vectors.NP, H.StubAddress(Vectors.NP), present: false);
        }
        var a = new Assembler(32);
        a.ud2();
        a.hlt();
        GuestProgram p = h.Load(a);

        h.RunUntilHalt();

        if (npGateMissingToo)
        {
            h.AssertStopped(Vectors.DF);
            Assert.Equal(0u, h.Stack(0));
        }
        else
        {
            h.AssertStopped(Vectors.NP);
            Assert.Equal((uint)Vectors.UD * 8 + 2 + 1, h.Stack(0)); // IDT bit and EXT (the processor raised it)
            Assert.Equal(p.Address, h.Stack(1));
        }
    }

    [Fact]
    public void ExternalInterruptThroughNotPresentGateSetsTheExtBit()
    {
        var h = new H();
        h.SetGate(0x43, H.StubAddress(0x43), present: false);
        var a = new Assembler(32);
        a.nop();
        a.hlt();
        GuestProgram p = h.Load(a);
        h.Cpu.Eflags = EFlags.IF;
        h.Platform.Raise(0x43);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.NP);
        Assert.Equal(0x43u * 8 + 2 + 1, h.Stack(0));
        Assert.Equal(p.Address, h.Stack(1));
    }

    [Fact]
    public void SoftwareInterruptThroughMorePrivilegedGateRaisesGeneralProtection()
    {
        var h = new H();
        h.SetGate(0x41, H.StubAddress(0x41), dpl: 0);
        var a = new Assembler(32);
        a.@int(0x41);
        a.hlt();
        GuestProgram p = h.Load(a);
        h.EnterRing(3, p.Address, H.Ring3StackTop);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.GP);
        Assert.Equal(0x41u * 8 + 2, h.Stack(0));
        Assert.Equal(p.Address, h.Stack(1));
        Assert.Equal(H.Code3, (ushort)h.Stack(2));
    }

    [Fact]
    public void VectorBeyondIdtLimitRaisesGeneralProtection()
    {
        var h = new H();
        h.Cpu.Idtr = new TableRegister { Base = H.IdtBase, Limit = 0x50 * 8 - 1 };
        var a = new Assembler(32);
        a.@int(0x60);
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.GP);
        Assert.Equal(0x60u * 8 + 2, h.Stack(0));
    }

    [Theory]
    [InlineData(0x0)]  // reserved
    [InlineData(0x1)]  // available 16-bit TSS: not a gate
    [InlineData(0xC)]  // call gate: not allowed in the IDT
    public void BadGateTypeRaisesGeneralProtection(int type)
    {
        var h = new H();
        h.SetGate(0x42, H.StubAddress(0x42), type: type);
        var a = new Assembler(32);
        a.@int(0x42);
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.GP);
        Assert.Equal(0x42u * 8 + 2, h.Stack(0));
    }

    [Fact]
    public void GateToNullCodeSelectorRaisesGeneralProtection()
    {
        var h = new H();
        h.SetGate(0x45, H.StubAddress(0x45), selector: 0);
        var a = new Assembler(32);
        a.@int(0x45);
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.GP);
        Assert.Equal(0u, h.Stack(0));
    }

    [Fact]
    public void GeneralProtectionWhileDeliveringGeneralProtectionIsADoubleFault()
    {
        // The IDT ends right after vector 8, so the #GP from the bad selector cannot be delivered.
        var h = new H();
        h.Cpu.Idtr = new TableRegister { Base = H.IdtBase, Limit = 9 * 8 - 1 };
        var a = new Assembler(32);
        Label fault = a.CreateLabel();
        a.mov(eax, 0x1230);
        a.Label(ref fault);
        a.mov(ds, ax); // beyond the GDT limit: #GP(0x1230)
        a.hlt();
        GuestProgram p = h.Load(a);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.DF);
        Assert.Equal(H.Ring0StackTop - 16, h.Cpu.Esp);
        Assert.Equal(0u, h.Stack(0)); // #DF always pushes 0
        Assert.Equal(p[fault], h.Stack(1));
        Assert.Equal(H.Data0, h.Cpu.Segment(SegReg.Ds).Selector);
    }

    [Fact]
    public void PageFaultWhilePushingTheFrameIsADoubleFaultOnTheTssStack()
    {
        // Ring 3 faults; the ring-0 stack from the TSS is unmapped. The #PF raised while pushing the
        // #GP frame is delivered next (contributory then #PF is handled serially), faults the same
        // way (#PF while delivering #PF: double fault), and #DF needs that stack too: triple fault.
        var h = new H();
        h.EnablePaging();
        h.Map(H.Ring0StackTop - 0x1000, 0, 0);
        var a = new Assembler(32);
        a.cli();
        GuestProgram p = h.Load(a);
        h.EnterRing(3, p.Address, H.Ring3StackTop);

        CpuExit exit = h.Cpu.Run(1000);

        Assert.Equal(CpuExitReason.TripleFault, exit.Reason);
        Assert.Equal(H.NoVector, h.LastVector);
    }

    [Fact]
    public void TripleFaultStopsTheRunWithARegisterDump()
    {
        var h = new H();
        h.Cpu.Idtr = new TableRegister { Base = H.IdtBase, Limit = 0 }; // nothing deliverable
        var a = new Assembler(32);
        a.mov(eax, 0xDEAD_BEEFu);
        a.mov(esi, 0x0BAD_F00Du);
        a.ud2();
        a.hlt();
        GuestProgram p = h.Load(a);

        CpuExit exit = h.Cpu.Run(1000);

        Assert.Equal(CpuExitReason.TripleFault, exit.Reason);
        Assert.NotNull(exit.Detail);
        Assert.Contains("triple fault", exit.Detail);
        Assert.Contains("EAX=DEADBEEF", exit.Detail);
        Assert.Contains("ESI=0BADF00D", exit.Detail);
        Assert.Contains($"EIP={p.Address + 10:X8}", exit.Detail);
        Assert.Equal(H.NoVector, h.LastVector);
    }

    [Fact]
    public void TripleFaultWhenEveryGateIsMissing()
    {
        var h = new H();
        for (int v = 0; v < 32; v++)
        {
            h.SetGate(v, H.StubAddress(v), present: false);
        }
        var a = new Assembler(32);
        a.xor(ecx, ecx);
        a.div(ecx);
        h.Load(a);

        CpuExit exit = h.Cpu.Run(1000);

        Assert.Equal(CpuExitReason.TripleFault, exit.Reason);
        Assert.Contains("#", exit.Detail);
    }

    [Fact]
    public void NullDataSegmentAccessRaisesGeneralProtection()
    {
        var h = new H();
        var a = new Assembler(32);
        Label fault = a.CreateLabel();
        a.xor(eax, eax);
        a.mov(es, ax);
        a.Label(ref fault);
        a.mov(__dword_ptr.es[H.DataBase], eax);
        a.hlt();
        GuestProgram p = h.Load(a);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.GP);
        Assert.Equal(0u, h.Stack(0));
        Assert.Equal(p[fault], h.Stack(1));
    }

    [Fact]
    public void ExecutingBeyondRamIsRepeatableAndDoesNotEscape()
    {
        // Open bus reads 0xFF: "FF FF" is an invalid encoding, so each visit is a #UD. Running the
        // same out-of-RAM address twice exercises the decoded-block cache for a non-RAM page.
        var h = new H();
        var a = new Assembler(32);
        a.mov(eax, 0x0050_0000);
        a.jmp(eax);
        GuestProgram p = h.Load(a);

        h.RunUntilHalt();
        h.AssertStopped(Vectors.UD);
        Assert.Equal(0x0050_0000u, h.Stack(0));

        h.Cpu.Esp = H.Ring0StackTop;
        h.Restart(p.Address);
        h.RunUntilHalt();
        h.AssertStopped(Vectors.UD);
        Assert.Equal(2u, h.ExceptionCount);
    }

    [Fact]
    public void ExecutingBeyondRamThroughPagingIsRepeatable()
    {
        var h = new H();
        h.EnablePaging();
        h.Map(0x0050_0000, 0x0080_0000, H.PteP | H.PteRw); // a frame past the end of RAM
        var a = new Assembler(32);
        a.mov(eax, 0x0050_0000);
        a.jmp(eax);
        GuestProgram p = h.Load(a);

        for (int i = 1; i <= 3; i++)
        {
            h.Cpu.Esp = H.Ring0StackTop;
            h.Restart(p.Address);
            h.RunUntilHalt();
            h.AssertStopped(Vectors.UD);
            Assert.Equal((uint)i, h.ExceptionCount);
        }
    }

    [Fact]
    public void InstructionCrossingTheEndOfRamIsRepeatable()
    {
        // "mov eax, imm32" whose immediate runs past the last RAM byte: the tail reads 0xFF.
        var h = new H();
        uint start = H.RamSize - 2;
        h.Memory.Load(start, [0xB8, 0x11]);
        var a = new Assembler(32);
        a.mov(ebx, start);
        a.jmp(ebx);
        GuestProgram p = h.Load(a);

        for (int i = 0; i < 3; i++)
        {
            h.Cpu.Esp = H.Ring0StackTop;
            h.Restart(p.Address);
            CpuExit exit = h.Cpu.Run(3);
            Assert.Equal(CpuExitReason.InstructionLimit, exit.Reason);
            Assert.Equal(0xFFFF_FF11u, h.Cpu.Eax);
        }
    }
}
