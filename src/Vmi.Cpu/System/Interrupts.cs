namespace Vmi.Cpu;

/// <summary>
/// Exception and interrupt delivery: the real-mode IVT, protected-mode interrupt and trap gates
/// with the privilege change and stack switch from the TSS (rings 0, 1 and 2), error codes, and
/// the double-fault / triple-fault rules (Bochs exceptions_info, QEMU check_exception).
/// </summary>
public sealed unsafe partial class Cpu
{
    private enum FaultClass { Benign, Contributory, PageFault }

    private static FaultClass ClassOf(int vector) => vector switch
    {
        Vectors.DE or Vectors.TS or Vectors.NP or Vectors.SS or Vectors.GP => FaultClass.Contributory,
        Vectors.PF => FaultClass.PageFault,
        _ => FaultClass.Benign,
    };

    /// <summary>Vectors whose exceptions push an error code.</summary>
    internal static bool HasErrorCode(int vector) =>
        vector is Vectors.DF or Vectors.TS or Vectors.NP or Vectors.SS or Vectors.GP or Vectors.PF or Vectors.AC;

    /// <summary>
    /// INT n, INT3 and INTO: the gate's DPL is checked against CPL. (They differ only in
    /// virtual-8086 mode, which this CPU does not enter.)
    /// </summary>
    internal int SoftwareInterrupt(int vector, uint returnEip)
    {
        Counters.SoftwareInterrupts++;
        if (intercepts is not null && InterceptSoftwareInterrupts)
        {
            var e = new ExceptionEvent { Vector = vector, Eip = returnEip, Source = InterruptSource.SoftwareInterrupt };
            InterceptAction a = intercepts.OnException(this, ref e);
            if (a == InterceptAction.Stop)
            {
                RequestStop(CpuExitReason.InterceptStop, $"stopped by the hypervisor at INT 0x{vector:X2}");
                return Status.Abort;
            }
            if (a == InterceptAction.Skip)
            {
                Eip = returnEip;
                return Status.Jump;
            }
            if (a == InterceptAction.Resume) return Status.Jump;
            vector = e.Vector;
        }
        if (!DeliverInterrupt(vector, InterruptSource.SoftwareInterrupt, false, 0, returnEip)) return Status.Fault;
        softwareInterruptTaken = true;
        return Status.Jump;
    }

    /// <summary>Delivers the pending fault, applying the double- and triple-fault rules. EIP is the faulting instruction.</summary>
    internal void DeliverPendingFault()
    {
        CpuFault first = pendingFault;
        pendingFault = default;
        DeliverException(first, depth: 0);
        CountDeliveryWithoutProgress();
    }

    /// <summary>How many fault deliveries in a row, with no instruction retired, make <see cref="Run"/> return.</summary>
    private const int DeliveriesWithoutProgressPerRun = 4096;

    /// <summary><see cref="InstructionsRetired"/> at the last fault delivery, and how many deliveries in a row found it so.</summary>
    private long progressMark = -1;
    private int deliveriesWithoutProgress;

    /// <summary>
    /// A guest can fault forever without retiring anything (a handler that is itself the faulting
    /// instruction: each delivery succeeds, so nothing escalates to a triple fault), and Run would
    /// then never return, however small its budget, leaving the VM's stop requests and a debugger's
    /// Ctrl-C unheard. So after a long enough run of such deliveries Run returns as if its budget
    /// were spent (<see cref="CpuExitReason.InstructionLimit"/>, with fewer instructions retired).
    /// That is no guest-visible event: calling Run again carries on exactly where it left off.
    /// </summary>
    private void CountDeliveryWithoutProgress()
    {
        if (InstructionsRetired != progressMark)
        {
            progressMark = InstructionsRetired;
            deliveriesWithoutProgress = 0;
        }
        // A stop already requested (a triple fault) is the real end and must not be replaced.
        if (++deliveriesWithoutProgress >= DeliveriesWithoutProgressPerRun && !stopRequested)
        {
            deliveriesWithoutProgress = 0;
            RequestStop(CpuExitReason.InstructionLimit, $"{DeliveriesWithoutProgressPerRun} exceptions delivered in a row without an instruction retiring (eip 0x{Eip:X8})");
        }
    }

