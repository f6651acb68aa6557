using System.Runtime.CompilerServices;
using Vmi.Cpu.Decode;

namespace Vmi.Cpu;

/// <summary>MOV and friends: MOVZX/MOVSX, LEA, XCHG, CBW/CWDE/CWD/CDQ, LAHF/SAHF, XLAT, CMPXCHG, XADD, CMPXCHG8B, segment moves.</summary>
public sealed unsafe partial class Cpu
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int MovRR(ref Uop u)
    {
        SetReg(u.Size, u.R, GetReg(u.Size, u.M));
        return Status.Next;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int MovRI(ref Uop u)
    {
        SetReg(u.Size, u.R, u.Imm);
        return Status.Next;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int MovRM(ref Uop u)
    {
        if (!ReadMem(ref u, u.Size, out uint v)) return Status.Fault;
        SetReg(u.Size, u.R, v);
        return Status.Next;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int MovMR(ref Uop u) => WriteMem(ref u, u.Size, GetReg(u.Size, u.R)) ? Status.Next : Status.Fault;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int MovMI(ref Uop u) => WriteMem(ref u, u.Size, u.Imm) ? Status.Next : Status.Fault;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int MovzxRR(ref Uop u)
    {
        SetReg(u.Size, u.R, GetReg(u.Size2, u.M));
        return Status.Next;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int MovzxRM(ref Uop u)
    {
        if (!ReadMem(ref u, u.Size2, out uint v)) return Status.Fault;
        SetReg(u.Size, u.R, v);
        return Status.Next;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int MovsxRR(ref Uop u)
    {
        SetReg(u.Size, u.R, SignExtend(GetReg(u.Size2, u.M), u.Size2));
        return Status.Next;
    }

    internal int MovsxRM(ref Uop u)
    {
        if (!ReadMem(ref u, u.Size2, out uint v)) return Status.Fault;
        SetReg(u.Size, u.R, SignExtend(v, u.Size2));
        return Status.Next;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int Lea(ref Uop u)
    {
        SetReg(u.Size, u.R, Ea(ref u));
        return Status.Next;
    }

    internal int XchgRR(ref Uop u)
    {
        uint a = GetReg(u.Size, u.R), b = GetReg(u.Size, u.M);
        SetReg(u.Size, u.R, b);
        SetReg(u.Size, u.M, a);
        return Status.Next;
    }

    internal int XchgRM(ref Uop u)
    {
        if (!ReadRmw(ref u, u.Size, out uint v)) return Status.Fault;
        if (!WriteMem(ref u, u.Size, GetReg(u.Size, u.R))) return Status.Fault;
        SetReg(u.Size, u.R, v);
        return Status.Next;
    }

    internal int CbwCwde(ref Uop u)
    {
        if (u.Size == 2) SetReg(2, Reg.Eax, SignExtend(R(Reg.Eax) & 0xFF, 1));
        else R(Reg.Eax) = SignExtend(R(Reg.Eax) & 0xFFFF, 2);
        return Status.Next;
    }

    internal int CwdCdq(ref Uop u)
    {
        if (u.Size == 2) SetReg(2, Reg.Edx, (R(Reg.Eax) & 0x8000) != 0 ? 0xFFFFu : 0);
        else R(Reg.Edx) = (R(Reg.Eax) & 0x8000_0000) != 0 ? 0xFFFF_FFFFu : 0;
        return Status.Next;
    }

    internal int Lahf(ref Uop u)
    {
        SetReg(1, 4, (ArithFlags & 0xD5) | EFlags.Reserved1);
        return Status.Next;
    }

    internal int Sahf(ref Uop u)
    {
        uint ah = (R(Reg.Eax) >> 8) & 0xFF;
        MergeArithFlags(EFlags.CF | EFlags.PF | EFlags.AF | EFlags.ZF | EFlags.SF, ah);
        return Status.Next;
    }

    internal int Xlat(ref Uop u)
    {
        uint off = R(Reg.Ebx) + (R(Reg.Eax) & 0xFF);
        if ((u.Flags & UopFlags.Addr16) != 0) off &= 0xFFFF;
        if (!ReadSeg(u.Seg, off, 1, out uint v)) return Status.Fault;
        SetReg(1, Reg.Eax, v);
        return Status.Next;
    }

    internal int CmpxchgRR(ref Uop u)
    {
        int size = u.Size;
        uint dest = GetReg(size, u.M);
        Alu(AluKind.Cmp, size, GetReg(size, Reg.Eax), dest);
        if (ZF) SetReg(size, u.M, GetReg(size, u.R));
        else SetReg(size, Reg.Eax, dest);
        return Status.Next;
    }

    /// <summary>The destination is always written (with its old value on mismatch), as on the locked bus cycle.</summary>
    internal int CmpxchgRM(ref Uop u)
    {
        int size = u.Size;
        if (!ReadRmw(ref u, size, out uint dest)) return Status.Fault;
        uint acc = GetReg(size, Reg.Eax);
        bool equal = acc == dest;
        if (!WriteMem(ref u, size, equal ? GetReg(size, u.R) : dest)) return Status.Fault;
        Alu(AluKind.Cmp, size, acc, dest);
        if (!equal) SetReg(size, Reg.Eax, dest);
        return Status.Next;
    }

    internal int XaddRR(ref Uop u)
    {
        int size = u.Size;
        uint dest = GetReg(size, u.M), src = GetReg(size, u.R);
        uint sum = Alu(AluKind.Add, size, dest, src);
        SetReg(size, u.R, dest);
        SetReg(size, u.M, sum);
        return Status.Next;
    }

    internal int XaddRM(ref Uop u)
    {
        int size = u.Size;
        if (!ReadRmw(ref u, size, out uint dest)) return Status.Fault;
        uint src = GetReg(size, u.R);
        SaveFlags(out var saved);
        uint sum = Alu(AluKind.Add, size, dest, src);
        if (!WriteMem(ref u, size, sum))
        {
            RestoreFlags(in saved);
            return Status.Fault;
        }
        SetReg(size, u.R, dest);
        return Status.Next;
    }

    internal int Cmpxchg8b(ref Uop u)
    {
        uint off = Ea(ref u);
        if (!ProbeWriteSeg(u.Seg, off, 4) || !ProbeWriteSeg(u.Seg, off + 4, 4)) return Status.Fault;
        if (!ReadSeg(u.Seg, off, 4, out uint lo) || !ReadSeg(u.Seg, off + 4, 4, out uint hi)) return Status.Fault;
        bool equal = lo == R(Reg.Eax) && hi == R(Reg.Edx);
        if (equal)
        {
            if (!WriteSeg(u.Seg, off, 4, R(Reg.Ebx)) || !WriteSeg(u.Seg, off + 4, 4, R(Reg.Ecx))) return Status.Fault;
        }
        else
        {
            if (!WriteSeg(u.Seg, off, 4, lo) || !WriteSeg(u.Seg, off + 4, 4, hi)) return Status.Fault;
            R(Reg.Eax) = lo;
            R(Reg.Edx) = hi;
        }
        MergeArithFlags(EFlags.ZF, equal ? EFlags.ZF : 0);
        return Status.Next;
    }

    /// <summary>MOV r/m, Sreg: a register destination gets the selector zero-extended (32-bit operand on P6+).</summary>
    internal int MovFromSeg(ref Uop u)
    {
        if (Wants(SensitiveOp.MovFromSeg)
            && Intercept(Describe(SensitiveOp.MovFromSeg, ref u) with { Operand = u.R, Register = u.IsMem ? -1 : u.M, IsMemoryOperand = u.IsMem, Address = u.IsMem ? segs[u.Seg].Base + Ea(ref u) : 0, Size = u.IsMem ? 2 : u.Size }) is int st)
        {
            return st;
        }
        uint sel = segs[u.R].Selector;
        if (u.IsMem) return WriteMem(ref u, 2, sel) ? Status.Next : Status.Fault;
        SetReg(u.Size, u.M, sel);
        return Status.Next;
    }

    internal int MovToSeg(ref Uop u)
    {
        if (u.R == SegReg.Cs || u.R > SegReg.Gs) return FaultUd();
        uint sel;
        if (u.IsMem)
        {
            if (!ReadMem(ref u, 2, out sel)) return Status.Fault;
        }
        else
        {
            sel = GetReg(2, u.M);
        }
        if (Wants(SensitiveOp.MovToSeg) && Intercept(Describe(SensitiveOp.MovToSeg, ref u) with { Operand = u.R, Value = sel }) is int st) return st;
        int r = LoadSegment(u.R, (ushort)sel);
        if (r == Status.Next && u.R == SegReg.Ss) interruptShadow = debugShadow = true;
        return r;
    }

    /// <summary>LDS/LES/LSS/LFS/LGS: offset then selector from memory.</summary>
    internal int LoadFarPointer(ref Uop u)
    {
        if (!u.IsMem) return FaultUd();
        uint off = Ea(ref u);
        if (!ReadSeg(u.Seg, off, u.Size, out uint offset)) return Status.Fault;
        if (!ReadSeg(u.Seg, off + (uint)u.Size, 2, out uint sel)) return Status.Fault;
        int r = LoadSegment(u.Sub, (ushort)sel);
        if (r != Status.Next) return r;
        SetReg(u.Size, u.R, offset);
        return Status.Next;
    }
}
