using Iced.Intel;
using Vmi.Cpu.Tests.Support;
using static Iced.Intel.AssemblerRegisters;
using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests.SystemLevel;

/// <summary>
/// #DB as the SDM (Vol. 3, 17.3) defines it: single-step traps from EFLAGS.TF with the MOV SS and
/// STI rules, DR0–DR3 code, data and I/O breakpoints armed by DR7, RF, DR7.GD and ICEBP. The
/// #DB handler used here counts, records the return EIP, the pushed EFLAGS and DR6, clears DR6
/// and returns; a code breakpoint's handler may set RF in the frame.
/// </summary>
public sealed class DebugExceptionTests
{
    private const uint Count = H.DataBase, LastEip = H.DataBase + 4, LastFlags = H.DataBase + 8, Dr6Seen = H.DataBase + 12;
    private const uint EipLog = H.DataBase + 0x100, FlagsLog = H.DataBase + 0x400;
    private const uint Watched = H.DataBase + 0x800;

    /// <summary>
    /// A #DB handler: logs each return EIP, keeps the last pushed EFLAGS, ORs DR6 into Dr6Seen and
    /// clears DR6. With <paramref name="setResumeFlag"/> it sets RF in the frame (what a debugger
    /// does after a code breakpoint).
    /// </summary>
    private static void EmitHandler(Assembler a, LabelAddresses l, bool setResumeFlag)
    {
        l.Define(a, "db");
        a.push(eax);
        a.push(ebx);
        a.mov(ebx, __dword_ptr[Count]);
        a.mov(eax, __dword_ptr[esp + 8]);
        a.mov(__dword_ptr[ebx * 4 + EipLog], eax);
        a.mov(__dword_ptr[LastEip], eax);
        a.inc(__dword_ptr[Count]);
        a.mov(eax, __dword_ptr[esp + 16]);
        a.mov(__dword_ptr[LastFlags], eax);
        a.mov(__dword_ptr[ebx * 4 + FlagsLog], eax);
        a.mov(eax, dr6);
        a.or(__dword_ptr[Dr6Seen], eax);
        a.xor(eax, eax);
        a.mov(dr6, eax);
        if (setResumeFlag)
        {
            a.or(__dword_ptr[esp + 16], (int)EFlags.RF);
        }
        a.pop(ebx);
        a.pop(eax);
        a.iretd();
    }

    private static (H H, GuestProgram P) Load(Action<Assembler, LabelAddresses> body, bool setResumeFlag = false)
    {
        var h = new H();
        GuestProgram p = h.Load((a, l) =>
        {
            body(a, l);
            a.hlt();
            EmitHandler(a, l, setResumeFlag);
        });
        h.SetGate(Vectors.DB, p["db"]);
        return (h, p);
    }

    private static uint[] Eips(H h) => [.. Enumerable.Range(0, (int)h.Memory.Read32(Count)).Select(i => h.Memory.Read32(EipLog + (uint)(4 * i)))];

    private static void SetTf(Assembler a)
    {
        a.pushfd();
        a.or(__dword_ptr[esp], (int)EFlags.TF);
        a.popfd();
    }

    private static void ClearTf(Assembler a)
    {
        a.pushfd();
        a.and(__dword_ptr[esp], ~(int)EFlags.TF);
        a.popfd();
    }

    [Fact]
    public void TrapFlagTrapsAfterEachInstructionButNotAfterThePopfThatSetsIt()
    {
        // The case QEMU counts 7 #DB for: 4 NOPs, then PUSHF, AND and the POPF that clears TF
        // (TF was set when it began); the POPF that set TF does not trap.
        (H h, GuestProgram p) = Load((a, l) =>
        {
            SetTf(a);
            l.Define(a, "n1");
            a.nop();
            a.nop();
            a.nop();
            a.nop();
            ClearTf(a);
            l.Define(a, "end");
        });

        h.RunUntilHalt();

        uint[] eips = Eips(h);
        Assert.Equal(7, eips.Length);
        Assert.Equal(p["n1"] + 1, eips[0]); // a trap: EIP past the instruction
        Assert.Equal(p["end"], eips[^1]);
        Assert.Equal(DebugBits.BS, h.Memory.Read32(Dr6Seen) & (DebugBits.BS | DebugBits.BreakpointHits));
        Assert.Equal(EFlags.TF, h.Memory.Read32(FlagsLog) & (EFlags.TF | EFlags.RF)); // the frame holds TF, RF clear
        Assert.Equal(0u, h.Memory.Read32(LastFlags) & EFlags.TF); // the last trap came after TF was cleared
        Assert.Equal(0u, h.Cpu.Eflags & EFlags.TF);
    }

