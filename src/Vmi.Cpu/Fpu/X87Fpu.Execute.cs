namespace Vmi.Cpu.Fpu;

public sealed partial class X87Fpu
{
    /// <summary>
    /// Executes one decoded x87 instruction. <paramref name="memory"/> holds the memory operand the
    /// CPU read (loads, arithmetic, FLDCW, FLDENV, FRSTOR) or receives what is to be written (stores:
    /// written back only when the outcome says so). For FCMOVcc, <paramref name="extra"/> is 1 when
    /// the condition holds; for FNSTENV/FLDENV/FNSAVE/FRSTOR it carries the layout bits of
    /// <see cref="X87Layout"/>; otherwise it is the Imm field of the µop.
    /// </summary>
    public X87Outcome Execute(X87Op op, int r, int i, int extra, X87Format format, Span<byte> memory)
    {
        switch (op)
        {
            case X87Op.ArithMemory: ArithMemory(r, format, memory); return X87Outcome.None;
            case X87Op.ArithRegister: ArithRegister(r, i, extra); return X87Outcome.None;
            case X87Op.CompareRegister: CompareRegister(i, quiet: r == 1, pops: extra); return X87Outcome.None;
            case X87Op.CompareEflags: return CompareEflags(i, quiet: r == 1, pops: extra);
            case X87Op.Test: Test(); return X87Outcome.None;
            case X87Op.Examine: Examine(); return X87Outcome.None;
            case X87Op.LoadMemory: LoadMemory(format, memory); return X87Outcome.None;
            case X87Op.LoadRegister: LoadRegister(i); return X87Outcome.None;
            case X87Op.LoadConstant: LoadConstant(r); return X87Outcome.None;
            case X87Op.StoreMemory: return StoreMemory(format, memory, extra);
            case X87Op.StoreRegister: StoreRegister(i, extra); return X87Outcome.None;
            case X87Op.Unary: Unary(r); return X87Outcome.None;
            case X87Op.Exchange: Exchange(i); return X87Outcome.None;
            case X87Op.Free: SetEmpty(i, true); SetC1(false); return X87Outcome.None;
            case X87Op.FreePop: SetEmpty(i, true); Pop(); return X87Outcome.None;
            case X87Op.IncrementTop: Top = Top + 1; SetC1(false); return X87Outcome.None;
            case X87Op.DecrementTop: Top = Top - 1; SetC1(false); return X87Outcome.None;
            case X87Op.Nop: return X87Outcome.None;
            case X87Op.ConditionalMove: ConditionalMove(i, extra != 0); return X87Outcome.None;
            case X87Op.Init: Initialize(); return X87Outcome.None;
            case X87Op.ClearExceptions:
                Status &= unchecked((ushort)~(FpuExceptions.All | FpuExceptions.StackFault | FpuStatus.ErrorSummary | FpuStatus.Busy));
                return X87Outcome.None;
            case X87Op.StoreStatus: BitConverter.TryWriteBytes(memory, Status); return X87Outcome.WritesMemory;
            case X87Op.StoreStatusAx: return X87Outcome.WritesAx;
            case X87Op.StoreControl: BitConverter.TryWriteBytes(memory, Control); return X87Outcome.WritesMemory;
            case X87Op.LoadControl: LoadControl(BitConverter.ToUInt16(memory)); return X87Outcome.None;
            case X87Op.StoreEnvironment: StoreEnvironment(memory, (X87Layout)extra); return X87Outcome.WritesMemory;
            case X87Op.LoadEnvironment: LoadEnvironment(memory, (X87Layout)extra); return X87Outcome.None;
            case X87Op.Save: Save(memory, (X87Layout)extra); return X87Outcome.WritesMemory;
            case X87Op.Restore: Restore(memory, (X87Layout)extra); return X87Outcome.None;
            default: return X87Outcome.None;
        }
    }

    /// <summary>FLDCW: bit 6 reads back as 1 and the undefined high bits as 0, as on P6 and later parts.</summary>
    public void LoadControl(ushort value)
    {
        Control = (ushort)((value & FpuControl.Defined) | 0x40);
        UpdateErrorSummary();
    }

    private RoundingFormat RegisterFormat => RoundingFormat.Register(new FpuOperation(Control).PrecisionBits);

