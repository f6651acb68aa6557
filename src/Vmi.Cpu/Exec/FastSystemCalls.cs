using Vmi.Cpu.Decode;

namespace Vmi.Cpu;

/// <summary>SYSENTER/SYSEXIT, the hypercall instructions, and BOUND.</summary>
public sealed unsafe partial class Cpu
{
    /// <summary>SYSENTER: flat ring-0 CS/SS derived from SYSENTER_CS; #GP(0) if it is null or in real mode.</summary>
    internal int Sysenter(ref Uop u)
    {
        if (!ProtectedMode || (SysenterCs & 0xFFFC) == 0) return FaultGp();
        if (Wants(SensitiveOp.Sysenter) && Intercept(SensitiveOp.Sysenter, ref u) is int st) return st;
        flagsRest &= ~(EFlags.VM | EFlags.IF | EFlags.RF);
        ushort cs = (ushort)(SysenterCs & 0xFFFC);
        segs[SegReg.Cs] = new SegmentCache { Selector = cs, Base = 0, Limit = 0xFFFF_FFFF, Attributes = 0xC09B, Usable = true };
        segs[SegReg.Ss] = new SegmentCache { Selector = (ushort)(cs + 8), Base = 0, Limit = 0xFFFF_FFFF, Attributes = 0xC093, Usable = true };
        SetCpl(0);
        RecomputeSegFast();
        R(Reg.Esp) = SysenterEsp;
        Eip = SysenterEip;
        return Status.Jump;
    }

    /// <summary>SYSEXIT: to ring 3 with flat CS = SYSENTER_CS+16, SS = +24; EIP = EDX, ESP = ECX.</summary>
    internal int Sysexit(ref Uop u)
    {
        if (!ProtectedMode || (SysenterCs & 0xFFFC) == 0) return FaultGp();
        if (Cpl != 0) return PrivilegeFault(Describe(SensitiveOp.Sysexit, ref u));
        if (Wants(SensitiveOp.Sysexit) && Intercept(SensitiveOp.Sysexit, ref u) is int st) return st;
        ushort cs = (ushort)((SysenterCs + 16) | 3);
        segs[SegReg.Cs] = new SegmentCache { Selector = cs, Base = 0, Limit = 0xFFFF_FFFF, Attributes = 0xC0FB, Usable = true };
        segs[SegReg.Ss] = new SegmentCache { Selector = (ushort)((SysenterCs + 24) | 3), Base = 0, Limit = 0xFFFF_FFFF, Attributes = 0xC0F3, Usable = true };
        SetCpl(3);
        RecomputeSegFast();
        R(Reg.Esp) = R(Reg.Ecx);
        Eip = R(Reg.Edx);
        return Status.Jump;
    }

    /// <summary>VMCALL/VMMCALL: a hypercall if a hypervisor claims it, otherwise #UD as on a CPU outside VMX/SVM guest mode.</summary>
    internal int Vmcall(ref Uop u)
    {
        SensitiveOp op = u.Sub == 0 ? SensitiveOp.Vmcall : SensitiveOp.Vmmcall;
        if (Wants(op) && Intercept(Describe(op, ref u) with { Value = R(Reg.Eax) }) is int st) return st;
        return FaultUd();
    }

    internal int Bound(ref Uop u)
    {
        uint off = Ea(ref u);
        if (!ReadSeg(u.Seg, off, u.Size, out uint lo) || !ReadSeg(u.Seg, off + (uint)u.Size, u.Size, out uint hi)) return Status.Fault;
        int idx = (int)SignExtend(GetReg(u.Size, u.R), u.Size);
        if (idx < (int)SignExtend(lo, u.Size) || idx > (int)SignExtend(hi, u.Size)) return Fault(Vectors.BR);
        return Status.Next;
    }
}
