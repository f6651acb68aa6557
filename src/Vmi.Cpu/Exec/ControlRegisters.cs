using Vmi.Cpu.Decode;

namespace Vmi.Cpu;

/// <summary>MOV to/from CR0, CR2, CR3, CR4 and DR0–DR7, INVLPG, CLTS, WBINVD/INVD.</summary>
public sealed unsafe partial class Cpu
{
    internal int MovToCr(ref Uop u)
    {
        uint v = R(u.M);
        SensitiveEvent e = Describe(SensitiveOp.MovToCr, ref u) with { Operand = u.R, Value = v, Register = u.M };
        if (!PrivilegedOk) return PrivilegeFault(e);
        if (Wants(SensitiveOp.MovToCr) && Intercept(e) is int st) return st;
        switch (u.R)
        {
            case 0: return WriteCr0(v);
            case 2: Cr2 = v; return Status.Next;
            case 3: return WriteCr3(v);
            case 4: return WriteCr4(v);
            default: return FaultUd();
        }
    }

    internal int MovFromCr(ref Uop u)
    {
        SensitiveEvent e = Describe(SensitiveOp.MovFromCr, ref u) with { Operand = u.R, Register = u.M };
        if (!PrivilegedOk) return PrivilegeFault(e);
        if (Wants(SensitiveOp.MovFromCr) && Intercept(e) is int st) return st;
        switch (u.R)
        {
            case 0: R(u.M) = Cr0Value; break;
            case 2: R(u.M) = Cr2; break;
            case 3: R(u.M) = Cr3Value; break;
            case 4: R(u.M) = Cr4Value; break;
            default: return FaultUd();
        }
        return Status.Next;
    }

    /// <summary>Writes CR0 with the architectural checks; flushes the TLB when PG, WP or PE change.</summary>
    internal int WriteCr0(uint v)
    {
        v |= Cr0Bits.ET;
        if ((v & Cr0Bits.PG) != 0 && (v & Cr0Bits.PE) == 0) return FaultGp();
        if ((v & Cr0Bits.NW) != 0 && (v & Cr0Bits.CD) == 0) return FaultGp();
        uint changed = Cr0Value ^ v;
        Cr0Value = v;
        if ((changed & (Cr0Bits.PG | Cr0Bits.WP | Cr0Bits.PE)) != 0)
        {
            FlushTlbAll();
        }
        if ((changed & Cr0Bits.PE) != 0)
        {
            SetCpl(ProtectedMode ? CplOf(segs[SegReg.Cs]) : 0);
            RecomputeSegFast();
        }
        return Status.Next;
    }

    internal int WriteCr3(uint v)
    {
        Cr3Value = v;
        FlushTlb(keepGlobal: true);
        return Status.Next;
    }

    internal int WriteCr4(uint v)
    {
        const uint supported = Cr4Bits.TSD | Cr4Bits.DE | Cr4Bits.PSE | Cr4Bits.PGE | Cr4Bits.PCE | Cr4Bits.MCE;
        // PAE, VME and PVI are not implemented (CPUID does not report them): setting one (or any
        // unknown bit) raises #GP(0) as reserved bits do.
        if ((v & ~supported) != 0) return FaultGp();
        uint changed = Cr4Value ^ v;
        Cr4Value = v;
        if ((changed & (Cr4Bits.PSE | Cr4Bits.PGE)) != 0) FlushTlbAll();
        if ((changed & Cr4Bits.DE) != 0) DebugRegistersChanged();
        return Status.Next;
    }

    internal int MovToDr(ref Uop u)
    {
        SensitiveEvent e = Describe(SensitiveOp.MovToDr, ref u) with { Operand = u.R, Value = R(u.M), Register = u.M };
        if (!PrivilegedOk) return PrivilegeFault(e);
        if (Wants(SensitiveOp.MovToDr) && Intercept(e) is int st) return st;
        int n = u.R;
        if ((n == 4 || n == 5) && (Cr4Value & Cr4Bits.DE) != 0) return FaultUd();
        if (n > 7) return FaultUd();
        if (GeneralDetect()) return Status.Fault;
        SetDebugRegister(n is 4 ? 6 : n is 5 ? 7 : n, R(u.M));
        return Status.Next;
    }

    /// <summary>MOV to DR's effect on DR0–3, DR6, DR7 (fixed bits, breakpoint re-arm).</summary>
    internal void SetDebugRegister(int n, uint v)
    {
        Dr[n] = n switch
        {
            6 => v | DebugBits.Dr6Fixed1 & ~(1u << 12),
            7 => (v & DebugBits.Dr7Writable) | DebugBits.Dr7Fixed1,
            _ => v,
        };
        if (n != 6) DebugRegistersChanged();
    }

    internal int MovFromDr(ref Uop u)
    {
        SensitiveEvent e = Describe(SensitiveOp.MovFromDr, ref u) with { Operand = u.R, Register = u.M };
        if (!PrivilegedOk) return PrivilegeFault(e);
        if (Wants(SensitiveOp.MovFromDr) && Intercept(e) is int st) return st;
        int n = u.R;
        if ((n == 4 || n == 5) && (Cr4Value & Cr4Bits.DE) != 0) return FaultUd();
        if (n > 7) return FaultUd();
        if (GeneralDetect()) return Status.Fault;
        R(u.M) = Dr[n is 4 ? 6 : n is 5 ? 7 : n];
        return Status.Next;
    }

    internal int Invlpg(ref Uop u)
    {
        uint lin = segs[u.Seg].Base + Ea(ref u);
        SensitiveEvent e = Describe(SensitiveOp.Invlpg, ref u) with { Address = lin, IsMemoryOperand = true };
        if (!PrivilegedOk) return PrivilegeFault(e);
        if (Wants(SensitiveOp.Invlpg) && Intercept(e) is int st) return st;
        InvalidatePage(lin);
        return Status.Next;
    }

    internal int Clts(ref Uop u)
    {
        if (!PrivilegedOk) return PrivilegeFault(Describe(SensitiveOp.Clts, ref u));
        if (Wants(SensitiveOp.Clts) && Intercept(SensitiveOp.Clts, ref u) is int st) return st;
        Cr0Value &= ~Cr0Bits.TS;
        return Status.Next;
    }

    internal int CacheControl(ref Uop u, SensitiveOp op)
    {
        if (!PrivilegedOk) return PrivilegeFault(Describe(op, ref u));
        if (Wants(op) && Intercept(op, ref u) is int st) return st;
        return Status.Next;
    }
}