    private static Float80 Binary(ref FpuOperation op, int kind, Float80 a, Float80 b, in RoundingFormat format) => kind switch
    {
        X87Arith.Add => Arithmetic.Add(ref op, a, b, in format),
        X87Arith.Multiply => Arithmetic.Multiply(ref op, a, b, in format),
        X87Arith.Subtract => Arithmetic.Subtract(ref op, a, b, in format),
        X87Arith.SubtractReverse => Arithmetic.Subtract(ref op, b, a, in format),
        X87Arith.Divide => Arithmetic.Divide(ref op, a, b, in format),
        _ => Arithmetic.Divide(ref op, b, a, in format),
    };

    /// <summary>
    /// A memory operand: integers are exact; single and double are widened exactly, a denormal raising
    /// DE. As an arithmetic source an SNaN stays signaling (the operation reports it); FLD quiets it.
    /// </summary>
    private static Float80 MemoryOperand(ref FpuOperation op, X87Format format, ReadOnlySpan<byte> memory, bool quietNaNs)
    {
        switch (format)
        {
            case X87Format.Int16: return IntegerConversion.FromInt64(BitConverter.ToInt16(memory));
            case X87Format.Int32: return IntegerConversion.FromInt64(BitConverter.ToInt32(memory));
            case X87Format.Int64: return IntegerConversion.FromInt64(BitConverter.ToInt64(memory));
            case X87Format.Single:
                {
                    uint bits = BitConverter.ToUInt32(memory);
                    if (!quietNaNs && (bits & 0x7FC0_0000) == 0x7F80_0000 && (bits & 0x003F_FFFF) != 0)
                    {
                        return Float80.Pack((bits >> 31) != 0, Float80.MaxExponent, Float80.IntegerBit | ((ulong)(bits & 0x7F_FFFF) << 40));
                    }
                    return Widen(ref op, BinaryConversion.FromSingle(ref op, bits), quietNaNs);
                }
            case X87Format.Double:
                {
                    ulong bits = BitConverter.ToUInt64(memory);
                    if (!quietNaNs && (bits & 0x7FF8_0000_0000_0000) == 0x7FF0_0000_0000_0000 && (bits & 0x0007_FFFF_FFFF_FFFF) != 0)
                    {
                        return Float80.Pack((bits >> 63) != 0, Float80.MaxExponent, Float80.IntegerBit | ((bits & 0x000F_FFFF_FFFF_FFFF) << 11));
                    }
                    return Widen(ref op, BinaryConversion.FromDouble(ref op, bits), quietNaNs);
                }
            case X87Format.Bcd: return BcdConversion.FromBcd(memory);
            default: return Float80.ReadFrom(memory);
        }
    }

    /// <summary>As an arithmetic source a denormal's DE is left to the operation (<see cref="FpuOperation.SourceDenormal"/>).</summary>
    private static Float80 Widen(ref FpuOperation op, Float80 value, bool load)
    {
        if (!load && (op.Raised & FpuExceptions.Denormal) != 0)
        {
            op.Raised &= unchecked((ushort)~FpuExceptions.Denormal);
            op.SourceDenormal = true;
        }
        return value;
    }

    private void ArithMemory(int kind, X87Format format, ReadOnlySpan<byte> memory)
    {
        bool compare = kind is X87Arith.Compare or X87Arith.ComparePop;
        if (IsEmpty(0))
        {
            bool masked = StackFault(overflow: false);
            // A comparison reports "unordered" even when the fault is unmasked.
            if (compare) SetConditionCodes(FpuStatus.C3 | FpuStatus.C2 | FpuStatus.C0, 0xFFFF);
            if (!masked) return;
            if (!compare) Write(0, Float80.Indefinite);
            if (kind == X87Arith.ComparePop) Pop();
            return;
        }
        var op = new FpuOperation(Control);
        Float80 b = MemoryOperand(ref op, format, memory, quietNaNs: false);
        if (op.Suppressed)
        {
            Complete(in op);
            return;
        }
        if (compare)
        {
            CompareResult result = Comparison.Compare(ref op, St(0), b, quiet: false);
            Complete(in op);
            // The condition codes are written even when an unmasked exception stops the pop.
            SetConditionCodes(FpuStatus.C3 | FpuStatus.C2 | FpuStatus.C0, Comparison.ConditionCodes(result));
            if (kind == X87Arith.ComparePop && !op.Suppressed) Pop();
            return;
        }
        RoundingFormat f = RegisterFormat;
        Float80 r = Binary(ref op, kind, St(0), b, in f);
        Complete(in op);
        if (!op.Suppressed) Write(0, r);
    }

