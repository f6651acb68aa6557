using Iced.Intel;
using Vmi.Cpu.Fpu;

namespace Vmi.Cpu.Decode;

/// <summary>Bits of <see cref="Uop.Imm2"/> for x87 µops.</summary>
public static class X87UopFlags
{
    /// <summary>Checks for a pending unmasked exception (#MF) before executing: every x87 instruction but the FN control forms.</summary>
    public const uint Waiting = 1;

    /// <summary>A control instruction: does not update the last instruction/operand pointers.</summary>
    public const uint Control = 2;
}

/// <summary>
/// Maps Iced's x87 instructions to <see cref="Op.Fpu"/> µops: <c>Sub</c> = <see cref="X87Op"/>,
/// <c>R</c> = the operation within the family, <c>M</c> = the ST(i) index, <c>Size2</c> =
/// <see cref="X87Format"/> of a memory operand, <c>Size</c> = its size in bytes, <c>Imm</c> = pops,
/// register form or image layout, <c>Imm2</c> = <see cref="X87UopFlags"/>.
/// </summary>
public static class X87Decoder
{
    public static void Map(in Instruction ins, ref Uop u)
    {
        u.Op = Op.Fpu;
        u.Imm2 = X87UopFlags.Waiting;
        if (ins.OpCount > 0 && HasMemory(in ins))
        {
            u.IsMem = true;
            UopBuilder.MemOperandOf(in ins, ref u);
            u.Size2 = (byte)FormatOf(ins.MemorySize);
            u.Size = (byte)X87FormatInfo.Size((X87Format)u.Size2);
        }
        else
        {
            u.M = StIndex(in ins);
        }
        switch (ins.Mnemonic)
        {
            case Mnemonic.Fadd or Mnemonic.Fiadd: Arith(in ins, ref u, X87Arith.Add, pop: false); break;
            case Mnemonic.Faddp: Arith(in ins, ref u, X87Arith.Add, pop: true); break;
            case Mnemonic.Fmul or Mnemonic.Fimul: Arith(in ins, ref u, X87Arith.Multiply, pop: false); break;
            case Mnemonic.Fmulp: Arith(in ins, ref u, X87Arith.Multiply, pop: true); break;
            case Mnemonic.Fsub or Mnemonic.Fisub: Arith(in ins, ref u, X87Arith.Subtract, pop: false); break;
            case Mnemonic.Fsubp: Arith(in ins, ref u, X87Arith.Subtract, pop: true); break;
            case Mnemonic.Fsubr or Mnemonic.Fisubr: Arith(in ins, ref u, X87Arith.SubtractReverse, pop: false); break;
            case Mnemonic.Fsubrp: Arith(in ins, ref u, X87Arith.SubtractReverse, pop: true); break;
            case Mnemonic.Fdiv or Mnemonic.Fidiv: Arith(in ins, ref u, X87Arith.Divide, pop: false); break;
            case Mnemonic.Fdivp: Arith(in ins, ref u, X87Arith.Divide, pop: true); break;
            case Mnemonic.Fdivr or Mnemonic.Fidivr: Arith(in ins, ref u, X87Arith.DivideReverse, pop: false); break;
            case Mnemonic.Fdivrp: Arith(in ins, ref u, X87Arith.DivideReverse, pop: true); break;
            case Mnemonic.Fcom or Mnemonic.Ficom: Compare(in ins, ref u, quiet: false, pops: 0); break;
            case Mnemonic.Fcomp or Mnemonic.Ficomp: Compare(in ins, ref u, quiet: false, pops: 1); break;
            case Mnemonic.Fcompp: Compare(in ins, ref u, quiet: false, pops: 2); u.M = 1; break;
            case Mnemonic.Fucom: Compare(in ins, ref u, quiet: true, pops: 0); break;
            case Mnemonic.Fucomp: Compare(in ins, ref u, quiet: true, pops: 1); break;
            case Mnemonic.Fucompp: Compare(in ins, ref u, quiet: true, pops: 2); u.M = 1; break;
            case Mnemonic.Fcomi: Set(ref u, X87Op.CompareEflags, 0, 0); break;
            case Mnemonic.Fcomip: Set(ref u, X87Op.CompareEflags, 0, 1); break;
            case Mnemonic.Fucomi: Set(ref u, X87Op.CompareEflags, 1, 0); break;
            case Mnemonic.Fucomip: Set(ref u, X87Op.CompareEflags, 1, 1); break;
            case Mnemonic.Ftst: Set(ref u, X87Op.Test, 0, 0); break;
            case Mnemonic.Fxam: Set(ref u, X87Op.Examine, 0, 0); break;
            case Mnemonic.Fld or Mnemonic.Fild or Mnemonic.Fbld:
                Set(ref u, u.IsMem ? X87Op.LoadMemory : X87Op.LoadRegister, 0, 0);
                break;
            case Mnemonic.Fst: Set(ref u, u.IsMem ? X87Op.StoreMemory : X87Op.StoreRegister, 0, 0); break;
            case Mnemonic.Fstp or Mnemonic.Fstpnce or Mnemonic.Fbstp or Mnemonic.Fistp:
                Set(ref u, u.IsMem ? X87Op.StoreMemory : X87Op.StoreRegister, 0, 1);
                break;
            case Mnemonic.Fist: Set(ref u, X87Op.StoreMemory, 0, 0); break;
            case Mnemonic.Fld1: Set(ref u, X87Op.LoadConstant, X87Constant.One, 0); break;
            case Mnemonic.Fldl2t: Set(ref u, X87Op.LoadConstant, X87Constant.Log2Ten, 0); break;
            case Mnemonic.Fldl2e: Set(ref u, X87Op.LoadConstant, X87Constant.Log2E, 0); break;
            case Mnemonic.Fldpi: Set(ref u, X87Op.LoadConstant, X87Constant.Pi, 0); break;
            case Mnemonic.Fldlg2: Set(ref u, X87Op.LoadConstant, X87Constant.Log10Two, 0); break;
            case Mnemonic.Fldln2: Set(ref u, X87Op.LoadConstant, X87Constant.LnTwo, 0); break;
            case Mnemonic.Fldz: Set(ref u, X87Op.LoadConstant, X87Constant.Zero, 0); break;
            case Mnemonic.Fchs: Set(ref u, X87Op.Unary, X87Unary.ChangeSign, 0); break;
            case Mnemonic.Fabs: Set(ref u, X87Op.Unary, X87Unary.Absolute, 0); break;
            case Mnemonic.Fsqrt: Set(ref u, X87Op.Unary, X87Unary.SquareRoot, 0); break;
            case Mnemonic.Frndint: Set(ref u, X87Op.Unary, X87Unary.RoundToInteger, 0); break;
            case Mnemonic.Fscale: Set(ref u, X87Op.Unary, X87Unary.Scale, 0); break;
            case Mnemonic.Fxtract: Set(ref u, X87Op.Unary, X87Unary.Extract, 0); break;
            case Mnemonic.Fprem: Set(ref u, X87Op.Unary, X87Unary.PartialRemainder, 0); break;
            case Mnemonic.Fprem1: Set(ref u, X87Op.Unary, X87Unary.PartialRemainderIeee, 0); break;
            case Mnemonic.F2xm1: Set(ref u, X87Op.Unary, X87Unary.TwoToXMinusOne, 0); break;
            case Mnemonic.Fyl2x: Set(ref u, X87Op.Unary, X87Unary.YLog2X, 0); break;
            case Mnemonic.Fyl2xp1: Set(ref u, X87Op.Unary, X87Unary.YLog2XPlusOne, 0); break;
            case Mnemonic.Fptan: Set(ref u, X87Op.Unary, X87Unary.PartialTangent, 0); break;
            case Mnemonic.Fpatan: Set(ref u, X87Op.Unary, X87Unary.PartialArctangent, 0); break;
            case Mnemonic.Fsin: Set(ref u, X87Op.Unary, X87Unary.Sine, 0); break;
            case Mnemonic.Fcos: Set(ref u, X87Op.Unary, X87Unary.Cosine, 0); break;
            case Mnemonic.Fsincos: Set(ref u, X87Op.Unary, X87Unary.SineCosine, 0); break;
            case Mnemonic.Fxch: Set(ref u, X87Op.Exchange, 0, 0); break;
            case Mnemonic.Ffree: Set(ref u, X87Op.Free, 0, 0); break;
            case Mnemonic.Ffreep: Set(ref u, X87Op.FreePop, 0, 0); break;
            case Mnemonic.Fincstp: Set(ref u, X87Op.IncrementTop, 0, 0); break;
            case Mnemonic.Fdecstp: Set(ref u, X87Op.DecrementTop, 0, 0); break;
            case Mnemonic.Fnop: Set(ref u, X87Op.Nop, 0, 0); break;
            case Mnemonic.Fcmovb: Set(ref u, X87Op.ConditionalMove, 0x2, 0); break;
            case Mnemonic.Fcmovnb: Set(ref u, X87Op.ConditionalMove, 0x3, 0); break;
            case Mnemonic.Fcmove: Set(ref u, X87Op.ConditionalMove, 0x4, 0); break;
            case Mnemonic.Fcmovne: Set(ref u, X87Op.ConditionalMove, 0x5, 0); break;
            case Mnemonic.Fcmovbe: Set(ref u, X87Op.ConditionalMove, 0x6, 0); break;
            case Mnemonic.Fcmovnbe: Set(ref u, X87Op.ConditionalMove, 0x7, 0); break;
            case Mnemonic.Fcmovu: Set(ref u, X87Op.ConditionalMove, 0xA, 0); break;
            case Mnemonic.Fcmovnu: Set(ref u, X87Op.ConditionalMove, 0xB, 0); break;
            // The 8087/287 controls (FENI, FDISI, FSETPM) do nothing since the 387.
            case Mnemonic.Fneni or Mnemonic.Fndisi or Mnemonic.Fnsetpm: Control(ref u, X87Op.Nop, waiting: false); break;
            case Mnemonic.Feni or Mnemonic.Fdisi or Mnemonic.Fsetpm: Control(ref u, X87Op.Nop, waiting: true); break;
            case Mnemonic.Fninit: Control(ref u, X87Op.Init, waiting: false); break;
            case Mnemonic.Finit: Control(ref u, X87Op.Init, waiting: true); break;
            case Mnemonic.Fnclex: Control(ref u, X87Op.ClearExceptions, waiting: false); break;
            case Mnemonic.Fclex: Control(ref u, X87Op.ClearExceptions, waiting: true); break;
            case Mnemonic.Fnstsw or Mnemonic.Fstsw:
                Control(ref u, u.IsMem ? X87Op.StoreStatus : X87Op.StoreStatusAx, ins.Mnemonic == Mnemonic.Fstsw);
                u.Size = 2;
                break;
            case Mnemonic.Fnstcw or Mnemonic.Fstcw: Control(ref u, X87Op.StoreControl, ins.Mnemonic == Mnemonic.Fstcw); u.Size = 2; break;
            case Mnemonic.Fldcw: Control(ref u, X87Op.LoadControl, waiting: true); u.Size = 2; break;
            case Mnemonic.Fnstenv or Mnemonic.Fstenv: Image(in ins, ref u, X87Op.StoreEnvironment, ins.Mnemonic == Mnemonic.Fstenv); break;
            case Mnemonic.Fldenv: Image(in ins, ref u, X87Op.LoadEnvironment, waiting: true); break;
            case Mnemonic.Fnsave or Mnemonic.Fsave: Image(in ins, ref u, X87Op.Save, ins.Mnemonic == Mnemonic.Fsave); break;
            case Mnemonic.Frstor: Image(in ins, ref u, X87Op.Restore, waiting: true); break;
            default:
                // FISTTP (SSE3) and the Cyrix/287XL extras: not on this CPU.
                u.Op = Op.Invalid;
                break;
        }
    }