    [Fact]
    public void MovSsDelaysTheTrapPastTheNextInstruction()
    {
        (H h, GuestProgram p) = Load((a, l) =>
        {
            SetTf(a);
            a.mov(ax, ss);
            l.Define(a, "movss");
            a.mov(ss, ax);
            a.nop();
            l.Define(a, "afternop");
            ClearTf(a);
        });

        h.RunUntilHalt();

        uint[] eips = Eips(h);
        // mov ax,ss traps; mov ss,ax does not (shadow); the NOP after it does, once.
        Assert.Equal(p["movss"], eips[0]);
        Assert.Equal(p["afternop"], eips[1]);
        Assert.Equal(5, eips.Length);
    }

    [Fact]
    public void StiDoesNotDelayTheSingleStepTrap()
    {
        (H h, GuestProgram p) = Load((a, l) =>
        {
            SetTf(a);
            l.Define(a, "sti");
            a.sti();
            l.Define(a, "after");
            a.cli();
            ClearTf(a);
        });

        h.RunUntilHalt();

        Assert.Equal(p["after"], Eips(h)[0]);
    }

    [Fact]
    public void AnInstructionThatEntersAHandlerDoesNotTrap()
    {
        // INT n clears TF on the way into its handler: no #DB after INT, and none inside the
        // handler; the trap resumes after IRET has restored TF.
        (H h, GuestProgram p) = Load((a, l) =>
        {
            SetTf(a);
            l.Define(a, "int");
            a.@int(0x40);
            l.Define(a, "afterint");
            a.nop();
            l.Define(a, "afternop");
            ClearTf(a);
            l.Define(a, "isr");
            a.nop();
            a.nop();
            a.iretd();
        });
        h.SetGate(0x40, p["isr"]);

        h.RunUntilHalt();

        uint[] eips = Eips(h);
        Assert.DoesNotContain(p["afterint"], eips);
        Assert.DoesNotContain(p["isr"] + 1, eips);
        Assert.Contains(p["afternop"], eips);
    }

    [Fact]
    public void AFaultingInstructionFaultsInsteadOfTrapping()
    {
        (H h, _) = Load((a, l) =>
        {
            SetTf(a);
            a.ud2();
        });

        h.RunUntilHalt();

        h.AssertStopped(Vectors.UD);
        Assert.Equal(0u, h.Memory.Read32(Count));
    }

    [Fact]
    public void CodeBreakpointFaultsBeforeTheInstructionAndRfLetsItRunOnce()
    {
        (H h, GuestProgram p) = Load((a, l) =>
        {
            a.mov(eax, l["target"]);
            a.mov(dr0, eax);
            a.mov(eax, 0x1); // L0, R/W0 = 00 (execute), LEN0 = 00
            a.mov(dr7, eax);
            a.xor(edx, edx);
            l.Define(a, "target");
            a.inc(edx);
            a.xor(eax, eax);
            a.mov(dr7, eax);
        }, setResumeFlag: true);

        h.RunUntilHalt();

        Assert.Equal([p["target"]], Eips(h)); // a fault: EIP at the instruction, taken once
        Assert.Equal(1u, h.Memory.Read32(Dr6Seen) & DebugBits.BreakpointHits);
        Assert.Equal(0u, h.Memory.Read32(LastFlags) & EFlags.RF); // pushed as it was (0): the handler sets it
        Assert.Equal(1u, h.Cpu.Edx);
        Assert.Equal(0u, h.Cpu.Eflags & EFlags.RF); // cleared once the instruction ran
    }

    [Fact]
    public void WithoutRfTheCodeBreakpointFiresAgainAndAgain()
    {
        (H h, GuestProgram p) = Load((a, l) =>
        {
            a.mov(eax, l["target"]);
            a.mov(dr0, eax);
            a.mov(eax, 0x2); // G0
            a.mov(dr7, eax);
            l.Define(a, "target");
            a.nop();
        }, setResumeFlag: false);

        Assert.Equal(CpuExitReason.InstructionLimit, h.Cpu.Run(500).Reason);

        Assert.True(h.Memory.Read32(Count) > 10);
        Assert.All(Eips(h), e => Assert.Equal(p["target"], e));
    }

    [Theory]
    [InlineData(1, false, true)]  // R/W = 01: writes only
    [InlineData(1, true, false)]
    [InlineData(3, true, true)]   // R/W = 11: reads and writes
    [InlineData(3, false, true)]
    public void DataBreakpointTrapsAfterTheAccess(int rw, bool read, bool expectTrap)
    {
        (H h, GuestProgram p) = Load((a, l) =>
        {
            a.mov(eax, Watched + 2); // DR1 aligned down to the 4-byte length: covers Watched..+3
            a.mov(dr1, eax);
            a.mov(eax, (1 << 2) | (rw << 20) | (3 << 22));
            a.mov(dr7, eax);
            l.Define(a, "access");
            if (read)
            {
                a.mov(ecx, __dword_ptr[Watched + 1]);
            }
            else
            {
                a.mov(__byte_ptr[Watched + 3], 7);
            }
            l.Define(a, "after");
            a.mov(__dword_ptr[Watched + 4], 9); // next to it: never a hit
            a.xor(eax, eax);
            a.mov(dr7, eax);
        });

        h.RunUntilHalt();

        Assert.Equal(expectTrap ? [p["after"]] : Array.Empty<uint>(), Eips(h));
        Assert.Equal(expectTrap ? 2u : 0u, h.Memory.Read32(Dr6Seen) & DebugBits.BreakpointHits);
        Assert.Equal(9u, h.Memory.Read32(Watched + 4));
    }

