namespace Vmi.Cpu.Fpu;

public sealed partial class X87Fpu
{
    private void Transcendental(int kind)
    {
        switch (kind)
        {
            case X87Unary.TwoToXMinusOne or X87Unary.Sine or X87Unary.Cosine:
                ReplaceTop(kind);
                return;
            case X87Unary.YLog2X or X87Unary.YLog2XPlusOne or X87Unary.PartialArctangent:
                IntoSecondThenPop(kind);
                return;
            default:
                ReplaceTopThenPush(kind);
                return;
        }
    }

    /// <summary>F2XM1, FSIN, FCOS: ST(0) ← f(ST(0)); C2 reports an out-of-range operand (|x| ≥ 2^63), left unchanged.</summary>
    private void ReplaceTop(int kind)
    {
        bool trigonometric = kind != X87Unary.TwoToXMinusOne;
        if (IsEmpty(0))
        {
            // C2 ("out of range") is cleared by a stack fault too.
            if (trigonometric) SetConditionCodes(FpuStatus.C2, 0);
            UnderflowOneOperand();
            return;
        }
        var op = new FpuOperation(Control);
        bool outOfRange = false;
        Float80 r = kind == X87Unary.TwoToXMinusOne
            ? Fpu.Transcendental.TwoToXMinusOne(ref op, St(0))
            : Fpu.Transcendental.Trigonometric(ref op, St(0), kind == X87Unary.Sine ? Fpu.Transcendental.Trig.Sine : Fpu.Transcendental.Trig.Cosine, out outOfRange);
        Complete(in op);
        if (trigonometric) SetConditionCodes(FpuStatus.C2, outOfRange ? FpuStatus.C2 : (ushort)0);
        if (!op.Suppressed && !outOfRange) Write(0, r);
    }

    /// <summary>FYL2X, FYL2XP1, FPATAN: ST(1) ← f(ST(0), ST(1)), then pop.</summary>
    private void IntoSecondThenPop(int kind)
    {
        if (IsEmpty(0) || IsEmpty(1))
        {
            if (!StackFault(overflow: false)) return;
            Write(1, Float80.Indefinite);
            Pop();
            return;
        }
        var op = new FpuOperation(Control);
        Float80 x = St(0), y = St(1);
        Float80 r = kind switch
        {
            X87Unary.YLog2X => Fpu.Transcendental.YLog2X(ref op, x, y),
            X87Unary.YLog2XPlusOne => Fpu.Transcendental.YLog2XPlusOne(ref op, x, y),
            _ => Fpu.Transcendental.PartialArctangent(ref op, x, y),
        };
        Complete(in op);
        if (op.Suppressed) return;
        Write(1, r);
        Pop();
    }

    /// <summary>
    /// FPTAN (ST(0) ← tan, push 1.0) and FSINCOS (ST(0) ← sin, push cos). An out-of-range operand
    /// sets C2 and pushes nothing.
    /// </summary>
    private void ReplaceTopThenPush(int kind)
    {
        // C2 ("out of range") is cleared by a stack fault too.
        SetConditionCodes(FpuStatus.C2, 0);
        if (StackFaultBeforeReplaceAndPush())
        {
            return;
        }
        var op = new FpuOperation(Control);
        Float80 x = St(0);
        Float80 first, second;
        bool outOfRange;
        if (kind == X87Unary.PartialTangent)
        {
            first = Fpu.Transcendental.Trigonometric(ref op, x, Fpu.Transcendental.Trig.Tangent, out outOfRange);
            second = first.IsNaN ? first : Float80.One;
        }
        else
        {
            first = Fpu.Transcendental.Trigonometric(ref op, x, Fpu.Transcendental.Trig.Sine, out outOfRange);
            second = Fpu.Transcendental.Trigonometric(ref op, x, Fpu.Transcendental.Trig.Cosine, out _);
        }
        Complete(in op);
        SetConditionCodes(FpuStatus.C2, outOfRange ? FpuStatus.C2 : (ushort)0);
        if (op.Suppressed || outOfRange) return;
        Write(0, first);
        ForcePush(second);
    }
}
