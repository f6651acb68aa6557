using Vmi.Cpu.Decode;

namespace Vmi.Cpu;

/// <summary>
/// Descriptor fetch and segment-register loads with the protected-mode checks (null selectors,
/// table limits, type, RPL/DPL/CPL, presence), LLDT, LTR, LAR/LSL/VERR/VERW and ARPL.
/// </summary>
public sealed unsafe partial class Cpu
{
    /// <summary>Reads the descriptor for <paramref name="selector"/> from the GDT or LDT; #GP(selector) beyond the limit.</summary>
    internal bool ReadDescriptor(ushort selector, out Descriptor d, out uint address, int faultVector = Vectors.GP)
    {
        d = default;
        bool ldt = (selector & 4) != 0;
        uint index = (uint)(selector & 0xFFF8);
        uint tableBase = ldt ? Ldtr.Base : Gdtr.Base;
        uint limit = ldt ? Ldtr.Limit : Gdtr.Limit;
        address = tableBase + index;
        if ((ldt && Ldtr.Selector == 0) || index + 7 > limit)
        {
            Fault(faultVector, (uint)(selector & 0xFFFC), true);
            return false;
        }
        if (!ReadSys(address, 4, out uint low) || !ReadSys(address + 4, 4, out uint high)) return false;
        d = new Descriptor(low, high);
        return true;
    }

    /// <summary>Sets the accessed bit of a code/data descriptor, as the processor does on a load.</summary>
    private bool MarkAccessed(uint address, in Descriptor d)
    {
        if ((d.High & 0x100) != 0) return true;
        return WriteSys(address + 4, 4, d.High | 0x100);
    }

    /// <summary>MOV/POP/LxS to a data segment register or SS.</summary>
    internal int LoadSegment(int seg, ushort selector)
    {
        if (!ProtectedMode || (flagsRest & EFlags.VM) != 0)
        {
            ref SegmentCache s = ref segs[seg];
            s.Selector = selector;
            s.Base = (uint)selector << 4;
            s.Usable = true;
            RecomputeSegFast();
            return Status.Next;
        }
        ushort rpl = (ushort)(selector & 3);
        if ((selector & 0xFFFC) == 0)
        {
            if (seg == SegReg.Ss) return FaultGp(0);
            segs[seg] = new SegmentCache { Selector = selector, Usable = false };
            RecomputeSegFast();
            return Status.Next;
        }
        if (!ReadDescriptor(selector, out Descriptor d, out uint addr)) return Status.Fault;
        uint err = (uint)(selector & 0xFFFC);
        if (seg == SegReg.Ss)
        {
            // Under ring compression the selector keeps the RPL 0 the kernel named (what MOV from SS shows it).
            if (EffectiveRpl(selector) != Cpl || d.Dpl != Cpl || !d.IsWritableData) return FaultGp(err);
            if (!d.Present) return Fault(Vectors.SS, err, true);
        }
        else
        {
            if (!d.IsDataOrReadableCode) return FaultGp(err);
            if (!d.IsConforming && (d.Dpl < Cpl || d.Dpl < rpl)) return FaultGp(err);
            if (!d.Present) return Fault(Vectors.NP, err, true);
        }
        if (!MarkAccessed(addr, in d)) return Status.Fault;
        segs[seg] = d.ToCache(selector);
        segs[seg].Attributes |= 1; // accessed
        RecomputeSegFast();
        return Status.Next;
    }

    internal int LoadLdt(ushort selector)
    {
        if ((selector & 0xFFFC) == 0)
        {
            Ldtr = default;
            return Status.Next;
        }
        if ((selector & 4) != 0) return FaultGp((uint)(selector & 0xFFFC));
        if (!ReadDescriptor(selector, out Descriptor d, out _)) return Status.Fault;
        if (!d.IsSystem || d.Type != 2) return FaultGp((uint)(selector & 0xFFFC));
        if (!d.Present) return Fault(Vectors.NP, (uint)(selector & 0xFFFC), true);
        Ldtr = new TableRegister { Selector = selector, Base = d.Base, Limit = d.Limit, Type = 2 };
        return Status.Next;
    }