    private void DeliverException(CpuFault f, int depth, bool intercept = true)
    {
        Counters.Exceptions++;
        var e = new ExceptionEvent
        {
            Vector = f.Vector,
            HasErrorCode = f.HasError,
            ErrorCode = f.ErrorCode,
            Eip = Eip,
            FaultAddress = f.Address,
            InstructionLength = depth == 0 ? faultingLength : 0,
            HasInstruction = hasFaultInstruction && depth == 0,
            Instruction = faultInstruction,
            Source = InterruptSource.Exception,
        };
        hasFaultInstruction = false;
        if (intercept && WantsException(f.Vector))
        {
            InterceptAction a = intercepts!.OnException(this, ref e);
            if (a == InterceptAction.Stop)
            {
                RequestStop(CpuExitReason.InterceptStop, $"stopped by the hypervisor at exception {f.Vector}");
                return;
            }
            if (a == InterceptAction.Skip)
            {
                // Emulated: the instruction retires and execution goes on after it.
                Eip += (uint)e.InstructionLength;
                InstructionsRetired++;
                return;
            }
            if (a == InterceptAction.Resume) return;
        }
        if (e.Vector == Vectors.PF)
        {
            // CR2 is written when the fault reaches the guest, not when it is detected.
            Cr2 = e.FaultAddress;
        }
        if (DeliverInterrupt(e.Vector, InterruptSource.Exception, e.HasErrorCode, e.ErrorCode, Eip))
        {
            return;
        }
        CpuFault second = pendingFault;
        pendingFault = default;
        // Chains end by themselves: delivery can only raise #TS/#NP/#SS/#GP/#PF, so a benign first
        // fault is followed by at most a serial contributory one, then #DF, then a triple fault.
        // The depth bound is only a backstop.
        if (f.Vector == Vectors.DF || depth >= 8)
        {
            TripleFault($"#{VectorName(second.Vector)} while delivering #{VectorName(f.Vector)}");
            return;
        }
        FaultClass c1 = ClassOf(f.Vector), c2 = ClassOf(second.Vector);
        bool doubleFault = (c1 == FaultClass.Contributory && c2 == FaultClass.Contributory)
            || (c1 == FaultClass.PageFault && c2 != FaultClass.Benign);
        DeliverException(doubleFault ? new CpuFault(Vectors.DF, true, 0) : second, depth + 1);
    }

    /// <summary>An external interrupt from the INTR line (IF is set, no shadow).</summary>
    internal void DeliverExternalInterrupt()
    {
        if (intercepts is not null && InterceptExternalInterrupts)
        {
            // Before the INTA cycle: the hypervisor decides whether (and when) the PIC is acknowledged.
            InterceptAction a = intercepts.OnExternalInterrupt(this);
            if (a == InterceptAction.Stop)
            {
                RequestStop(CpuExitReason.InterceptStop, $"stopped by the hypervisor at an external interrupt (eip 0x{Eip:X8})");
                return;
            }
            if (a != InterceptAction.Default)
            {
                if (injectionPending) DeliverInjected();
                return;
            }
        }
        byte vector = Platform.AcknowledgeInterrupt();
        Counters.ExternalInterrupts++;
        if (!DeliverInterrupt(vector, InterruptSource.External, false, 0, Eip))
        {
            DeliverPendingFault();
        }
    }

    private void TripleFault(string why)
    {
        RequestStop(CpuExitReason.TripleFault, $"triple fault: {why}\n{DescribeState()}");
    }

