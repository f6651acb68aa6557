namespace Vmi.Cpu;

/// <summary>
/// Far JMP/CALL/RET and IRET: real mode, and protected mode to code-segment descriptors with the
/// privilege rules, including returns to an outer ring (SS:ESP popped, data segments that the
/// outer ring may not see are nulled). Call gates, task gates and task switches stop the VM with
/// an "unsupported" diagnostic instead of being half-emulated.
/// </summary>
public sealed unsafe partial class Cpu
{
    internal void LoadCodeSegment(ushort selector, in Descriptor d, int cpl)
    {
        // CS.RPL is the CPL, except under ring compression: a kernel that named its ring-0 selector
        // keeps seeing RPL 0 (in MOV/PUSH from CS and the CS images of the frames and far calls
        // pushed at its ring), as VMware's monitor showed it the virtual CS; the CPL is kept apart.
        int rpl = cpl == CompressedRing && cpl != 0 && (selector & 3) == 0 ? 0 : cpl;
        segs[SegReg.Cs] = d.ToCache((ushort)((selector & 0xFFFC) | rpl));
        segs[SegReg.Cs].Attributes |= 1;
        SetCpl(cpl);
        RecomputeSegFast();
    }

    private void LoadRealModeCs(ushort selector)
    {
        ref SegmentCache cs = ref segs[SegReg.Cs];
        cs.Selector = selector;
        cs.Base = (uint)selector << 4;
        RecomputeSegFast();
    }

    private int Unsupported(string what)
    {
        RequestStop(CpuExitReason.Unsupported, $"{what} at eip 0x{Eip:X8} is not supported by this CPU model");
        return Status.Abort;
    }

    /// <summary>Checks a far JMP/CALL target code descriptor; returns Status.Next when it may be loaded.</summary>
    private int CheckFarTarget(ushort selector, uint offset, out Descriptor d)
    {
        d = default;
        uint err = (uint)(selector & 0xFFFC);
        if (err == 0) return FaultGp();
        if (!ReadDescriptor(selector, out d, out _)) return Status.Fault;
        if (d.IsSystem)
        {
            return d.Type switch
            {
                4 or 12 => Unsupported("a far transfer through a call gate"),
                5 => Unsupported("a far transfer through a task gate"),
                1 or 9 => Unsupported("a task switch"),
                _ => FaultGp(err),
            };
        }
        if (!d.IsCode) return FaultGp(err);
        int rpl = selector & 3;
        if (d.IsConforming ? d.Dpl > Cpl : (rpl > Cpl || d.Dpl != Cpl)) return FaultGp(err);
        if (!d.Present) return Fault(Vectors.NP, err, true);
        if (offset > d.Limit) return FaultGp();
        return Status.Next;
    }

    internal int FarJump(ushort selector, uint offset, int size)
    {
        if (size == 2) offset &= 0xFFFF;
        if (!ProtectedMode || (flagsRest & EFlags.VM) != 0)
        {
            LoadRealModeCs(selector);
            Eip = offset;
            return Status.Jump;
        }
        int st = CheckFarTarget(selector, offset, out Descriptor d);
        if (st != Status.Next) return st;
        LoadCodeSegment(selector, in d, Cpl);
        Eip = offset;
        return Status.Jump;
    }

    internal int FarCall(ushort selector, uint offset, int size, uint returnEip)
    {
        if (size == 2) offset &= 0xFFFF;
        uint esp = R(Reg.Esp);
        uint slot1 = StepEsp(esp, -size), slot2 = StepEsp(esp, -2 * size);
        if (!ProtectedMode || (flagsRest & EFlags.VM) != 0)
        {
            if (!WriteSeg(SegReg.Ss, slot1 & stackMask, size, segs[SegReg.Cs].Selector)
                || !WriteSeg(SegReg.Ss, slot2 & stackMask, size, returnEip)) return Status.Fault;
            R(Reg.Esp) = slot2;
            LoadRealModeCs(selector);
            Eip = offset;
            return Status.Jump;
        }
        int st = CheckFarTarget(selector, offset, out Descriptor d);
        if (st != Status.Next) return st;
        if (!ProbeWriteSeg(SegReg.Ss, slot2 & stackMask, 2 * size)) return Status.Fault;
        if (!WriteSeg(SegReg.Ss, slot1 & stackMask, size, segs[SegReg.Cs].Selector)
            || !WriteSeg(SegReg.Ss, slot2 & stackMask, size, returnEip)) return Status.Fault;
        R(Reg.Esp) = slot2;
        LoadCodeSegment(selector, in d, Cpl);
        Eip = offset;
        return Status.Jump;
    }

    internal int FarReturn(int size, uint imm)
    {
        if (!Peek(size, 0, out uint offset) || !Peek(size, (uint)size, out uint selv)) return Status.Fault;
        ushort selector = (ushort)selv;
        if (!ProtectedMode || (flagsRest & EFlags.VM) != 0)
        {
            R(Reg.Esp) = StepEsp(R(Reg.Esp), 2 * size + (int)imm);
            LoadRealModeCs(selector);
            Eip = size == 2 ? offset & 0xFFFF : offset;
            return Status.Jump;
        }
        int st = CheckReturnTarget(selector, offset, out Descriptor d);
        if (st != Status.Next) return st;
        int rpl = EffectiveRpl(selector);
        if (rpl == Cpl)
        {
            R(Reg.Esp) = StepEsp(R(Reg.Esp), 2 * size + (int)imm);
            LoadCodeSegment(selector, in d, rpl);
            Eip = offset;
            return Status.Jump;
        }
        uint outer = (uint)(2 * size) + imm;
        if (!Peek(size, outer, out uint newEsp) || !Peek(size, outer + (uint)size, out uint newSs)) return Status.Fault;
        return ReturnToOuterRing(selector, in d, offset, (ushort)newSs, newEsp + imm, size);
    }

