using Vmi.Cpu.Decode;

namespace Vmi.Cpu;

/// <summary>LGDT, LIDT, SGDT, SIDT, LLDT, LTR, SLDT, STR, SMSW, LMSW.</summary>
public sealed unsafe partial class Cpu
{
    internal int LoadTableRegister(ref Uop u, bool idt)
    {
        if (!u.IsMem) return FaultUd();
        SensitiveOp op = idt ? SensitiveOp.Lidt : SensitiveOp.Lgdt;
        uint off = Ea(ref u);
        uint lin = segs[u.Seg].Base + off;
        if (!PrivilegedOk) return PrivilegeFault(Describe(op, ref u) with { Address = lin, IsMemoryOperand = true, Size = u.Size });
        if (!ReadSeg(u.Seg, off, 2, out uint limit) || !ReadSeg(u.Seg, off + 2, 4, out uint b)) return Status.Fault;
        if (u.Size == 2) b &= 0x00FF_FFFF; // 16-bit operand size loads a 24-bit base
        if (Wants(op) && Intercept(Describe(op, ref u) with { Address = lin, IsMemoryOperand = true, Size = u.Size, TableBase = b, TableLimit = (ushort)limit }) is int st) return st;
        if (idt)
        {
            Idtr.Base = b;
            Idtr.Limit = limit;
        }
        else
        {
            Gdtr.Base = b;
            Gdtr.Limit = limit;
        }
        return Status.Next;
    }

    /// <summary>SGDT/SIDT work at any CPL: another non-trapping sensitive instruction of the i386.</summary>
    internal int StoreTableRegister(ref Uop u, bool idt)
    {
        if (!u.IsMem) return FaultUd();
        uint off = Ea(ref u);
        if (!ProbeWriteSeg(u.Seg, off, 2) || !ProbeWriteSeg(u.Seg, off + 2, 4)) return Status.Fault;
        SensitiveOp op = idt ? SensitiveOp.Sidt : SensitiveOp.Sgdt;
        if (Wants(op) && Intercept(Describe(op, ref u) with { Address = segs[u.Seg].Base + off, IsMemoryOperand = true }) is int st) return st;
        TableRegister t = idt ? Idtr : Gdtr;
        if (!WriteSeg(u.Seg, off, 2, t.Limit) || !WriteSeg(u.Seg, off + 2, 4, t.Base)) return Status.Fault;
        return Status.Next;
    }

    internal int Lldt(ref Uop u)
    {
        if (!ProtectedMode) return FaultUd();
        // The privilege check comes before the operand is read (so before any memory fault).
        if (Cpl != 0) return PrivilegeFault(Describe(SensitiveOp.Lldt, ref u) with { Value = PeekRm16(ref u) });
        if (!ReadRm(ref u, 2, out uint sel)) return Status.Fault;
        if (Wants(SensitiveOp.Lldt) && Intercept(Describe(SensitiveOp.Lldt, ref u) with { Value = sel }) is int st) return st;
        return LoadLdt((ushort)sel);
    }

    internal int Ltr(ref Uop u)
    {
        if (!ProtectedMode) return FaultUd();
        // The privilege check comes before the operand is read (so before any memory fault).
        if (Cpl != 0) return PrivilegeFault(Describe(SensitiveOp.Ltr, ref u) with { Value = PeekRm16(ref u) });
        if (!ReadRm(ref u, 2, out uint sel)) return Status.Fault;
        if (Wants(SensitiveOp.Ltr) && Intercept(Describe(SensitiveOp.Ltr, ref u) with { Value = sel }) is int st) return st;
        return LoadTaskRegister((ushort)sel);
    }

    /// <summary>A 16-bit r/m operand for an event's description, read without faults or side effects (0 if unreadable).</summary>
    private uint PeekRm16(ref Uop u)
    {
        if (!u.IsMem) return GetReg(2, u.M);
        Span<byte> b = stackalloc byte[2];
        return TryPeekLinear(segs[u.Seg].Base + Ea(ref u), b) ? (uint)(b[0] | (b[1] << 8)) : 0;
    }

    /// <summary>The event for an instruction that stores to r/m (SLDT, STR, SMSW): where the result goes.</summary>
    private SensitiveEvent DescribeStore(SensitiveOp op, ref Uop u) => Describe(op, ref u) with
    {
        IsMemoryOperand = u.IsMem,
        Address = u.IsMem ? segs[u.Seg].Base + Ea(ref u) : 0,
        Register = u.IsMem ? -1 : u.M,
        Size = u.IsMem ? 2 : u.Size,
    };

    internal int Sldt(ref Uop u)
    {
        if (!ProtectedMode) return FaultUd();
        if (Wants(SensitiveOp.Sldt) && Intercept(DescribeStore(SensitiveOp.Sldt, ref u)) is int st) return st;
        return WriteRm(ref u, u.IsMem ? 2 : u.Size, Ldtr.Selector) ? Status.Next : Status.Fault;
    }

    internal int Str(ref Uop u)
    {
        if (!ProtectedMode) return FaultUd();
        if (Wants(SensitiveOp.Str) && Intercept(DescribeStore(SensitiveOp.Str, ref u)) is int st) return st;
        return WriteRm(ref u, u.IsMem ? 2 : u.Size, Tr.Selector) ? Status.Next : Status.Fault;
    }

    /// <summary>SMSW works at any CPL and shows CR0's low word, including PE and TS.</summary>
    internal int Smsw(ref Uop u)
    {
        if (Wants(SensitiveOp.Smsw) && Intercept(DescribeStore(SensitiveOp.Smsw, ref u)) is int st) return st;
        return WriteRm(ref u, u.IsMem ? 2 : u.Size, u.IsMem ? Cr0Value & 0xFFFF : Cr0Value) ? Status.Next : Status.Fault;
    }

    /// <summary>LMSW changes only PE, MP, EM, TS, and cannot clear PE.</summary>
    internal int Lmsw(ref Uop u)
    {
        if (!PrivilegedOk) return PrivilegeFault(Describe(SensitiveOp.Lmsw, ref u) with { Value = PeekRm16(ref u) });
        if (!ReadRm(ref u, 2, out uint v)) return Status.Fault;
        if (Wants(SensitiveOp.Lmsw) && Intercept(Describe(SensitiveOp.Lmsw, ref u) with { Value = v }) is int st) return st;
        uint mask = Cr0Bits.MP | Cr0Bits.EM | Cr0Bits.TS;
        uint newCr0 = (Cr0Value & ~mask) | (v & mask) | (v & Cr0Bits.PE);
        return WriteCr0(newCr0);
    }
}
