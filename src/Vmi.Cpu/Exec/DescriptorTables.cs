using Vmi.Cpu.Decode;

namespace Vmi.Cpu;

/// <summary>LGDT, LIDT, SGDT, SIDT, LLDT, LTR, SLDT, STR, SMSW, LMSW.</summary>
public sealed unsafe partial class Cpu
{
    internal int LoadTableRegister(ref Uop u, bool idt)
    {
        if (!u.IsMem) return FaultUd();
        if (!PrivilegedOk) return FaultGp();
        if (Intercepts != null && Intercept(idt ? SensitiveOp.Lidt : SensitiveOp.Lgdt, ref u, 0) is int st) return st;
        uint off = Ea(ref u);
        if (!ReadSeg(u.Seg, off, 2, out uint limit) || !ReadSeg(u.Seg, off + 2, 4, out uint b)) return Status.Fault;
        if (u.Size == 2) b &= 0x00FF_FFFF; // 16-bit operand size loads a 24-bit base
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
        if (Intercepts != null && Intercept(idt ? SensitiveOp.Sidt : SensitiveOp.Sgdt, ref u, 0) is int st) return st;
        TableRegister t = idt ? Idtr : Gdtr;
        uint off = Ea(ref u);
        if (!ProbeWriteSeg(u.Seg, off, 2) || !ProbeWriteSeg(u.Seg, off + 2, 4)) return Status.Fault;
        if (!WriteSeg(u.Seg, off, 2, t.Limit) || !WriteSeg(u.Seg, off + 2, 4, t.Base)) return Status.Fault;
        return Status.Next;
    }

    internal int Lldt(ref Uop u)
    {
        if (!ProtectedMode) return FaultUd();
        if (Cpl != 0) return FaultGp();
        if (!ReadRm(ref u, 2, out uint sel)) return Status.Fault;
        if (Intercepts != null && Intercept(SensitiveOp.Lldt, ref u, sel) is int st) return st;
        return LoadLdt((ushort)sel);
    }

    internal int Ltr(ref Uop u)
    {
        if (!ProtectedMode) return FaultUd();
        if (Cpl != 0) return FaultGp();
        if (!ReadRm(ref u, 2, out uint sel)) return Status.Fault;
        if (Intercepts != null && Intercept(SensitiveOp.Ltr, ref u, sel) is int st) return st;
        return LoadTaskRegister((ushort)sel);
    }

    internal int Sldt(ref Uop u)
    {
        if (!ProtectedMode) return FaultUd();
        if (Intercepts != null && Intercept(SensitiveOp.Sldt, ref u, 0) is int st) return st;
        return WriteRm(ref u, u.IsMem ? 2 : u.Size, Ldtr.Selector) ? Status.Next : Status.Fault;
    }

    internal int Str(ref Uop u)
    {
        if (!ProtectedMode) return FaultUd();
        if (Intercepts != null && Intercept(SensitiveOp.Str, ref u, 0) is int st) return st;
        return WriteRm(ref u, u.IsMem ? 2 : u.Size, Tr.Selector) ? Status.Next : Status.Fault;
    }

    /// <summary>SMSW works at any CPL and shows CR0's low word, including PE and TS.</summary>
    internal int Smsw(ref Uop u)
    {
        if (Intercepts != null && Intercept(SensitiveOp.Smsw, ref u, 0) is int st) return st;
        return WriteRm(ref u, u.IsMem ? 2 : u.Size, u.IsMem ? Cr0Value & 0xFFFF : Cr0Value) ? Status.Next : Status.Fault;
    }

    /// <summary>LMSW changes only PE, MP, EM, TS, and cannot clear PE.</summary>
    internal int Lmsw(ref Uop u)
    {
        if (!PrivilegedOk) return FaultGp();
        if (!ReadRm(ref u, 2, out uint v)) return Status.Fault;
        if (Intercepts != null && Intercept(SensitiveOp.Lmsw, ref u, v) is int st) return st;
        uint mask = Cr0Bits.MP | Cr0Bits.EM | Cr0Bits.TS;
        uint newCr0 = (Cr0Value & ~mask) | (v & mask) | (v & Cr0Bits.PE);
        return WriteCr0(newCr0);
    }
}