    /// <summary>Checks the CS popped by RETF/IRET: RPL ≥ CPL, code, privilege, present, offset within limit.</summary>
    private int CheckReturnTarget(ushort selector, uint offset, out Descriptor d)
    {
        d = default;
        uint err = (uint)(selector & 0xFFFC);
        if (err == 0) return FaultGp();
        int rpl = EffectiveRpl(selector);
        if (rpl < Cpl) return FaultGp(err);
        if (!ReadDescriptor(selector, out d, out _)) return Status.Fault;
        if (!d.IsCode) return FaultGp(err);
        if (d.IsConforming ? d.Dpl > rpl : d.Dpl != rpl) return FaultGp(err);
        if (!d.Present) return Fault(Vectors.NP, err, true);
        if (offset > d.Limit) return FaultGp();
        return Status.Next;
    }

    private int ReturnToOuterRing(ushort csSel, in Descriptor cs, uint offset, ushort ssSel, uint esp, int size)
    {
        int newCpl = csSel & 3;
        uint ssErr = (uint)(ssSel & 0xFFFC);
        if (ssErr == 0) return FaultGp();
        if ((ssSel & 3) != newCpl) return FaultGp(ssErr);
        if (!ReadDescriptor(ssSel, out Descriptor ss, out _)) return Status.Fault;
        if (!ss.IsWritableData || ss.Dpl != newCpl) return FaultGp(ssErr);
        if (!ss.Present) return Fault(Vectors.SS, ssErr, true);
        LoadCodeSegment(csSel, in cs, newCpl);
        segs[SegReg.Ss] = ss.ToCache(ssSel);
        R(Reg.Esp) = ss.Big ? esp : (R(Reg.Esp) & 0xFFFF_0000) | (esp & 0xFFFF);
        Eip = size == 2 ? offset & 0xFFFF : offset;
        for (int s = 0; s < 6; s++)
        {
            if (s == SegReg.Cs || s == SegReg.Ss) continue;
            ref SegmentCache c = ref segs[s];
            bool dataOrNonConforming = !c.IsCode || !c.IsConforming;
            if (c.Usable && dataOrNonConforming && c.Dpl < newCpl)
            {
                c = new SegmentCache { Selector = 0, Usable = false };
            }
        }
        RecomputeSegFast();
        return Status.Jump;
    }

    internal int Iret(ref Decode.Uop u)
    {
        int size = u.Size;
        if (!Peek(size, 0, out uint offset) || !Peek(size, (uint)size, out uint selv) || !Peek(size, (uint)(2 * size), out uint flags)) return Status.Fault;
        if (Wants(SensitiveOp.Iret) && Intercept(Describe(SensitiveOp.Iret, ref u) with { Value = flags, Size = size }) is int st) return st;
        ushort selector = (ushort)selv;
        if (!ProtectedMode)
        {
            R(Reg.Esp) = StepEsp(R(Reg.Esp), 3 * size);
            LoadRealModeCs(selector);
            Eip = size == 2 ? offset & 0xFFFF : offset;
            uint mask = size == 2 ? 0xFFFFu : EFlags.Writable & ~(EFlags.VM | EFlags.VIP | EFlags.VIF);
            Eflags = (Eflags & ~mask) | (flags & mask);
            return Status.Jump;
        }
        if ((flagsRest & EFlags.VM) != 0) return Unsupported("IRET in virtual-8086 mode");
        if ((flagsRest & EFlags.NT) != 0) return Unsupported("IRET with NT set (task return)");
        if (size == 4 && (flags & EFlags.VM) != 0 && Cpl == 0) return Unsupported("IRET to virtual-8086 mode");
        int status = CheckReturnTarget(selector, offset, out Descriptor d);
        if (status != Status.Next) return status;
        int oldCpl = Cpl;
        int rpl = EffectiveRpl(selector);
        if (rpl == Cpl)
        {
            R(Reg.Esp) = StepEsp(R(Reg.Esp), 3 * size);
            LoadCodeSegment(selector, in d, rpl);
            Eip = offset;
        }
        else
        {
            if (!Peek(size, (uint)(3 * size), out uint newEsp) || !Peek(size, (uint)(4 * size), out uint newSs)) return Status.Fault;
            status = ReturnToOuterRing(selector, in d, offset, (ushort)newSs, newEsp, size);
            if (status != Status.Jump) return status;
        }
        WriteFlagsFromIret(flags, size, oldCpl);
        return Status.Jump;
    }

    /// <summary>IRET's EFLAGS rules use the CPL before the return: IOPL only at CPL 0, IF only when CPL ≤ IOPL.</summary>
    private void WriteFlagsFromIret(uint v, int size, int oldCpl)
    {
        uint changeable = EFlags.Writable & ~(EFlags.VM);
        if (oldCpl > 0) changeable &= ~EFlags.IoplMask;
        if (oldCpl > Iopl) changeable &= ~EFlags.IF;
        if (size == 2) changeable &= 0xFFFF;
        Eflags = (Eflags & ~changeable) | (v & changeable);
    }
}
