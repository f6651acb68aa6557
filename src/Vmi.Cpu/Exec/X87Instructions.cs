using Vmi.Cpu.Decode;
using Vmi.Cpu.Fpu;

namespace Vmi.Cpu;

/// <summary>
/// The x87 instructions on this CPU: the CR0 rules (EM, TS, MP, NE), pending-exception delivery
/// (#MF, or FERR#/IGNNE# when NE = 0), memory operands through the normal segmented, paged,
/// bounds-checked paths, then <see cref="X87Fpu"/> for the semantics. A faulting memory operand
/// leaves the FPU untouched: loads are read completely before anything executes, and store
/// destinations are probed for writability first.
/// </summary>
public sealed unsafe partial class Cpu
{
    private readonly X87Fpu fpu = new();

    /// <summary>The x87 state (registers, control/status/tag words, last pointers).</summary>
    public X87Fpu X87State => fpu;

    /// <summary>The IGNNE# pin: while set (and CR0.NE = 0) pending x87 errors are ignored.</summary>
    public bool IgnoreNumericErrors { get; set; }

    private bool ferrAsserted;

    private const int MaxX87Operand = 108;

    private void ResetFpu()
    {
        fpu.Reset();
        IgnoreNumericErrors = false;
        SetFerr(false);
    }

    internal int X87(ref Uop u)
    {
        // CR0.EM: no coprocessor, so every x87 instruction traps for emulation; CR0.TS: the x87 state
        // belongs to another task (SDM Vol. 3 §2.5, Table 2-2).
        if ((Cr0Value & (Cr0Bits.EM | Cr0Bits.TS)) != 0) return Fault(Vectors.NM);
        var op = (X87Op)u.Sub;
        if (op is X87Op.ConditionalMove or X87Op.CompareEflags && (Model.FeaturesEdx & CpuidBits.Cmov) == 0) return FaultUd();
        if ((u.Imm2 & X87UopFlags.Waiting) != 0 && fpu.ErrorPending && NumericErrorBlocks()) return Fault(Vectors.MF);

        Span<byte> operand = stackalloc byte[MaxX87Operand];
        int size = u.IsMem ? u.Size : 0;
        operand = operand[..size];
        uint offset = u.IsMem ? Ea(ref u) : 0;
        if (u.IsMem)
        {
            if (ReadsMemory(op))
            {
                if (!ReadBytes(u.Seg, offset, operand, (u.Flags & UopFlags.Addr16) != 0)) return Status.Fault;
            }
            else if (!ProbeWriteSeg(u.Seg, offset, size))
            {
                return Status.Fault;
            }
        }
        if ((u.Imm2 & X87UopFlags.Control) == 0)
        {
            // The last-instruction pointers (the opcode field is not tracked: it stays 0).
            fpu.InstructionPointer = Eip;
            fpu.InstructionSelector = segs[SegReg.Cs].Selector;
            if (u.IsMem)
            {
                fpu.OperandPointer = offset;
                fpu.OperandSelector = segs[u.Seg].Selector;
            }
        }
        bool protectedLayout = ProtectedMode && (flagsRest & EFlags.VM) == 0;
        X87Outcome outcome = X87UopRunner.Run(fpu, in u, operand, Eflags, protectedLayout);
        if ((outcome & X87Outcome.WritesMemory) != 0 && !WriteBytes(u.Seg, offset, operand, (u.Flags & UopFlags.Addr16) != 0))
        {
            return Status.Fault;
        }
        if ((outcome & X87Outcome.WritesEflags) != 0) MergeArithFlags(EFlags.Arith, fpu.ComparisonEflags);
        if ((outcome & X87Outcome.WritesAx) != 0) SetReg(2, Reg.Eax, fpu.Status);
        SetFerr(fpu.ErrorPending && (Cr0Value & Cr0Bits.NE) == 0);
        return Status.Next;
    }

    /// <summary>WAIT/FWAIT: #NM when MP and TS are both set; otherwise it delivers a pending x87 error.</summary>
    internal int Fwait(ref Uop u)
    {
        if (u.Sub == 1) return Emms();
        if ((Cr0Value & (Cr0Bits.MP | Cr0Bits.TS)) == (Cr0Bits.MP | Cr0Bits.TS)) return Fault(Vectors.NM);
        if (fpu.ErrorPending && NumericErrorBlocks()) return Fault(Vectors.MF);
        return Status.Next;
    }

    /// <summary>
    /// EMMS, the one MMX instruction this CPU executes (CPUID does not report MMX): it marks every
    /// x87 register empty. Linux runs it on every AMD part whatever CPUID says (its FXSAVE-leak
    /// workaround in restore_fpregs_from_fpstate). As an MMX instruction it is #UD with CR0.EM, #NM
    /// with CR0.TS, and delivers a pending x87 error first (SDM Vol. 2, EMMS).
    /// </summary>
    private int Emms()
    {
        if ((Cr0Value & Cr0Bits.EM) != 0) return FaultUd();
        if ((Cr0Value & Cr0Bits.TS) != 0) return Fault(Vectors.NM);
        if (fpu.ErrorPending && NumericErrorBlocks()) return Fault(Vectors.MF);
        fpu.LoadTagWord(0xFFFF);
        return Status.Next;
    }

    /// <summary>
    /// A waiting instruction met a pending unmasked exception. With CR0.NE = 1 that is #MF. With
    /// NE = 0 the error was reported on FERR# (IRQ 13 on a PC) when it happened; the instruction goes
    /// on, as it does on a PC once the handler has written port 0xF0 (IGNNE#) — the freeze a real
    /// CPU may sit in until that interrupt arrives is not modelled.
    /// </summary>
    private bool NumericErrorBlocks()
    {
        if ((Cr0Value & Cr0Bits.NE) != 0) return true;
        SetFerr(true);
        return false;
    }

    private void SetFerr(bool asserted)
    {
        if (asserted == ferrAsserted) return;
        ferrAsserted = asserted;
        if (!asserted) IgnoreNumericErrors = false;
        Platform.FloatingPointError(asserted);
    }

    private static bool ReadsMemory(X87Op op) =>
        op is X87Op.ArithMemory or X87Op.LoadMemory or X87Op.LoadControl or X87Op.LoadEnvironment or X87Op.Restore;

    /// <summary>Reads an operand byte by byte in dword steps; the offset wraps at 64 KiB with 16-bit addressing.</summary>
    private bool ReadBytes(int seg, uint offset, Span<byte> destination, bool addr16)
    {
        for (int i = 0; i < destination.Length;)
        {
            int chunk = Math.Min(4, destination.Length - i);
            if (chunk == 3) chunk = 2;
            uint at = addr16 ? (offset + (uint)i) & 0xFFFF : offset + (uint)i;
            if (!ReadSeg(seg, at, chunk, out uint value)) return false;
            for (int k = 0; k < chunk; k++) destination[i + k] = (byte)(value >> (8 * k));
            i += chunk;
        }
        return true;
    }

    private bool WriteBytes(int seg, uint offset, ReadOnlySpan<byte> source, bool addr16)
    {
        for (int i = 0; i < source.Length;)
        {
            int chunk = Math.Min(4, source.Length - i);
            if (chunk == 3) chunk = 2;
            uint value = 0;
            for (int k = 0; k < chunk; k++) value |= (uint)source[i + k] << (8 * k);
            uint at = addr16 ? (offset + (uint)i) & 0xFFFF : offset + (uint)i;
            if (!WriteSeg(seg, at, chunk, value)) return false;
            i += chunk;
        }
        return true;
    }
}