    private void ArithRegister(int kind, int i, int form)
    {
        int destination = (form & X87RegisterForm.DestinationSti) != 0 ? i : 0;
        int source = destination == 0 ? i : 0;
        bool pop = (form & X87RegisterForm.Pop) != 0;
        if (IsEmpty(0) || IsEmpty(i))
        {
            if (StackFault(overflow: false))
            {
                Write(destination, Float80.Indefinite);
                if (pop) Pop();
            }
            return;
        }
        var op = new FpuOperation(Control);
        RoundingFormat f = RegisterFormat;
        Float80 r = Binary(ref op, kind, St(destination), St(source), in f);
        Complete(in op);
        if (op.Suppressed) return;
        Write(destination, r);
        if (pop) Pop();
    }

    private void CompareRegister(int i, bool quiet, int pops)
    {
        const ushort Codes = FpuStatus.C3 | FpuStatus.C2 | FpuStatus.C0;
        if (IsEmpty(0) || IsEmpty(i))
        {
            bool masked = StackFault(overflow: false);
            SetConditionCodes(Codes, Codes);
            if (masked)
            {
                for (int k = 0; k < pops; k++) Pop();
            }
            return;
        }
        var op = new FpuOperation(Control);
        CompareResult result = Comparison.Compare(ref op, St(0), St(i), quiet);
        Complete(in op);
        SetConditionCodes(Codes, Comparison.ConditionCodes(result));
        if (op.Suppressed) return;
        for (int k = 0; k < pops; k++) Pop();
    }

    private X87Outcome CompareEflags(int i, bool quiet, int pops)
    {
        if (IsEmpty(0) || IsEmpty(i))
        {
            bool masked = StackFault(overflow: false);
            ComparisonEflags = Comparison.Eflags(CompareResult.Unordered);
            if (masked)
            {
                for (int k = 0; k < pops; k++) Pop();
            }
            return X87Outcome.WritesEflags;
        }
        // FCOMI leaves C1 as it was (only a stack fault writes it); ZF/PF/CF are written even when an
        // unmasked exception stops the pop.
        var op = new FpuOperation(Control);
        CompareResult result = Comparison.Compare(ref op, St(0), St(i), quiet);
        ushort c1 = (ushort)(Status & FpuStatus.C1);
        Complete(in op);
        Status = (ushort)((Status & ~FpuStatus.C1) | c1);
        ComparisonEflags = Comparison.Eflags(result);
        if (op.Suppressed) return X87Outcome.WritesEflags;
        for (int k = 0; k < pops; k++) Pop();
        return X87Outcome.WritesEflags;
    }

    private void Test()
    {
        const ushort Codes = FpuStatus.C3 | FpuStatus.C2 | FpuStatus.C0;
        if (IsEmpty(0))
        {
            StackFault(overflow: false);
            SetConditionCodes(Codes, Codes);
            return;
        }
        var op = new FpuOperation(Control);
        CompareResult result = Comparison.Compare(ref op, St(0), Float80.Zero, quiet: false);
        Complete(in op);
        SetConditionCodes(Codes, Comparison.ConditionCodes(result));
    }

    /// <summary>FXAM: C3 C2 C0 classify ST(0), C1 is its sign; never an exception.</summary>
    private void Examine()
    {
        Float80 x = St(0);
        ushort codes;
        if (IsEmpty(0))
        {
            codes = FpuStatus.C3 | FpuStatus.C0;
        }
        else
        {
            codes = x.Class switch
            {
                Float80Class.Unsupported => 0,
                Float80Class.QuietNaN or Float80Class.SignalingNaN => FpuStatus.C0,
                Float80Class.Normal => FpuStatus.C2,
                Float80Class.Infinity => FpuStatus.C2 | FpuStatus.C0,
                Float80Class.Zero => FpuStatus.C3,
                _ => FpuStatus.C3 | FpuStatus.C2,
            };
        }
        if (x.Sign) codes |= FpuStatus.C1;
        SetConditionCodes(FpuStatus.ConditionCodes, codes);
    }

    private void LoadMemory(X87Format format, ReadOnlySpan<byte> memory)
    {
        if (PushOverflows(out bool masked))
        {
            if (masked) ForcePush(Float80.Indefinite);
            return;
        }
        var op = new FpuOperation(Control);
        Float80 v = MemoryOperand(ref op, format, memory, quietNaNs: true);
        Complete(in op);
        // An unmasked DE does not stop a load: the widened value is pushed and #MF comes later.
        if (!op.HasUnmasked(FpuExceptions.Invalid)) ForcePush(v);
    }