    /// <summary>Pushes the interrupt frame and enters the handler; false with a pending fault if that fails.</summary>
    internal bool DeliverInterrupt(int vector, InterruptSource source, bool hasError, uint errorCode, uint returnEip)
    {
        Halted = false;
        bool betweenIterations = midRepeat;
        midRepeat = false;
        if (!ProtectedMode)
        {
            return DeliverRealMode(vector, returnEip);
        }
        uint ext = source == InterruptSource.SoftwareInterrupt ? 0u : 1u;
        uint idtErr = (uint)(vector * 8 + 2) | ext;
        if ((uint)vector * 8 + 7 > Idtr.Limit)
        {
            Fault(Vectors.GP, idtErr, true);
            return false;
        }
        if (!ReadSys(Idtr.Base + (uint)vector * 8, 4, out uint lo) || !ReadSys(Idtr.Base + (uint)vector * 8 + 4, 4, out uint hi)) return false;
        int type = (int)((hi >> 8) & 0x1F);
        int gateDpl = (int)((hi >> 13) & 3);
        if (type is not (0x05 or 0x06 or 0x07 or 0x0E or 0x0F))
        {
            Fault(Vectors.GP, idtErr, true);
            return false;
        }
        if (source == InterruptSource.SoftwareInterrupt && gateDpl < Cpl)
        {
            Fault(Vectors.GP, idtErr, true);
            return false;
        }
        if ((hi & 0x8000) == 0)
        {
            Fault(Vectors.NP, idtErr, true);
            return false;
        }
        if (type == 0x05)
        {
            Unsupported($"an interrupt through a task gate (vector {vector})");
            pendingFault = default;
            return true;
        }
        bool gate32 = (type & 0x8) != 0;
        bool trapGate = (type & 1) != 0;
        ushort csSel = (ushort)(lo >> 16);
        uint offset = gate32 ? (lo & 0xFFFF) | (hi & 0xFFFF_0000) : lo & 0xFFFF;
        if ((csSel & 0xFFFC) == 0)
        {
            Fault(Vectors.GP, ext, true);
            return false;
        }
        if (!ReadDescriptor(csSel, out Descriptor cs, out _)) return false;
        uint csErr = (uint)(csSel & 0xFFFC) | ext;
        if (!cs.IsCode || cs.Dpl > Cpl)
        {
            Fault(Vectors.GP, csErr, true);
            return false;
        }
        if (!cs.Present)
        {
            Fault(Vectors.NP, csErr, true);
            return false;
        }
        int size = gate32 ? 4 : 2;
        uint oldFlags = Eflags | PushedResumeFlag(vector, source, betweenIterations);
        ushort oldCs = segs[SegReg.Cs].Selector;
        int newCpl = cs.IsConforming ? Cpl : cs.Dpl;
        if (newCpl < Cpl)
        {
            // Inter-privilege: the handler's stack comes from the TSS for the new ring.
            if (!ReadTssStack(newCpl, ext, out ushort ssSel, out uint esp, out Descriptor ss)) return false;
            uint top = ss.Big ? esp : esp & 0xFFFF;
            int frame = (hasError ? 6 : 5) * size;
            uint newEsp = top - (uint)frame;
            uint lin = ss.Base + newEsp;
            if (!ss.Big) newEsp &= 0xFFFF;
            bool user = newCpl == 3;
            if (!ProbeWrite(lin, frame, user)) return false;
            uint p = lin + (uint)frame;
            p -= (uint)size; WriteLinSlow(p, size, segs[SegReg.Ss].Selector, user);
            p -= (uint)size; WriteLinSlow(p, size, R(Reg.Esp), user);
            p -= (uint)size; WriteLinSlow(p, size, oldFlags, user);
            p -= (uint)size; WriteLinSlow(p, size, oldCs, user);
            p -= (uint)size; WriteLinSlow(p, size, returnEip, user);
            if (hasError)
            {
                p -= (uint)size;
                WriteLinSlow(p, size, errorCode, user);
            }
            segs[SegReg.Ss] = ss.ToCache(ssSel);
            R(Reg.Esp) = ss.Big ? newEsp : (esp & 0xFFFF_0000) | newEsp;
        }
        else
        {
            int frame = (hasError ? 4 : 3) * size;
            uint esp = R(Reg.Esp);
            uint newEsp = StepEsp(esp, -frame);
            if (!ProbeWriteSeg(SegReg.Ss, newEsp & stackMask, frame)) return false;
            uint p = esp;
            p = StepEsp(p, -size); WriteSeg(SegReg.Ss, p & stackMask, size, oldFlags);
            p = StepEsp(p, -size); WriteSeg(SegReg.Ss, p & stackMask, size, oldCs);
            p = StepEsp(p, -size); WriteSeg(SegReg.Ss, p & stackMask, size, returnEip);
            if (hasError)
            {
                p = StepEsp(p, -size);
                WriteSeg(SegReg.Ss, p & stackMask, size, errorCode);
            }
            R(Reg.Esp) = newEsp;
        }
        LoadCodeSegment(csSel, in cs, newCpl);
        Eip = offset;
        flagsRest &= ~(EFlags.TF | EFlags.NT | EFlags.RF | EFlags.VM);
        if (!trapGate) flagsRest &= ~EFlags.IF;
        return true;
    }