    private static void Set(ref Uop u, X87Op op, int r, uint extra)
    {
        u.Sub = (byte)op;
        u.R = (byte)r;
        u.Imm = extra;
    }

    private static void Arith(in Instruction ins, ref Uop u, int kind, bool pop)
    {
        if (u.IsMem)
        {
            Set(ref u, X87Op.ArithMemory, kind, 0);
            return;
        }
        // The DC and DE escapes write ST(i); with i = 0 both forms write ST(0) alike.
        bool destinationSti = ins.Op0Register != Register.ST0;
        uint form = (destinationSti ? (uint)X87RegisterForm.DestinationSti : 0) | (pop ? (uint)X87RegisterForm.Pop : 0);
        Set(ref u, X87Op.ArithRegister, kind, form);
    }

    private static void Compare(in Instruction ins, ref Uop u, bool quiet, int pops)
    {
        if (u.IsMem)
        {
            Set(ref u, X87Op.ArithMemory, pops == 0 ? X87Arith.Compare : X87Arith.ComparePop, 0);
            return;
        }
        Set(ref u, X87Op.CompareRegister, quiet ? 1 : 0, (uint)pops);
    }

    private static void Control(ref Uop u, X87Op op, bool waiting)
    {
        Set(ref u, op, 0, 0);
        u.Imm2 = (waiting ? X87UopFlags.Waiting : 0) | X87UopFlags.Control;
    }

