using Iced.Intel;
using Vmi.Cpu.Fpu;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Cpu.Tests.Fpu;

public enum X87MemoryOperand { None, Single, Double, Extended, Int16, Int32, Int64, Bcd, ControlWord }

/// <summary>How a case's operands are drawn.</summary>
public enum X87Profile
{
    /// <summary>ST(0) and ST(1) from every class, often with close exponents.</summary>
    Any,

    /// <summary>Finite ST(0), ST(1) with exponents at most ~70 apart and sometimes far apart (FPREM, FPREM1).</summary>
    Remainder,

    /// <summary>ST(1) a small integer-valued scale (FSCALE).</summary>
    Scale,

    /// <summary>ST(0) mostly in [−1, 1], often tiny, sometimes at ±1 (F2XM1).</summary>
    Exp2,

    /// <summary>ST(0) mostly positive, often near 1 and near powers of two (FYL2X).</summary>
    Log,

    /// <summary>ST(0) mostly within ±(1 − √2/2), often tiny and near the bounds (FYL2XP1).</summary>
    LogPlusOne,

    /// <summary>ST(0) near 0, near multiples of π/2 and π/4, large up to and beyond 2^63 (FSIN, FCOS, FSINCOS, FPTAN).</summary>
    Trig,

    /// <summary>ST(0), ST(1) finite with exponents close, equal, or far apart (FPATAN).</summary>
    Angle,
}

/// <summary>One instruction form under differential test.</summary>
public sealed record X87Instruction(string Name, Action<Assembler> Emit, X87MemoryOperand Memory = X87MemoryOperand.None, X87Profile Profile = X87Profile.Any)
{
    /// <summary>Status-word bits the SDM leaves undefined after this instruction, not compared (none so far).</summary>
    public ushort UndefinedStatus { get; init; }

    /// <summary>
    /// A transcendental instruction: the host's results are within 1 ulp but not always correctly
    /// rounded, so a register one ulp from the host's passes (see <see cref="X87Match.WithinOneUlp"/>).
    /// </summary>
    public bool OneUlpTolerance => Profile is X87Profile.Exp2 or X87Profile.Log or X87Profile.LogPlusOne or X87Profile.Trig or X87Profile.Angle;

    public byte[] Encode()
    {
        var a = new Assembler(32);
        Emit(a);
        var writer = new CodeWriterBuffer();
        a.Assemble(writer, 0);
        return writer.ToArray();
    }

    public override string ToString() => Name;

    private sealed class CodeWriterBuffer : CodeWriter
    {
        private readonly List<byte> bytes = [];

        public override void WriteByte(byte value) => bytes.Add(value);

        public byte[] ToArray() => [.. bytes];
    }
}

/// <summary>The x87 instruction forms the differential suite covers.</summary>
public static class X87Catalog
{
    private static readonly AssemblerMemoryOperand M16 = __word_ptr[edx], M32 = __dword_ptr[edx], M64 = __qword_ptr[edx], M80 = __tword_ptr[edx];