    /// <summary>SS:ESP for ring <paramref name="cpl"/> from the current TSS, with the #TS/#SS checks.</summary>
    private bool ReadTssStack(int cpl, uint ext, out ushort ssSel, out uint esp, out Descriptor ss)
    {
        ssSel = 0;
        esp = 0;
        ss = default;
        bool tss32 = (Tr.Type & 0x8) != 0;
        uint espOffset = tss32 ? (uint)(4 + 8 * cpl) : (uint)(2 + 4 * cpl);
        uint ssOffset = tss32 ? espOffset + 4 : espOffset + 2;
        uint trErr = (uint)(Tr.Selector & 0xFFFC) | ext;
        if (Tr.Selector == 0 || ssOffset + 1 > Tr.Limit)
        {
            Fault(Vectors.TS, trErr, true);
            return false;
        }
        if (!ReadSys(Tr.Base + espOffset, tss32 ? 4 : 2, out esp) || !ReadSys(Tr.Base + ssOffset, 2, out uint ssv)) return false;
        ssSel = (ushort)ssv;
        uint ssErr = (uint)(ssSel & 0xFFFC) | ext;
        if ((ssSel & 0xFFFC) == 0)
        {
            Fault(Vectors.TS, ext, true);
            return false;
        }
        if ((ssSel & 3) != cpl)
        {
            Fault(Vectors.TS, ssErr, true);
            return false;
        }
        if (!ReadDescriptor(ssSel, out ss, out _, Vectors.TS)) return false;
        if (!ss.IsWritableData || ss.Dpl != cpl)
        {
            Fault(Vectors.TS, ssErr, true);
            return false;
        }
        if (!ss.Present)
        {
            Fault(Vectors.SS, ssErr, true);
            return false;
        }
        return true;
    }

    private bool DeliverRealMode(int vector, uint returnEip)
    {
        uint entry = Idtr.Base + (uint)vector * 4;
        if ((uint)vector * 4 + 3 > Idtr.Limit)
        {
            Fault(Vectors.GP, 0, false);
            return false;
        }
        if (!ReadLin(entry, 2, out uint ip) || !ReadLin(entry + 2, 2, out uint cs)) return false;
        uint flags = Eflags;
        if (!Push(2, flags & 0xFFFF) || !Push(2, segs[SegReg.Cs].Selector) || !Push(2, returnEip & 0xFFFF)) return false;
        flagsRest &= ~(EFlags.IF | EFlags.TF | EFlags.AC);
        LoadRealModeCs((ushort)cs);
        Eip = ip;
        return true;
    }

    public static string VectorName(int vector) => vector switch
    {
        0 => "DE",
        1 => "DB",
        2 => "NMI",
        3 => "BP",
        4 => "OF",
        5 => "BR",
        6 => "UD",
        7 => "NM",
        8 => "DF",
        10 => "TS",
        11 => "NP",
        12 => "SS",
        13 => "GP",
        14 => "PF",
        16 => "MF",
        17 => "AC",
        _ => vector.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
