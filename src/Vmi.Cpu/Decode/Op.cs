namespace Vmi.Cpu.Decode;

/// <summary>
/// Handler identifiers. Hot instructions have separate register (R) and memory (M) forms;
/// rare ones use one handler and test <see cref="Uop.IsMem"/>.
/// </summary>
public enum Op : ushort
{
    Invalid,
    Nop,

    // Arithmetic and logic; Sub = AluKind.
    AluRR, AluRI, AluRM, AluMR, AluMI,

    // INC/DEC/NOT/NEG; Sub = UnaryKind.
    UnaryR, UnaryM,

    // Shifts and rotates; Sub = the ModRM /r kind (rol ror rcl rcr shl shr sal sar).
    ShiftR, ShiftM, ShldR, ShldM, ShrdR, ShrdM,

    // MUL/IMUL/DIV/IDIV with one operand; Sub = 4..7 as in the /r field.
    MulDivR, MulDivM, Imul2RR, Imul2RM, Imul3RR, Imul3RM,

    // Bit instructions; Sub = 0 bt, 1 bts, 2 btr, 3 btc.
    BtRR, BtRI, BtMR, BtMI,

    // BSF (Sub 0) / BSR (Sub 1).
    BitScanR, BitScanM,
    Bswap,
    SetccR, SetccM, CmovRR, CmovRM,

    // Data movement.
    MovRR, MovRI, MovRM, MovMR, MovMI,
    MovzxRR, MovzxRM, MovsxRR, MovsxRM,
    Lea, XchgRR, XchgRM,
    CbwCwde, CwdCdq, Lahf, Sahf, Xlat,
    CmpxchgRR, CmpxchgRM, XaddRR, XaddRM, Cmpxchg8b,
    MovFromSeg, MovToSeg, LoadFarPointer,

    // Stack.
    PushR, PushI, PushM, PushSeg, PopR, PopM, PopSeg, Pusha, Popa, Pushf, Popf, Enter, Leave,

    // Control transfer.
    Jmp, JmpR, JmpM, Jcc, Jcxz, Loop, Call, CallR, CallM, Ret,
    JmpFar, JmpFarM, CallFar, CallFarM, RetFar, Int, Int3, Into, Iret,

    // String instructions; Sub = StringKind.
    StringOp,

    // Flag instructions; Sub = 0 clc, 1 stc, 2 cmc, 3 cld, 4 std.
    FlagOp, Cli, Sti,

    // System.
    Hlt, Cpuid, Rdtsc, Rdpmc, Rdmsr, Wrmsr, In, Out,
    Lgdt, Lidt, Sgdt, Sidt, Lldt, Ltr, Sldt, Str,
    MovToCr, MovFromCr, MovToDr, MovFromDr, Invlpg, Clts, Wbinvd, Invd,
    SegInfo, Arpl, Smsw, Lmsw, Sysenter, Sysexit,
    Fpu, Fwait, Bound, Bcd, Vmcall,
    Ud,
}

public static class AluKind
{
    public const int Add = 0, Or = 1, Adc = 2, Sbb = 3, And = 4, Sub = 5, Xor = 6, Cmp = 7, Test = 8;
}

public static class UnaryKind
{
    public const int Inc = 0, Dec = 1, Not = 2, Neg = 3;
}

public static class StringKind
{
    public const int Movs = 0, Cmps = 1, Stos = 2, Lods = 3, Scas = 4, Ins = 5, Outs = 6;
}
