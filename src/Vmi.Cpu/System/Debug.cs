using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Vmi.Cpu.Decode;

namespace Vmi.Cpu;

/// <summary>DR6 and DR7 bits (SDM Vol. 3, 17.2).</summary>
public static class DebugBits
{
    /// <summary>DR6: B0–B3, the breakpoint conditions that were met.</summary>
    public const uint B0 = 1u << 0, BreakpointHits = 0xF;

    /// <summary>DR6: BD (a MOV DR while DR7.GD was set), BS (single step), BT (task switch).</summary>
    public const uint BD = 1u << 13, BS = 1u << 14, BT = 1u << 15;

    /// <summary>DR6 bits that always read as 1 on P6 and later (4–11, 16–31); bit 12 reads as 0.</summary>
    public const uint Dr6Fixed1 = 0xFFFF_0FF0;

    /// <summary>DR6 after RESET.</summary>
    public const uint Dr6Init = Dr6Fixed1;

    /// <summary>DR7: GD (general detect); bit 10 always reads as 1; bits 11, 12, 14, 15 as 0.</summary>
    public const uint GD = 1u << 13, Dr7Fixed1 = 1u << 10, Dr7Writable = 0xFFFF_23FF;

    public const uint Dr7Init = Dr7Fixed1;
}

/// <summary>
/// Debug exceptions as the SDM defines them (Vol. 3, 17.3): EFLAGS.TF single-step traps after each
/// instruction that began with TF set (not after one that entered an interrupt handler, which clears
/// TF; delayed past the instruction after MOV SS/POP SS, but not after STI); DR0–DR3 instruction
/// breakpoints (faults, checked before the fetch, suppressed by RF), data breakpoints (traps after
/// the access, one per access size and alignment), I/O breakpoints with CR4.DE; DR7.GD; and RF,
/// cleared at the start of each instruction and pushed as 1 for faults and for events between the
/// iterations of a REP. Nothing here costs anything while TF, RF and code breakpoints are off: data
/// breakpoint pages are kept out of the TLB so only the slow access path checks them.
/// </summary>
public sealed unsafe partial class Cpu
{
    /// <summary>DR6 bits of debug traps raised by the current instruction, delivered after it retires.</summary>
    internal uint pendingDebug;

    /// <summary>Set by MOV SS / POP SS: debug traps wait until the next instruction has run.</summary>
    internal bool debugShadow;

    /// <summary>
    /// The last REP stopped between iterations: an event taken now pushes RF = 1. Set only there;
    /// cleared when the REP runs again and when an event has been delivered, so the hot loop never touches it.
    /// </summary>
    internal bool midRepeat;

    /// <summary>The current instruction entered a handler through INT n / INT3 / INTO / INT1 (TF is then clear: no step trap).</summary>
    internal bool softwareInterruptTaken;

    /// <summary>Enabled DR7 breakpoints by kind, as bit n for DRn.</summary>
    internal uint instructionBreakpoints, dataBreakpoints, ioBreakpoints;

    private readonly uint[] dataBreakpointPages = new uint[4];

    private static int BreakpointType(uint dr7, int n) => (int)((dr7 >> (16 + 4 * n)) & 3);

    private static uint BreakpointLength(uint dr7, int n) => ((dr7 >> (18 + 4 * n)) & 3) switch
    {
        0 => 1,
        1 => 2,
        2 => 8, // undefined on 32-bit parts; Pentium 4 and later treat it as 8 bytes
        _ => 4,
    };

    /// <summary>Recomputes the armed breakpoints after a write to DR0–DR3, DR7 or CR4 (DE changes what RW=10 means).</summary>
    internal void DebugRegistersChanged()
    {
        uint dr7 = Dr[7];
        uint code = 0, data = 0, io = 0;
        for (int n = 0; n < 4; n++)
        {
            if (((dr7 >> (2 * n)) & 3) == 0)
            {
                continue;
            }
            switch (BreakpointType(dr7, n))
            {
                case 0: code |= 1u << n; break;
                case 2:
                    // RW=10 is an I/O breakpoint with CR4.DE, undefined without it: this CPU ignores it then.
                    if ((Cr4Value & Cr4Bits.DE) != 0) io |= 1u << n;
                    break;
                default: data |= 1u << n; break;
            }
        }
        instructionBreakpoints = code;
        ioBreakpoints = io;
        bool pagesChanged = data != dataBreakpoints;
        for (int n = 0; n < 4; n++)
        {
            uint page = (data & (1u << n)) != 0 ? Dr[n] >> 12 : uint.MaxValue;
            pagesChanged |= page != dataBreakpointPages[n];
            dataBreakpointPages[n] = page;
        }
        dataBreakpoints = data;
        if (pagesChanged)
        {
            // Watched pages must take the slow access path from now on; others may come back to the TLB.
            FlushTlbAll();
        }
    }