    private static void Image(in Instruction ins, ref Uop u, X87Op op, bool waiting)
    {
        Control(ref u, op, waiting);
        bool wide = ins.MemorySize is MemorySize.FpuEnv28 or MemorySize.FpuState108;
        u.Imm = wide ? (uint)X87Layout.Bits32 : 0;
        u.Size = (byte)(op is X87Op.StoreEnvironment or X87Op.LoadEnvironment ? (wide ? 28 : 14) : (wide ? 108 : 94));
    }

    private static bool HasMemory(in Instruction ins)
    {
        for (int k = 0; k < ins.OpCount; k++)
        {
            if (ins.GetOpKind(k) == OpKind.Memory) return true;
        }
        return false;
    }

    /// <summary>The ST(i) operand that is not ST(0) (or ST(0) itself, as in "fadd st(0), st(0)").</summary>
    private static byte StIndex(in Instruction ins)
    {
        int index = 0;
        for (int k = 0; k < ins.OpCount; k++)
        {
            if (ins.GetOpKind(k) == OpKind.Register && ins.GetOpRegister(k) is >= Register.ST0 and <= Register.ST7)
            {
                int st = ins.GetOpRegister(k) - Register.ST0;
                if (st != 0) index = st;
            }
        }
        return (byte)index;
    }

    private static X87Format FormatOf(MemorySize size) => size switch
    {
        MemorySize.Int16 => X87Format.Int16,
        MemorySize.Int32 => X87Format.Int32,
        MemorySize.Int64 => X87Format.Int64,
        MemorySize.Float32 => X87Format.Single,
        MemorySize.Float64 => X87Format.Double,
        MemorySize.Bcd => X87Format.Bcd,
        _ => X87Format.Extended,
    };
}
