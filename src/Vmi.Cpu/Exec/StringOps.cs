using Vmi.Cpu.Decode;

namespace Vmi.Cpu;

/// <summary>
/// MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS with REP/REPE/REPNE. Every iteration of a repeated
/// instruction counts as one instruction toward the run's budget and guest time, as QEMU's icount
/// counts them, so a budget bounds the work really done. A REP runs first in its block (exact
/// count), runs at most as many iterations as the budget has left, and otherwise stops between
/// iterations with EIP unchanged, as hardware does for an interrupt, a single-step trap or a data
/// breakpoint. Registers are updated per iteration, so a fault leaves ESI/EDI/ECX pointing at the
/// element that faulted.
/// </summary>
public sealed unsafe partial class Cpu
{
    internal int StringOp(ref Uop u)
    {
        int size = u.Size;
        bool a16 = u.Size2 == 2;
        uint amask = a16 ? 0xFFFFu : 0xFFFF_FFFFu;
        int step = DF ? -size : size;
        bool rep = (u.Flags & UopFlags.Rep) != 0;
        int kind = u.Sub;

        if (kind is StringKind.Ins or StringKind.Outs)
        {
            ushort port = (ushort)R(Reg.Edx);
            if (!CheckIoPermission(port, size))
            {
                return AttachInstruction(Describe(kind == StringKind.Ins ? SensitiveOp.StringPortIn : SensitiveOp.StringPortOut, ref u) with { Operand = port, Size = size });
            }
        }

        // Iterations this execution may run: what is left of the run (the REP is first in its block, so
        // InstructionsRetired is exact), one under single-step (TF traps after every iteration).
        long budget = (flagsRest & EFlags.TF) != 0 ? 1 : Math.Max(1, runTarget - InstructionsRetired);
        midRepeat = false;
        for (long n = 0; ; n++)
        {
            if (rep)
            {
                uint count = R(Reg.Ecx) & amask;
                if (count == 0) return RepeatDone(n);
                if (n == budget || (n > 0 && execLimit == 0))
                {
                    // Out of budget, or an event (interrupt line, stop, data breakpoint, code written) wants
                    // the boundary: EIP unchanged, the instruction continues when it next runs.
                    InstructionsRetired += n - 1;
                    midRepeat = true;
                    return Status.Jump;
                }
            }
            uint esi = R(Reg.Esi) & amask, edi = R(Reg.Edi) & amask;
            switch (kind)
            {
                case StringKind.Movs:
                    {
                        if (!ReadSeg(u.Seg, esi, size, out uint v)) return RepeatFaulted(n);
                        if (!WriteSeg(SegReg.Es, edi, size, v)) return RepeatFaulted(n);
                        AdvanceIndex(Reg.Esi, step, amask);
                        AdvanceIndex(Reg.Edi, step, amask);
                        break;
                    }
                case StringKind.Stos:
                    if (!WriteSeg(SegReg.Es, edi, size, GetReg(size, Reg.Eax))) return RepeatFaulted(n);
                    AdvanceIndex(Reg.Edi, step, amask);
                    break;
                case StringKind.Lods:
                    {
                        if (!ReadSeg(u.Seg, esi, size, out uint v)) return RepeatFaulted(n);
                        SetReg(size, Reg.Eax, v);
                        AdvanceIndex(Reg.Esi, step, amask);
                        break;
                    }
                case StringKind.Cmps:
                    {
                        if (!ReadSeg(u.Seg, esi, size, out uint a) || !ReadSeg(SegReg.Es, edi, size, out uint b)) return RepeatFaulted(n);
                        Alu(AluKind.Cmp, size, a, b);
                        AdvanceIndex(Reg.Esi, step, amask);
                        AdvanceIndex(Reg.Edi, step, amask);
                        break;
                    }
                case StringKind.Scas:
                    {
                        if (!ReadSeg(SegReg.Es, edi, size, out uint b)) return RepeatFaulted(n);
                        Alu(AluKind.Cmp, size, GetReg(size, Reg.Eax), b);
                        AdvanceIndex(Reg.Edi, step, amask);
                        break;
                    }
                case StringKind.Ins:
                    {
                        // Check the destination before the port read: a device read can have side effects.
                        if (!ProbeWriteSeg(SegReg.Es, edi, size)) return RepeatFaulted(n);
                        uint v = PortIn((ushort)R(Reg.Edx), size);
                        if (!WriteSeg(SegReg.Es, edi, size, v)) return RepeatFaulted(n);
                        AdvanceIndex(Reg.Edi, step, amask);
                        break;
                    }
                default: // Outs
                    {
                        if (!ReadSeg(u.Seg, esi, size, out uint v)) return RepeatFaulted(n);
                        PortOut((ushort)R(Reg.Edx), size, v);
                        AdvanceIndex(Reg.Esi, step, amask);
                        break;
                    }
            }
            if (!rep) return Status.Next;
            DecrementCounter(amask);
            if (kind is StringKind.Cmps or StringKind.Scas)
            {
                bool repne = (u.Flags & UopFlags.RepNe) != 0;
                if (repne == ZF)
                {
                    return RepeatDone(n + 1);
                }
            }
        }
    }

    /// <summary>The REP finished after <paramref name="iterations"/>; the run loop retires the last one (a REP with ECX = 0 counts once).</summary>
    private int RepeatDone(long iterations)
    {
        if (iterations > 1)
        {
            InstructionsRetired += iterations - 1;
        }
        return Status.Next;
    }

    /// <summary>An iteration faulted: the ones before it did their work and count; the faulting one does not retire.</summary>
    private int RepeatFaulted(long completed)
    {
        InstructionsRetired += completed;
        return Status.Fault;
    }

    private void AdvanceIndex(int reg, int step, uint amask)
    {
        ref uint r = ref R(reg);
        r = (r & ~amask) | ((r + (uint)step) & amask);
    }

    private void DecrementCounter(uint amask)
    {
        ref uint c = ref R(Reg.Ecx);
        c = (c & ~amask) | ((c - 1) & amask);
    }
}
