using System.Runtime.CompilerServices;
using Vmi.Cpu.Decode;

namespace Vmi.Cpu;

/// <summary>ADD, OR, ADC, SBB, AND, SUB, XOR, CMP, TEST, INC, DEC, NOT, NEG.</summary>
public sealed unsafe partial class Cpu
{
    /// <summary>Computes an ALU operation, records the flags, returns the result (operands already truncated).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal uint Alu(int kind, int size, uint a, uint b)
    {
        uint mask = SizeMask(size);
        uint r;
        switch (kind)
        {
            case AluKind.Add:
                r = (a + b) & mask;
                SetFlagsArith(FlagOp.Add, size, a, b, r);
                return r;
            case AluKind.Or:
                r = a | b;
                SetFlagsLogic(size, r);
                return r;
            case AluKind.Adc:
                {
                    uint c = CF ? 1u : 0;
                    r = (a + b + c) & mask;
                    lazyCarry = c;
                    SetFlagsArith(FlagOp.Adc, size, a, b, r);
                    return r;
                }
            case AluKind.Sbb:
                {
                    uint c = CF ? 1u : 0;
                    r = (a - b - c) & mask;
                    lazyCarry = c;
                    SetFlagsArith(FlagOp.Sbb, size, a, b, r);
                    return r;
                }
            case AluKind.And:
            case AluKind.Test:
                r = a & b;
                SetFlagsLogic(size, r);
                return r;
            case AluKind.Sub:
            case AluKind.Cmp:
                r = (a - b) & mask;
                SetFlagsArith(FlagOp.Sub, size, a, b, r);
                return r;
            default:
                r = a ^ b;
                SetFlagsLogic(size, r);
                return r;
        }
    }

    private static bool WritesBack(int kind) => kind != AluKind.Cmp && kind != AluKind.Test;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int AluRR(ref Uop u)
    {
        int size = u.Size;
        uint r = Alu(u.Sub, size, GetReg(size, u.R), GetReg(size, u.M));
        if (WritesBack(u.Sub)) SetReg(size, u.R, r);
        return Status.Next;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int AluRI(ref Uop u)
    {
        int size = u.Size;
        uint r = Alu(u.Sub, size, GetReg(size, u.R), u.Imm);
        if (WritesBack(u.Sub)) SetReg(size, u.R, r);
        return Status.Next;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int AluRM(ref Uop u)
    {
        int size = u.Size;
        if (!ReadMem(ref u, size, out uint b)) return Status.Fault;
        uint r = Alu(u.Sub, size, GetReg(size, u.R), b);
        if (WritesBack(u.Sub)) SetReg(size, u.R, r);
        return Status.Next;
    }

    internal int AluMR(ref Uop u) => AluMem(ref u, GetReg(u.Size, u.R));

    internal int AluMI(ref Uop u) => AluMem(ref u, u.Imm);

    private int AluMem(ref Uop u, uint b)
    {
        int size = u.Size;
        if (!WritesBack(u.Sub))
        {
            if (!ReadMem(ref u, size, out uint v)) return Status.Fault;
            Alu(u.Sub, size, v, b);
            return Status.Next;
        }
        // Bochs order: read (with the write check), compute into a temporary, write, and only then
        // commit the flags, so a faulting store leaves EFLAGS as they were.
        uint off = Ea(ref u);
        if (!ProbeWriteSeg(u.Seg, off, size) || !ReadSeg(u.Seg, off, size, out uint a)) return Status.Fault;
        SaveFlags(out var saved);
        uint r = Alu(u.Sub, size, a, b);
        if (!WriteSeg(u.Seg, off, size, r))
        {
            RestoreFlags(in saved);
            return Status.Fault;
        }
        return Status.Next;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int UnaryR(ref Uop u)
    {
        int size = u.Size;
        SetReg(size, u.M, Unary(u.Sub, size, GetReg(size, u.M)));
        return Status.Next;
    }

    internal int UnaryM(ref Uop u)
    {
        int size = u.Size;
        uint off = Ea(ref u);
        if (!ProbeWriteSeg(u.Seg, off, size) || !ReadSeg(u.Seg, off, size, out uint a)) return Status.Fault;
        SaveFlags(out var saved);
        uint r = Unary(u.Sub, size, a);
        if (!WriteSeg(u.Seg, off, size, r))
        {
            RestoreFlags(in saved);
            return Status.Fault;
        }
        return Status.Next;
    }

    private uint Unary(int kind, int size, uint a)
    {
        uint mask = SizeMask(size);
        uint r;
        switch (kind)
        {
            case UnaryKind.Inc:
                lazyCarry = CF ? 1u : 0;
                r = (a + 1) & mask;
                SetFlagsArith(FlagOp.Inc, size, a, 1, r);
                return r;
            case UnaryKind.Dec:
                lazyCarry = CF ? 1u : 0;
                r = (a - 1) & mask;
                SetFlagsArith(FlagOp.Dec, size, a, 1, r);
                return r;
            case UnaryKind.Not:
                return ~a & mask;
            default:
                r = (0 - a) & mask;
                SetFlagsArith(FlagOp.Sub, size, 0, a, r);
                return r;
        }
    }

    internal struct SavedFlags
    {
        public FlagOp Op;
        public int SignShift;
        public uint A, B, Res, Carry, Eager;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void SaveFlags(out SavedFlags s)
    {
        s.Op = flagOp;
        s.SignShift = flagSignShift;
        s.A = flagA;
        s.B = flagB;
        s.Res = flagRes;
        s.Carry = lazyCarry;
        s.Eager = eagerFlags;
    }

    internal void RestoreFlags(in SavedFlags s)
    {
        flagOp = s.Op;
        flagSignShift = s.SignShift;
        flagA = s.A;
        flagB = s.B;
        flagRes = s.Res;
        lazyCarry = s.Carry;
        eagerFlags = s.Eager;
    }
}