    internal int LoadTaskRegister(ushort selector)
    {
        uint err = (uint)(selector & 0xFFFC);
        if (err == 0 || (selector & 4) != 0) return FaultGp(err);
        if (!ReadDescriptor(selector, out Descriptor d, out uint addr)) return Status.Fault;
        // Available 16-bit (1) or 32-bit (9) TSS only; a busy TSS cannot be loaded.
        if (!d.IsSystem || (d.Type != 1 && d.Type != 9)) return FaultGp(err);
        if (!d.Present) return Fault(Vectors.NP, err, true);
        if (!WriteSys(addr + 4, 4, d.High | 0x200)) return Status.Fault;
        Tr = new TableRegister { Selector = selector, Base = d.Base, Limit = d.Limit, Type = d.Type | 2 };
        return Status.Next;
    }

    /// <summary>LAR (Sub 0), LSL (1), VERR (2), VERW (3): never fault on a bad selector, report through ZF.</summary>
    internal int SegInfo(ref Uop u)
    {
        if (!ProtectedMode) return FaultUd();
        SensitiveOp op = u.Sub switch { 0 => SensitiveOp.Lar, 1 => SensitiveOp.Lsl, 2 => SensitiveOp.Verr, _ => SensitiveOp.Verw };
        if (!ReadRm(ref u, 2, out uint selv)) return Status.Fault;
        if (Wants(op) && Intercept(Describe(op, ref u) with { Value = selv & 0xFFFF, Register = u.R, Size = u.Size }) is int st) return st;
        ushort sel = (ushort)selv;
        bool ok = false;
        Descriptor d = default;
        if ((sel & 0xFFFC) != 0)
        {
            CpuFault saved = pendingFault;
            bool inTable = ReadDescriptorNoFault(sel, out d);
            pendingFault = saved;
            if (inTable)
            {
                int rpl = sel & 3;
                bool privOk = d.IsConforming || (d.Dpl >= Cpl && d.Dpl >= rpl);
                ok = u.Sub switch
                {
                    0 => privOk && (!d.IsSystem || d.Type is 1 or 2 or 3 or 4 or 5 or 9 or 11 or 12) || (d.IsConforming && !d.IsSystem),
                    1 => privOk && (!d.IsSystem || d.Type is 1 or 2 or 3 or 9 or 11) || (d.IsConforming && !d.IsSystem),
                    2 => !d.IsSystem && (d.IsConforming || privOk) && (!d.IsCode || d.IsReadableCode),
                    _ => !d.IsSystem && privOk && d.IsWritableData,
                };
            }
        }
        MergeArithFlags(EFlags.ZF, ok ? EFlags.ZF : 0);
        if (ok && u.Sub == 0) SetReg(u.Size, u.R, d.High & 0x00F0_FF00);
        if (ok && u.Sub == 1) SetReg(u.Size, u.R, d.Limit);
        return Status.Next;
    }

    private bool ReadDescriptorNoFault(ushort sel, out Descriptor d)
    {
        d = default;
        bool ldt = (sel & 4) != 0;
        uint index = (uint)(sel & 0xFFF8);
        uint limit = ldt ? Ldtr.Limit : Gdtr.Limit;
        if ((ldt && Ldtr.Selector == 0) || index + 7 > limit) return false;
        uint addr = (ldt ? Ldtr.Base : Gdtr.Base) + index;
        if (!ReadSys(addr, 4, out uint low) || !ReadSys(addr + 4, 4, out uint high)) return false;
        d = new Descriptor(low, high);
        return true;
    }

    /// <summary>ARPL: raises the destination selector's RPL to the source's; ZF says whether it changed.</summary>
    internal int Arpl(ref Uop u)
    {
        if (!ProtectedMode) return FaultUd();
        uint src = GetReg(2, u.R);
        if (u.IsMem)
        {
            if (!ReadRmw(ref u, 2, out uint dest)) return Status.Fault;
            if ((dest & 3) < (src & 3))
            {
                if (!WriteMem(ref u, 2, (dest & ~3u) | (src & 3))) return Status.Fault;
                MergeArithFlags(EFlags.ZF, EFlags.ZF);
            }
            else MergeArithFlags(EFlags.ZF, 0);
            return Status.Next;
        }
        uint d = GetReg(2, u.M);
        if ((d & 3) < (src & 3))
        {
            SetReg(2, u.M, (d & ~3u) | (src & 3));
            MergeArithFlags(EFlags.ZF, EFlags.ZF);
        }
        else MergeArithFlags(EFlags.ZF, 0);
        return Status.Next;
    }
}
