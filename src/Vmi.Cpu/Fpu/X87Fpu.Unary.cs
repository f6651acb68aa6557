namespace Vmi.Cpu.Fpu;

public sealed partial class X87Fpu
{
    private void Unary(int kind)
    {
        switch (kind)
        {
            case X87Unary.ChangeSign or X87Unary.Absolute:
                if (IsEmpty(0))
                {
                    if (StackFault(overflow: false)) Write(0, Float80.Indefinite);
                    return;
                }
                SetC1(false);
                St(0) = kind == X87Unary.ChangeSign ? St(0).Negate() : St(0).Abs();
                return;
            case X87Unary.SquareRoot or X87Unary.RoundToInteger:
                {
                    if (UnderflowOneOperand()) return;
                    var op = new FpuOperation(Control);
                    RoundingFormat f = RegisterFormat;
                    Float80 r = kind == X87Unary.SquareRoot
                        ? Arithmetic.SquareRoot(ref op, St(0), in f)
                        : IntegerConversion.RoundToIntegral(ref op, St(0));
                    Complete(in op);
                    if (!op.Suppressed) Write(0, r);
                    return;
                }
            case X87Unary.Scale:
                {
                    if (UnderflowTwoOperands()) return;
                    var op = new FpuOperation(Control);
                    Float80 r = Scaling.Scale(ref op, St(0), St(1));
                    Complete(in op);
                    if (!op.Suppressed) Write(0, r);
                    return;
                }
            case X87Unary.PartialRemainder or X87Unary.PartialRemainderIeee:
                {
                    // C2 ("incomplete") is cleared on every path that does not reduce; C0 and C3 then stay.
                    if (UnderflowTwoOperands())
                    {
                        SetConditionCodes(FpuStatus.C2, 0);
                        return;
                    }
                    var op = new FpuOperation(Control);
                    Float80 r = Remainder.Compute(ref op, St(0), St(1), kind == X87Unary.PartialRemainderIeee, out ushort codes);
                    Complete(in op);
                    if ((op.Raised & FpuExceptions.Invalid) != 0 || St(0).IsNaN || St(1).IsNaN)
                    {
                        SetConditionCodes(FpuStatus.C2, 0);
                        if (!op.Suppressed) Write(0, r);
                        return;
                    }
                    if (op.Suppressed)
                    {
                        SetConditionCodes(FpuStatus.C2, 0);
                        return;
                    }
                    Write(0, r);
                    SetConditionCodes(FpuStatus.ConditionCodes, codes);
                    return;
                }
            case X87Unary.Extract:
                Extract();
                return;
            default:
                Transcendental(kind);
                return;
        }
    }

    /// <summary>ST(0) empty: the underflow fault, and with it masked the indefinite in ST(0). True when the instruction is over.</summary>
    private bool UnderflowOneOperand()
    {
        if (!IsEmpty(0)) return false;
        if (StackFault(overflow: false)) Write(0, Float80.Indefinite);
        return true;
    }

    /// <summary>
    /// The stack checks of an instruction that replaces ST(0) and pushes a second result (FXTRACT,
    /// FPTAN, FSINCOS): an empty ST(0) is an underflow, a full ST(7) an overflow; masked, both leave
    /// the indefinite in the places the results would take. True when a fault was handled.
    /// </summary>
    private bool StackFaultBeforeReplaceAndPush()
    {
        if (IsEmpty(0))
        {
            if (StackFault(overflow: false))
            {
                Write(0, Float80.Indefinite);
                if (IsEmpty(-1 & 7)) ForcePush(Float80.Indefinite);
            }
            return true;
        }
        if (PushOverflows(out bool masked))
        {
            if (masked)
            {
                Write(0, Float80.Indefinite);
                ForcePush(Float80.Indefinite);
            }
            return true;
        }
        return false;
    }

    private bool UnderflowTwoOperands()
    {
        if (!IsEmpty(0) && !IsEmpty(1)) return false;
        if (StackFault(overflow: false)) Write(0, Float80.Indefinite);
        return true;
    }

    private void Extract()
    {
        if (StackFaultBeforeReplaceAndPush())
        {
            return;
        }
        var op = new FpuOperation(Control);
        (Float80 exponent, Float80 significand) = Scaling.Extract(ref op, St(0));
        Complete(in op);
        if (op.Suppressed) return;
        Write(0, exponent);
        ForcePush(significand);
    }

    private void LoadConstant(int which)
    {
        if (PushOverflows(out bool masked))
        {
            if (masked) ForcePush(Float80.Indefinite);
            return;
        }
        SetC1(false);
        ForcePush(Constants.Get(which, (RoundingMode)((Control >> FpuControl.RoundingShift) & 3)));
    }
}