    [Fact]
    public void DataBreakpointInARepStopsBetweenIterationsWithRfPushed()
    {
        (H h, GuestProgram p) = Load((a, l) =>
        {
            a.mov(eax, Watched + 8);
            a.mov(dr0, eax);
            a.mov(eax, 0x1 | (1 << 16)); // L0, write, 1 byte
            a.mov(dr7, eax);
            a.mov(edi, Watched);
            a.mov(ecx, 32);
            a.mov(al, 0x5A);
            l.Define(a, "rep");
            a.rep.stosb();
            a.xor(eax, eax);
            a.mov(dr7, eax);
        });

        h.RunUntilHalt();

        Assert.Equal([p["rep"]], Eips(h)); // between iterations EIP stays at the REP
        Assert.Equal(EFlags.RF, h.Memory.Read32(LastFlags) & EFlags.RF);
        Assert.Equal(0u, h.Cpu.Ecx);
        Assert.Equal(0x5A5A_5A5Au, h.Memory.Read32(Watched + 28));
    }

    [Fact]
    public void SingleStepTrapsAfterEachRepIteration()
    {
        (H h, GuestProgram p) = Load((a, l) =>
        {
            a.mov(edi, Watched);
            a.mov(ecx, 3);
            SetTf(a);
            l.Define(a, "rep");
            a.rep.stosb();
            l.Define(a, "after");
            ClearTf(a);
        });

        h.RunUntilHalt();

        uint[] eips = Eips(h);
        Assert.Equal([p["rep"], p["rep"], p["after"]], eips[..3]);
    }

    [Fact]
    public void IoBreakpointNeedsCr4DeAndTrapsAfterTheOut()
    {
        (H h, GuestProgram p) = Load((a, l) =>
        {
            a.mov(eax, 0x80);
            a.mov(dr2, eax);
            a.mov(eax, (1 << 4) | (2 << 24)); // L2, R/W2 = 10 (I/O), 1 byte
            a.mov(dr7, eax);
            a.@out(0x80, al); // no CR4.DE: R/W = 10 is undefined, nothing happens
            a.mov(eax, cr4);
            a.or(eax, (int)Cr4Bits.DE);
            a.mov(cr4, eax);
            a.@out(0x80, al);
            l.Define(a, "after");
            a.xor(eax, eax);
            a.mov(dr7, eax);
        });

        h.RunUntilHalt();

        Assert.Equal([p["after"]], Eips(h));
        Assert.Equal(4u, h.Memory.Read32(Dr6Seen) & DebugBits.BreakpointHits);
    }

    [Fact]
    public void GeneralDetectFaultsOnMovDrAndClearsGd()
    {
        (H h, GuestProgram p) = Load((a, l) =>
        {
            a.mov(eax, (int)DebugBits.GD);
            a.mov(dr7, eax);
            l.Define(a, "movdr");
            a.mov(ebx, dr0);
        });

        h.RunUntilHalt();

        Assert.Equal(p["movdr"], Eips(h)[0]); // a fault at the MOV DR
        Assert.Equal(DebugBits.BD, h.Memory.Read32(Dr6Seen) & DebugBits.BD);
        Assert.Equal(0u, h.Cpu.Dr[7] & DebugBits.GD);
    }

    [Fact]
    public void IcebpRaisesDebugTrapWithoutGateDplCheck()
    {
        // From ring 3 through a DPL-0 gate: INT 1 would #GP, ICEBP (F1) delivers #DB.
        (H h, GuestProgram p) = Load((a, l) =>
        {
            l.Define(a, "user");
            a.db(0xF1);
            l.Define(a, "after");
            a.jmp(l["after"]);
        });
        h.EnterRing(3, p["user"], H.Ring3StackTop);

        Assert.Equal(CpuExitReason.InstructionLimit, h.Cpu.Run(20).Reason);

        Assert.Equal(p["after"], Eips(h)[0]);
        Assert.Equal(0u, h.Memory.Read32(Dr6Seen) & (DebugBits.BS | DebugBits.BreakpointHits));
    }

    [Fact]
    public void DebugRegistersResetAndKeepTheirFixedBits()
    {
        var h = new H();
        Assert.Equal(DebugBits.Dr6Init, h.Cpu.Dr[6]);
        Assert.Equal(DebugBits.Dr7Init, h.Cpu.Dr[7]);
        var a = new Assembler(32);
        a.xor(eax, eax);
        a.mov(dr6, eax);
        a.mov(dr7, eax);
        a.mov(ebx, dr6);
        a.mov(ecx, dr7);
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        Assert.Equal(0xFFFF_0FF0u, h.Cpu.Ebx);
        Assert.Equal(0x0000_0400u, h.Cpu.Ecx);
    }
}