    /// <summary>True if <paramref name="page"/> (linear, 4 KiB) holds an armed data breakpoint: such pages never enter the TLB.</summary>
    internal bool IsDataBreakpointPage(uint page)
    {
        for (int n = 0; n < 4; n++)
        {
            if (dataBreakpointPages[n] == page)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Called by the slow access path after a successful data access.</summary>
    internal void CheckDataBreakpoints(uint lin, int size, bool write)
    {
        uint dr7 = Dr[7];
        uint hits = 0;
        for (int n = 0; n < 4; n++)
        {
            if ((dataBreakpoints & (1u << n)) == 0 || (!write && BreakpointType(dr7, n) == 1))
            {
                continue;
            }
            uint len = BreakpointLength(dr7, n);
            uint start = Dr[n] & ~(len - 1);
            if (lin - start < len || start - lin < (uint)size)
            {
                hits |= 1u << n;
            }
        }
        if (hits != 0)
        {
            pendingDebug |= hits;
            execLimit = 0; // the trap is taken after this instruction (or this REP iteration)
        }
    }

    /// <summary>Called by IN/OUT/INS/OUTS: I/O breakpoints are traps on the port range.</summary>
    internal void CheckIoBreakpoints(ushort port, int size)
    {
        uint dr7 = Dr[7];
        uint hits = 0;
        for (int n = 0; n < 4; n++)
        {
            if ((ioBreakpoints & (1u << n)) == 0)
            {
                continue;
            }
            uint len = BreakpointLength(dr7, n);
            uint start = Dr[n] & 0xFFFF & ~(len - 1);
            if ((uint)port - start < len || start - port < (uint)size)
            {
                hits |= 1u << n;
            }
        }
        if (hits != 0)
        {
            pendingDebug |= hits;
            execLimit = 0;
        }
    }

    private uint InstructionBreakpointHits(uint lin)
    {
        uint hits = 0;
        for (int n = 0; n < 4; n++)
        {
            if ((instructionBreakpoints & (1u << n)) != 0 && Dr[n] == lin)
            {
                hits |= 1u << n;
            }
        }
        return hits;
    }

    /// <summary>
    /// One instruction under the debug rules, in the architectural order: a code breakpoint (fault,
    /// unless RF), the fetch, RF cleared, the instruction, then the traps it raised (single step, data
    /// and I/O breakpoints) in one #DB, unless it entered a handler or a MOV SS shadow delays them.
    /// </summary>
    private void StepWithDebugRules()
    {
        uint lin = csBase + Eip;
        if ((flagsRest & EFlags.RF) == 0 && instructionBreakpoints != 0 && InstructionBreakpointHits(lin) is uint hits and not 0)
        {
            Dr[6] |= hits;
            pendingFault = new CpuFault(Vectors.DB, false, 0);
            DeliverPendingFault();
            return;
        }
        int blockIndex = FindBlock();
        if (blockIndex < 0)
        {
            if (!stopRequested) DeliverPendingFault();
            return;
        }
        bool stepping = (flagsRest & EFlags.TF) != 0;
        flagsRest &= ~EFlags.RF;
        softwareInterruptTaken = false;
        midRepeat = false;
        ref Block b = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(blocks.Slots), blockIndex);
        ref Uop u = ref blocks.Pool[b.First];
        execLimit = 1;
        int status = Execute(ref u);
        if (status == Status.Next)
        {
            Eip = (Eip + u.Length) & ((csMode & 1) != 0 ? 0xFFFF_FFFFu : 0xFFFFu);
        }
        if (status is Status.Fault or Status.Abort)
        {
            pendingDebug = 0;
            faultingLength = u.Length;
            if (status == Status.Fault) DeliverPendingFault();
            return;
        }
        InstructionsRetired++;
        BlockExecuted?.Invoke(lin, 1);
        if (stepping && !softwareInterruptTaken)
        {
            pendingDebug |= DebugBits.BS;
        }
        if (pendingDebug != 0 && !debugShadow)
        {
            DeliverDebugTrap();
        }
    }

    /// <summary>Delivers the #DB trap for <see cref="pendingDebug"/>; EIP already points past the instruction.</summary>
    internal void DeliverDebugTrap()
    {
        Dr[6] |= pendingDebug;
        pendingDebug = 0;
        pendingFault = new CpuFault(Vectors.DB, false, 0);
        DeliverPendingFault();
    }

    /// <summary>
    /// The RF value pushed with an event (SDM 17.3.1.1): 1 for fault-class exceptions other than a
    /// code-breakpoint #DB, and for any event between the iterations of a REP; otherwise RF as it is.
    /// </summary>
    internal static uint PushedResumeFlag(int vector, InterruptSource source, bool betweenRepIterations)
    {
        bool fault = source == InterruptSource.Exception && vector is not (Vectors.DB or Vectors.BP or Vectors.OF);
        return fault || betweenRepIterations ? EFlags.RF : 0;
    }

    /// <summary>DR7.GD: any MOV DR raises a #DB fault with DR6.BD, and GD clears so the handler may use them.</summary>
    internal bool GeneralDetect()
    {
        if ((Dr[7] & DebugBits.GD) == 0)
        {
            return false;
        }
        Dr[6] |= DebugBits.BD;
        Dr[7] &= ~DebugBits.GD;
        Fault(Vectors.DB);
        return true;
    }
}