    private void ForcePush(Float80 value)
    {
        Top = Top - 1;
        Write(0, value);
    }

    private void LoadRegister(int i)
    {
        if (PushOverflows(out bool masked))
        {
            if (masked) ForcePush(Float80.Indefinite);
            return;
        }
        if (IsEmpty(i))
        {
            if (StackFault(overflow: false)) ForcePush(Float80.Indefinite);
            return;
        }
        SetC1(false);
        ForcePush(St(i));
    }

    private void StoreRegister(int i, int pops)
    {
        if (IsEmpty(0))
        {
            if (!StackFault(overflow: false)) return;
            Write(i, Float80.Indefinite);
        }
        else
        {
            SetC1(false);
            Write(i, St(0));
        }
        if (pops > 0) Pop();
    }

    private X87Outcome StoreMemory(X87Format format, Span<byte> memory, int pops)
    {
        if (IsEmpty(0))
        {
            if (!StackFault(overflow: false)) return X87Outcome.None;
            WriteIndefinite(format, memory);
            if (pops > 0) Pop();
            return X87Outcome.WritesMemory;
        }
        var op = new FpuOperation(Control);
        Float80 x = St(0);
        bool stored = true;
        switch (format)
        {
            case X87Format.Single:
                BitConverter.TryWriteBytes(memory, BinaryConversion.ToSingle(ref op, x));
                stored = BinaryConversion.Stores(in op);
                break;
            case X87Format.Double:
                BitConverter.TryWriteBytes(memory, BinaryConversion.ToDouble(ref op, x));
                stored = BinaryConversion.Stores(in op);
                break;
            case X87Format.Extended:
                x.WriteTo(memory);
                break;
            case X87Format.Bcd:
                if (!BcdConversion.ToBcd(ref op, x, memory)) BcdConversion.WriteIndefinite(memory);
                stored = !op.HasUnmasked(FpuExceptions.Invalid | FpuExceptions.Denormal);
                break;
            default:
                {
                    int bits = 8 * X87FormatInfo.Size(format);
                    IntegerConversion.ToInteger(ref op, x, bits, out long value);
                    WriteInteger(memory, bits, value);
                    stored = !op.HasUnmasked(FpuExceptions.Invalid | FpuExceptions.Denormal);
                    break;
                }
        }
        Complete(in op);
        if (!stored) return X87Outcome.None;
        if (pops > 0) Pop();
        return X87Outcome.WritesMemory;
    }

    private static void WriteInteger(Span<byte> memory, int bits, long value)
    {
        switch (bits)
        {
            case 16: BitConverter.TryWriteBytes(memory, (short)value); break;
            case 32: BitConverter.TryWriteBytes(memory, (int)value); break;
            default: BitConverter.TryWriteBytes(memory, value); break;
        }
    }

    /// <summary>The masked response of a store from an empty register: the indefinite of the destination format.</summary>
    private static void WriteIndefinite(X87Format format, Span<byte> memory)
    {
        switch (format)
        {
            case X87Format.Single: BitConverter.TryWriteBytes(memory, 0xFFC0_0000u); break;
            case X87Format.Double: BitConverter.TryWriteBytes(memory, 0xFFF8_0000_0000_0000ul); break;
            case X87Format.Extended: Float80.Indefinite.WriteTo(memory); break;
            case X87Format.Bcd: BcdConversion.WriteIndefinite(memory); break;
            default: WriteInteger(memory, 8 * X87FormatInfo.Size(format), long.MinValue >> (64 - 8 * X87FormatInfo.Size(format))); break;
        }
    }

    private void Exchange(int i)
    {
        if (IsEmpty(0) || IsEmpty(i))
        {
            if (!StackFault(overflow: false)) return;
            if (IsEmpty(0)) Write(0, Float80.Indefinite);
            if (IsEmpty(i)) Write(i, Float80.Indefinite);
        }
        else
        {
            SetC1(false);
        }
        (St(0), St(i)) = (St(i), St(0));
    }

    private void ConditionalMove(int i, bool condition)
    {
        // FCMOVcc leaves C1 alone; on a masked stack underflow ST(0) gets the indefinite whatever the condition.
        if (IsEmpty(0) || IsEmpty(i))
        {
            if (StackFault(overflow: false)) Write(0, Float80.Indefinite);
            return;
        }
        if (condition) Write(0, St(i));
    }
}