    public static IReadOnlyList<X87Instruction> All { get; } =
    [
        // Arithmetic, register forms.
        new("fadd st0,st1", a => a.fadd(st0, st1)),
        new("fadd st1,st0", a => a.fadd(st1, st0)),
        new("faddp st1", a => a.faddp(st1, st0)),
        new("fsub st0,st1", a => a.fsub(st0, st1)),
        new("fsub st1,st0", a => a.fsub(st1, st0)),
        new("fsubp st1", a => a.fsubp(st1, st0)),
        new("fsubr st0,st1", a => a.fsubr(st0, st1)),
        new("fsubrp st1", a => a.fsubrp(st1, st0)),
        new("fmul st0,st1", a => a.fmul(st0, st1)),
        new("fmulp st1", a => a.fmulp(st1, st0)),
        new("fdiv st0,st1", a => a.fdiv(st0, st1)),
        new("fdiv st1,st0", a => a.fdiv(st1, st0)),
        new("fdivp st1", a => a.fdivp(st1, st0)),
        new("fdivr st0,st1", a => a.fdivr(st0, st1)),
        new("fdivrp st1", a => a.fdivrp(st1, st0)),
        // Arithmetic with memory operands.
        new("fadd m32", a => a.fadd(M32), X87MemoryOperand.Single),
        new("fmul m64", a => a.fmul(M64), X87MemoryOperand.Double),
        new("fsub m64", a => a.fsub(M64), X87MemoryOperand.Double),
        new("fsubr m32", a => a.fsubr(M32), X87MemoryOperand.Single),
        new("fdiv m32", a => a.fdiv(M32), X87MemoryOperand.Single),
        new("fdivr m64", a => a.fdivr(M64), X87MemoryOperand.Double),
        new("fiadd m16", a => a.fiadd(M16), X87MemoryOperand.Int16),
        new("fimul m32", a => a.fimul(M32), X87MemoryOperand.Int32),
        new("fisub m32", a => a.fisub(M32), X87MemoryOperand.Int32),
        new("fidivr m16", a => a.fidivr(M16), X87MemoryOperand.Int16),
        // Comparisons.
        new("fcom st1", a => a.fcom(st0, st1)),
        new("fcomp st1", a => a.fcomp(st0, st1)),
        new("fcompp", a => a.fcompp()),
        new("fucom st1", a => a.fucom(st0, st1)),
        new("fucomp st1", a => a.fucomp(st0, st1)),
        new("fucompp", a => a.fucompp()),
        new("fcomi st1", a => a.fcomi(st0, st1)),
        new("fcomip st1", a => a.fcomip(st0, st1)),
        new("fucomi st1", a => a.fucomi(st0, st1)),
        new("fucomip st1", a => a.fucomip(st0, st1)),
        new("fcom m32", a => a.fcom(M32), X87MemoryOperand.Single),
        new("fcomp m64", a => a.fcomp(M64), X87MemoryOperand.Double),
        new("ficom m16", a => a.ficom(M16), X87MemoryOperand.Int16),
        new("ficomp m32", a => a.ficomp(M32), X87MemoryOperand.Int32),
        new("ftst", a => a.ftst()),
        new("fxam", a => a.fxam()),
        // Loads.
        new("fld m32", a => a.fld(M32), X87MemoryOperand.Single),
        new("fld m64", a => a.fld(M64), X87MemoryOperand.Double),
        new("fld m80", a => a.fld(M80), X87MemoryOperand.Extended),
        new("fild m16", a => a.fild(M16), X87MemoryOperand.Int16),
        new("fild m32", a => a.fild(M32), X87MemoryOperand.Int32),
        new("fild m64", a => a.fild(M64), X87MemoryOperand.Int64),
        new("fbld", a => a.fbld(M80), X87MemoryOperand.Bcd),
        new("fld st1", a => a.fld(st1)),
        new("fld1", a => a.fld1()),
        new("fldz", a => a.fldz()),
        new("fldpi", a => a.fldpi()),
        new("fldl2e", a => a.fldl2e()),
        new("fldl2t", a => a.fldl2t()),
        new("fldlg2", a => a.fldlg2()),
        new("fldln2", a => a.fldln2()),
        // Stores.
        new("fst m32", a => a.fst(M32), X87MemoryOperand.Single),
        new("fstp m32", a => a.fstp(M32), X87MemoryOperand.Single),
        new("fst m64", a => a.fst(M64), X87MemoryOperand.Double),
        new("fstp m64", a => a.fstp(M64), X87MemoryOperand.Double),
        new("fstp m80", a => a.fstp(M80), X87MemoryOperand.Extended),
        new("fist m16", a => a.fist(M16), X87MemoryOperand.Int16),
        new("fist m32", a => a.fist(M32), X87MemoryOperand.Int32),
        new("fistp m16", a => a.fistp(M16), X87MemoryOperand.Int16),
        new("fistp m32", a => a.fistp(M32), X87MemoryOperand.Int32),
        new("fistp m64", a => a.fistp(M64), X87MemoryOperand.Int64),
        new("fbstp", a => a.fbstp(M80), X87MemoryOperand.Bcd),
        new("fst st1", a => a.fst(st1)),
        new("fstp st1", a => a.fstp(st1)),
        // One-operand and ST(0)/ST(1) operations.
        new("fchs", a => a.fchs()),
        new("fabs", a => a.fabs()),
        new("fsqrt", a => a.fsqrt()),
        new("frndint", a => a.frndint()),
        new("fscale", a => a.fscale(), Profile: X87Profile.Scale),
        new("fxtract", a => a.fxtract()),
        new("fprem", a => a.fprem(), Profile: X87Profile.Remainder),
        new("fprem1", a => a.fprem1(), Profile: X87Profile.Remainder),
        // Transcendental instructions.
        new("f2xm1", a => a.f2xm1(), Profile: X87Profile.Exp2),
        new("fyl2x", a => a.fyl2x(), Profile: X87Profile.Log),
        new("fyl2xp1", a => a.fyl2xp1(), Profile: X87Profile.LogPlusOne),
        new("fptan", a => a.fptan(), Profile: X87Profile.Trig),
        new("fpatan", a => a.fpatan(), Profile: X87Profile.Angle),
        new("fsin", a => a.fsin(), Profile: X87Profile.Trig),
        new("fcos", a => a.fcos(), Profile: X87Profile.Trig),
        new("fsincos", a => a.fsincos(), Profile: X87Profile.Trig),
        // Stack and control.
        new("fxch st1", a => a.fxch(st0, st1)),
        new("ffree st1", a => a.ffree(st1)),
        new("fincstp", a => a.fincstp()),
        new("fdecstp", a => a.fdecstp()),
        new("fnop", a => a.fnop()),
        new("fnclex", a => a.fnclex()),
        new("fninit", a => a.fninit()),
        new("fcmovb st1", a => a.fcmovb(st0, st1)),
        new("fcmove st1", a => a.fcmove(st0, st1)),
        new("fcmovbe st1", a => a.fcmovbe(st0, st1)),
        new("fcmovu st1", a => a.fcmovu(st0, st1)),
        new("fcmovnb st1", a => a.fcmovnb(st0, st1)),
        new("fcmovne st1", a => a.fcmovne(st0, st1)),
        new("fcmovnbe st1", a => a.fcmovnbe(st0, st1)),
        new("fcmovnu st1", a => a.fcmovnu(st0, st1)),
        new("fnstcw", a => a.fnstcw(M16), X87MemoryOperand.ControlWord),
        new("fldcw", a => a.fldcw(M16), X87MemoryOperand.ControlWord),
        new("fnstsw m16", a => a.fnstsw(M16), X87MemoryOperand.ControlWord),
    ];

    public static X87Instruction Find(string name) => All.First(i => i.Name == name);

    public static TheoryData<string> Names() => new(All.Select(i => i.Name));

    /// <summary>Sizes of the memory operand in bytes.</summary>
    public static int Size(X87MemoryOperand m) => m switch
    {
        X87MemoryOperand.Int16 or X87MemoryOperand.ControlWord => 2,
        X87MemoryOperand.Single or X87MemoryOperand.Int32 => 4,
        X87MemoryOperand.Double or X87MemoryOperand.Int64 => 8,
        X87MemoryOperand.None => 0,
        _ => 10,
    };

    internal static X87Format Format(X87MemoryOperand m) => m switch
    {
        X87MemoryOperand.Int16 => X87Format.Int16,
        X87MemoryOperand.Int32 => X87Format.Int32,
        X87MemoryOperand.Int64 => X87Format.Int64,
        X87MemoryOperand.Single => X87Format.Single,
        X87MemoryOperand.Double => X87Format.Double,
        X87MemoryOperand.Bcd => X87Format.Bcd,
        _ => X87Format.Extended,
    };
}
