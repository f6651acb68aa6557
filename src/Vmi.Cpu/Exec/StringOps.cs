using Vmi.Cpu.Decode;

namespace Vmi.Cpu;

/// <summary>
/// MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS with REP/REPE/REPNE. A repeated instruction runs at
/// most <see cref="MaxRepeatChunk"/> iterations per execution and then re-executes itself (EIP
/// unchanged), so a long REP is interruptible at deterministic points and each chunk counts as
/// one retired instruction. Registers are updated per iteration, so a fault leaves ESI/EDI/ECX
/// pointing at the element that faulted, as on hardware.
/// </summary>
public sealed unsafe partial class Cpu
{
    internal const int MaxRepeatChunk = 4096;

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
            if (!CheckIoPermission(port, size)) return Status.Fault;
        }

        for (int n = 0; ; n++)
        {
            if (rep)
            {
                uint count = R(Reg.Ecx) & amask;
                if (count == 0) return Status.Next;
                if (n == MaxRepeatChunk) return Status.Jump; // EIP unchanged: the instruction continues next time
            }
            uint esi = R(Reg.Esi) & amask, edi = R(Reg.Edi) & amask;
            switch (kind)
            {
                case StringKind.Movs:
                    {
                        if (!ReadSeg(u.Seg, esi, size, out uint v)) return Status.Fault;
                        if (!WriteSeg(SegReg.Es, edi, size, v)) return Status.Fault;
                        AdvanceIndex(Reg.Esi, step, amask);
                        AdvanceIndex(Reg.Edi, step, amask);
                        break;
                    }
                case StringKind.Stos:
                    if (!WriteSeg(SegReg.Es, edi, size, GetReg(size, Reg.Eax))) return Status.Fault;
                    AdvanceIndex(Reg.Edi, step, amask);
                    break;
                case StringKind.Lods:
                    {
                        if (!ReadSeg(u.Seg, esi, size, out uint v)) return Status.Fault;
                        SetReg(size, Reg.Eax, v);
                        AdvanceIndex(Reg.Esi, step, amask);
                        break;
                    }
                case StringKind.Cmps:
                    {
                        if (!ReadSeg(u.Seg, esi, size, out uint a) || !ReadSeg(SegReg.Es, edi, size, out uint b)) return Status.Fault;
                        Alu(AluKind.Cmp, size, a, b);
                        AdvanceIndex(Reg.Esi, step, amask);
                        AdvanceIndex(Reg.Edi, step, amask);
                        break;
                    }
                case StringKind.Scas:
                    {
                        if (!ReadSeg(SegReg.Es, edi, size, out uint b)) return Status.Fault;
                        Alu(AluKind.Cmp, size, GetReg(size, Reg.Eax), b);
                        AdvanceIndex(Reg.Edi, step, amask);
                        break;
                    }
                case StringKind.Ins:
                    {
                        // Check the destination before the port read: a device read can have side effects.
                        if (!ProbeWriteSeg(SegReg.Es, edi, size)) return Status.Fault;
                        uint v = PortIn((ushort)R(Reg.Edx), size);
                        if (!WriteSeg(SegReg.Es, edi, size, v)) return Status.Fault;
                        AdvanceIndex(Reg.Edi, step, amask);
                        break;
                    }
                default: // Outs
                    {
                        if (!ReadSeg(u.Seg, esi, size, out uint v)) return Status.Fault;
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
                    return Status.Next;
                }
            }
            if (kind is StringKind.Ins or StringKind.Outs && stopRequested)
            {
                // A device asked to stop (debug exit): leave with the iteration retired.
                return (R(Reg.Ecx) & amask) == 0 ? Status.Next : Status.Jump;
            }
        }
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
