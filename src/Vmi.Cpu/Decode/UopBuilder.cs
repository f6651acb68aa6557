using Iced.Intel;

namespace Vmi.Cpu.Decode;

/// <summary>
/// Converts one Iced <see cref="Instruction"/> into a <see cref="Uop"/>. This is the only place
/// that knows Iced's operand model; handlers see register numbers, an address recipe and
/// immediates. Anything not mapped becomes <see cref="Op.Invalid"/> (#UD when executed).
/// </summary>
public static class UopBuilder
{
    /// <summary><see cref="Uop.Sub"/> of a bit scan decoded from F3 0F BD: LZCNT or BSR, as the model's CPUID says.</summary>
    public const byte LzcntEncoding = 2;

    public static Uop Build(in Instruction ins)
    {
        var u = new Uop
        {
            Length = (byte)ins.Length,
            Code = (ushort)ins.Code,
            Base = Reg.None,
            Index = Reg.None,
            Seg = SegReg.Ds,
            Size = 4,
        };
        if (ins.IsInvalid)
        {
            u.Op = Op.Invalid;
            u.Flags |= UopFlags.EndsBlock;
            return u;
        }
        if (ins.HasLockPrefix)
        {
            u.Flags |= UopFlags.Lock;
        }
        Map(in ins, ref u);
        // Decoding stops after a branch, a mode change, a serializing or system instruction.
        if (ins.FlowControl != FlowControl.Next || EndsBlock(u.Op) || StartsBlock(in u))
        {
            u.Flags |= UopFlags.EndsBlock;
        }
        if (StartsBlock(in u))
        {
            u.Flags |= UopFlags.StartsBlock;
        }
        return u;
    }

    private static void Map(in Instruction ins, ref Uop u)
    {
        switch (ins.Mnemonic)
        {
            case Mnemonic.Add: Binary(in ins, ref u, AluKind.Add); break;
            case Mnemonic.Or: Binary(in ins, ref u, AluKind.Or); break;
            case Mnemonic.Adc: Binary(in ins, ref u, AluKind.Adc); break;
            case Mnemonic.Sbb: Binary(in ins, ref u, AluKind.Sbb); break;
            case Mnemonic.And: Binary(in ins, ref u, AluKind.And); break;
            case Mnemonic.Sub: Binary(in ins, ref u, AluKind.Sub); break;
            case Mnemonic.Xor: Binary(in ins, ref u, AluKind.Xor); break;
            case Mnemonic.Cmp: Binary(in ins, ref u, AluKind.Cmp); break;
            case Mnemonic.Test: Binary(in ins, ref u, AluKind.Test); break;
            case Mnemonic.Inc: Unary(in ins, ref u, UnaryKind.Inc); break;
            case Mnemonic.Dec: Unary(in ins, ref u, UnaryKind.Dec); break;
            case Mnemonic.Not: Unary(in ins, ref u, UnaryKind.Not); break;
            case Mnemonic.Neg: Unary(in ins, ref u, UnaryKind.Neg); break;

            case Mnemonic.Rol: Shift(in ins, ref u, 0); break;
            case Mnemonic.Ror: Shift(in ins, ref u, 1); break;
            case Mnemonic.Rcl: Shift(in ins, ref u, 2); break;
            case Mnemonic.Rcr: Shift(in ins, ref u, 3); break;
            case Mnemonic.Shl: Shift(in ins, ref u, 4); break;
            case Mnemonic.Shr: Shift(in ins, ref u, 5); break;
            case Mnemonic.Sal: Shift(in ins, ref u, 6); break;
            case Mnemonic.Sar: Shift(in ins, ref u, 7); break;
            case Mnemonic.Shld: DoubleShift(in ins, ref u, Op.ShldR, Op.ShldM); break;
            case Mnemonic.Shrd: DoubleShift(in ins, ref u, Op.ShrdR, Op.ShrdM); break;

            case Mnemonic.Mul: RmOnly(in ins, ref u, Op.MulDivR, Op.MulDivM); u.Sub = 4; break;
            case Mnemonic.Div: RmOnly(in ins, ref u, Op.MulDivR, Op.MulDivM); u.Sub = 6; break;
            case Mnemonic.Idiv: RmOnly(in ins, ref u, Op.MulDivR, Op.MulDivM); u.Sub = 7; break;
            case Mnemonic.Imul: Imul(in ins, ref u); break;

            case Mnemonic.Bt: BitTest(in ins, ref u, 0); break;
            case Mnemonic.Bts: BitTest(in ins, ref u, 1); break;
            case Mnemonic.Btr: BitTest(in ins, ref u, 2); break;
            case Mnemonic.Btc: BitTest(in ins, ref u, 3); break;
            case Mnemonic.Bsf: RegRm(in ins, ref u, Op.BitScanR, Op.BitScanM); u.Sub = 0; break;
            case Mnemonic.Bsr: RegRm(in ins, ref u, Op.BitScanR, Op.BitScanM); u.Sub = 1; break;
            // F3 0F BC / F3 0F BD are TZCNT / LZCNT only on CPUs with BMI1 / LZCNT; elsewhere the F3 prefix
            // is ignored and they are BSF / BSR (gcc emits "rep bsf" for __builtin_ctz precisely because
            // it runs as BSF everywhere). No model reports BMI1, so TZCNT's encoding is BSF; LZCNT's waits
            // for the CPU to look at its model's CPUID (Cpu.BitScan).
            case Mnemonic.Tzcnt: RegRm(in ins, ref u, Op.BitScanR, Op.BitScanM); u.Sub = 0; break;
            case Mnemonic.Lzcnt: RegRm(in ins, ref u, Op.BitScanR, Op.BitScanM); u.Sub = LzcntEncoding; break;
            case Mnemonic.Bswap: u.Op = Op.Bswap; u.R = RegNum(ins.Op0Register); u.Size = RegSize(ins.Op0Register); break;

            case Mnemonic.Mov: Mov(in ins, ref u); break;
            case Mnemonic.Movzx: RegRm(in ins, ref u, Op.MovzxRR, Op.MovzxRM); u.Size2 = OperandSize(in ins, 1); break;
            case Mnemonic.Movsx: RegRm(in ins, ref u, Op.MovsxRR, Op.MovsxRM); u.Size2 = OperandSize(in ins, 1); break;
            case Mnemonic.Lea:
                u.Op = Op.Lea;
                u.R = RegNum(ins.Op0Register);
                u.Size = RegSize(ins.Op0Register);
                MemOperand(in ins, ref u);
                break;
            case Mnemonic.Xchg: Xchg(in ins, ref u); break;
            case Mnemonic.Cbw: u.Op = Op.CbwCwde; u.Size = 2; break;
            case Mnemonic.Cwde: u.Op = Op.CbwCwde; u.Size = 4; break;
            case Mnemonic.Cwd: u.Op = Op.CwdCdq; u.Size = 2; break;
            case Mnemonic.Cdq: u.Op = Op.CwdCdq; u.Size = 4; break;
            case Mnemonic.Lahf: u.Op = Op.Lahf; break;
            case Mnemonic.Sahf: u.Op = Op.Sahf; break;
            case Mnemonic.Xlatb: u.Op = Op.Xlat; MemOperand(in ins, ref u); break;
            case Mnemonic.Cmpxchg: RmReg(in ins, ref u, Op.CmpxchgRR, Op.CmpxchgRM); break;
            case Mnemonic.Xadd: RmReg(in ins, ref u, Op.XaddRR, Op.XaddRM); break;
            case Mnemonic.Cmpxchg8b: u.Op = Op.Cmpxchg8b; MemOperand(in ins, ref u); break;
            case Mnemonic.Lds: FarPointer(in ins, ref u, SegReg.Ds); break;
            case Mnemonic.Les: FarPointer(in ins, ref u, SegReg.Es); break;
            case Mnemonic.Lss: FarPointer(in ins, ref u, SegReg.Ss); break;
            case Mnemonic.Lfs: FarPointer(in ins, ref u, SegReg.Fs); break;
            case Mnemonic.Lgs: FarPointer(in ins, ref u, SegReg.Gs); break;

            case Mnemonic.Push: Push(in ins, ref u); break;
            case Mnemonic.Pop: Pop(in ins, ref u); break;
            case Mnemonic.Pusha: u.Op = Op.Pusha; u.Size = 2; break;
            case Mnemonic.Pushad: u.Op = Op.Pusha; u.Size = 4; break;
            case Mnemonic.Popa: u.Op = Op.Popa; u.Size = 2; break;
            case Mnemonic.Popad: u.Op = Op.Popa; u.Size = 4; break;
            case Mnemonic.Pushf: u.Op = Op.Pushf; u.Size = 2; break;
            case Mnemonic.Pushfd: u.Op = Op.Pushf; u.Size = 4; break;
            case Mnemonic.Popf: u.Op = Op.Popf; u.Size = 2; break;
            case Mnemonic.Popfd: u.Op = Op.Popf; u.Size = 4; break;
            case Mnemonic.Enter:
                u.Op = Op.Enter;
                u.Size = ins.Code == Code.Enterw_imm16_imm8 ? (byte)2 : (byte)4;
                u.Imm = ins.Immediate16;
                u.Imm2 = ins.Immediate8_2nd;
                break;
            case Mnemonic.Leave: u.Op = Op.Leave; u.Size = ins.Code == Code.Leavew ? (byte)2 : (byte)4; break;

            case Mnemonic.Jmp: Jump(in ins, ref u); break;
            case Mnemonic.Call: CallInsn(in ins, ref u); break;
            case Mnemonic.Ret: u.Op = Op.Ret; u.Size = ins.Code is Code.Retnw or Code.Retnw_imm16 ? (byte)2 : (byte)4; u.Imm = ins.OpCount > 0 ? ins.Immediate16 : 0u; break;
            case Mnemonic.Retf: u.Op = Op.RetFar; u.Size = ins.Code is Code.Retfw or Code.Retfw_imm16 ? (byte)2 : (byte)4; u.Imm = ins.OpCount > 0 ? ins.Immediate16 : 0u; break;
            case Mnemonic.Jcxz: Branch(in ins, ref u, Op.Jcxz); u.Size2 = 2; break;
            case Mnemonic.Jecxz: Branch(in ins, ref u, Op.Jcxz); u.Size2 = 4; break;
            case Mnemonic.Loop: Branch(in ins, ref u, Op.Loop); u.Sub = 2; u.Size2 = LoopCounterSize(in ins); break;
            case Mnemonic.Loope: Branch(in ins, ref u, Op.Loop); u.Sub = 1; u.Size2 = LoopCounterSize(in ins); break;
            case Mnemonic.Loopne: Branch(in ins, ref u, Op.Loop); u.Sub = 0; u.Size2 = LoopCounterSize(in ins); break;
            case Mnemonic.Int: u.Op = Op.Int; u.Imm = ins.Immediate8; break;
            case Mnemonic.Int3: u.Op = Op.Int3; break;
            case Mnemonic.Int1: u.Op = Op.Int; u.Imm = 1; u.Sub = 1; break;
            case Mnemonic.Into: u.Op = Op.Into; break;
            case Mnemonic.Iret: u.Op = Op.Iret; u.Size = 2; break;
            case Mnemonic.Iretd: u.Op = Op.Iret; u.Size = 4; break;

            case Mnemonic.Movsb or Mnemonic.Movsw or Mnemonic.Movsd when ins.OpCount == 2 && ins.Op0Kind != OpKind.Register:
                StringInsn(in ins, ref u, StringKind.Movs); break;
            case Mnemonic.Cmpsb or Mnemonic.Cmpsw or Mnemonic.Cmpsd when ins.OpCount == 2 && ins.Op0Kind != OpKind.Register:
                StringInsn(in ins, ref u, StringKind.Cmps); break;
            case Mnemonic.Stosb or Mnemonic.Stosw or Mnemonic.Stosd: StringInsn(in ins, ref u, StringKind.Stos); break;
            case Mnemonic.Lodsb or Mnemonic.Lodsw or Mnemonic.Lodsd: StringInsn(in ins, ref u, StringKind.Lods); break;
            case Mnemonic.Scasb or Mnemonic.Scasw or Mnemonic.Scasd: StringInsn(in ins, ref u, StringKind.Scas); break;
            case Mnemonic.Insb or Mnemonic.Insw or Mnemonic.Insd: StringInsn(in ins, ref u, StringKind.Ins); break;
            case Mnemonic.Outsb or Mnemonic.Outsw or Mnemonic.Outsd: StringInsn(in ins, ref u, StringKind.Outs); break;

            case Mnemonic.Clc: u.Op = Op.FlagOp; u.Sub = 0; break;
            case Mnemonic.Stc: u.Op = Op.FlagOp; u.Sub = 1; break;
            case Mnemonic.Cmc: u.Op = Op.FlagOp; u.Sub = 2; break;
            case Mnemonic.Cld: u.Op = Op.FlagOp; u.Sub = 3; break;
            case Mnemonic.Std: u.Op = Op.FlagOp; u.Sub = 4; break;
            case Mnemonic.Cli: u.Op = Op.Cli; break;
            case Mnemonic.Sti: u.Op = Op.Sti; break;

            case Mnemonic.Hlt: u.Op = Op.Hlt; break;
            case Mnemonic.Cpuid: u.Op = Op.Cpuid; break;
            case Mnemonic.Rdtsc: u.Op = Op.Rdtsc; break;
            case Mnemonic.Rdpmc: u.Op = Op.Rdpmc; break;
            case Mnemonic.Rdmsr: u.Op = Op.Rdmsr; break;
            case Mnemonic.Wrmsr: u.Op = Op.Wrmsr; break;
            case Mnemonic.In: PortIo(in ins, ref u, Op.In, ins.Op0Register, ins.Op1Kind); break;
            case Mnemonic.Out: PortIo(in ins, ref u, Op.Out, ins.Op1Register, ins.Op0Kind); break;
            case Mnemonic.Lgdt: u.Op = Op.Lgdt; MemOperand(in ins, ref u); u.Size = OperandSizeFromCode(in ins); break;
            case Mnemonic.Lidt: u.Op = Op.Lidt; MemOperand(in ins, ref u); u.Size = OperandSizeFromCode(in ins); break;
            case Mnemonic.Sgdt: u.Op = Op.Sgdt; MemOperand(in ins, ref u); break;
            case Mnemonic.Sidt: u.Op = Op.Sidt; MemOperand(in ins, ref u); break;
            case Mnemonic.Lldt: RmOnly16(in ins, ref u, Op.Lldt); break;
            case Mnemonic.Ltr: RmOnly16(in ins, ref u, Op.Ltr); break;
            case Mnemonic.Sldt: RmOnly16(in ins, ref u, Op.Sldt); break;
            case Mnemonic.Str: RmOnly16(in ins, ref u, Op.Str); break;
            case Mnemonic.Smsw: RmOnly16(in ins, ref u, Op.Smsw); break;
            case Mnemonic.Lmsw: RmOnly16(in ins, ref u, Op.Lmsw); break;
            case Mnemonic.Verr: RmOnly16(in ins, ref u, Op.SegInfo); u.Sub = 2; break;
            case Mnemonic.Verw: RmOnly16(in ins, ref u, Op.SegInfo); u.Sub = 3; break;
            case Mnemonic.Lar: RegRm(in ins, ref u, Op.SegInfo, Op.SegInfo); u.Sub = 0; break;
            case Mnemonic.Lsl: RegRm(in ins, ref u, Op.SegInfo, Op.SegInfo); u.Sub = 1; break;
            case Mnemonic.Arpl: RmReg(in ins, ref u, Op.Arpl, Op.Arpl); break;
            case Mnemonic.Invlpg: u.Op = Op.Invlpg; MemOperand(in ins, ref u); break;
            case Mnemonic.Clts: u.Op = Op.Clts; break;
            case Mnemonic.Wbinvd: u.Op = Op.Wbinvd; break;
            case Mnemonic.Invd: u.Op = Op.Invd; break;
            case Mnemonic.Sysenter: u.Op = Op.Sysenter; break;
            case Mnemonic.Sysexit: u.Op = Op.Sysexit; break;
            case Mnemonic.Vmcall: u.Op = Op.Vmcall; u.Sub = 0; break;
            case Mnemonic.Vmmcall: u.Op = Op.Vmcall; u.Sub = 1; break;
            case Mnemonic.Ud0 or Mnemonic.Ud1 or Mnemonic.Ud2: u.Op = Op.Ud; break;
            case Mnemonic.Nop or Mnemonic.Pause: u.Op = Op.Nop; break;
            case Mnemonic.Wait: u.Op = Op.Fwait; break;
            case Mnemonic.Emms: u.Op = Op.Fwait; u.Sub = 1; break;
            case Mnemonic.Bound: u.Op = Op.Bound; u.R = RegNum(ins.Op0Register); u.Size = RegSize(ins.Op0Register); MemOperand(in ins, ref u); break;
            case Mnemonic.Daa: u.Op = Op.Bcd; u.Sub = 0; break;
            case Mnemonic.Das: u.Op = Op.Bcd; u.Sub = 1; break;
            case Mnemonic.Aaa: u.Op = Op.Bcd; u.Sub = 2; break;
            case Mnemonic.Aas: u.Op = Op.Bcd; u.Sub = 3; break;
            case Mnemonic.Aam: u.Op = Op.Bcd; u.Sub = 4; u.Imm = ins.Immediate8; break;
            case Mnemonic.Aad: u.Op = Op.Bcd; u.Sub = 5; u.Imm = ins.Immediate8; break;
            case Mnemonic.Salc: u.Op = Op.Bcd; u.Sub = 6; break;

            default:
                if (ConditionCodeExtensions.Setcc.Contains(ins.Mnemonic))
                {
                    SetccInsn(in ins, ref u);
                }
                else if (ConditionCodeExtensions.Cmovcc.Contains(ins.Mnemonic))
                {
                    RegRm(in ins, ref u, Op.CmovRR, Op.CmovRM);
                    u.Sub = (byte)ins.ConditionCode.ToCc();
                }
                else if (ins.IsJccShortOrNear)
                {
                    Branch(in ins, ref u, Op.Jcc);
                    u.Sub = (byte)ins.ConditionCode.ToCc();
                }
                else if (IsX87(in ins))
                {
                    X87Decoder.Map(in ins, ref u);
                }
                else
                {
                    u.Op = Op.Invalid;
                }
                break;
        }
    }

    private static bool EndsBlock(Op op) => op switch
    {
        // x87 instructions neither branch nor reach devices: they stay inside blocks.
        Op.Fpu or Op.Fwait => false,
        >= Op.Jmp and <= Op.Iret => true,
        Op.MovToSeg or Op.PopSeg or Op.LoadFarPointer or Op.Popf or Op.Sti or Op.Cli => true,
        >= Op.Hlt and <= Op.Ud => op != Op.Bound && op != Op.Bcd,
        Op.Invalid => true,
        Op.StringOp => false,
        _ => false,
    };

    private static bool StartsBlock(in Uop u) => u.Op switch
    {
        Op.Fpu or Op.Fwait => false,
        Op.Int or Op.Int3 or Op.Into => true,
        Op.StringOp => (u.Flags & UopFlags.Rep) != 0 || u.Sub is StringKind.Ins or StringKind.Outs,
        >= Op.Hlt and <= Op.Ud => u.Op is not (Op.Bound or Op.Bcd),
        _ => false,
    };

    // ---- operand helpers ----------------------------------------------------------------

    internal static byte RegNum(Register r)
    {
        if (r >= Register.EAX && r <= Register.EDI) return (byte)(r - Register.EAX);
        if (r >= Register.AX && r <= Register.DI) return (byte)(r - Register.AX);
        if (r >= Register.AL && r <= Register.BH) return (byte)(r - Register.AL);
        if (r >= Register.ES && r <= Register.GS) return (byte)(r - Register.ES);
        if (r >= Register.CR0 && r <= Register.CR15) return (byte)(r - Register.CR0);
        if (r >= Register.DR0 && r <= Register.DR15) return (byte)(r - Register.DR0);
        return Reg.None;
    }

    internal static byte RegSize(Register r) => (byte)r.GetSize();

    private static byte OperandSize(in Instruction ins, int op) =>
        ins.GetOpKind(op) == OpKind.Register ? RegSize(ins.GetOpRegister(op)) : (byte)ins.MemorySize.GetSize();

    internal static void MemOperandOf(in Instruction ins, ref Uop u) => MemOperand(in ins, ref u);

    private static void MemOperand(in Instruction ins, ref Uop u)
    {
        u.IsMem = true;
        Register b = ins.MemoryBase, x = ins.MemoryIndex;
        u.Base = b == Register.None ? (byte)Reg.None : RegNum(b);
        u.Index = x == Register.None ? (byte)Reg.None : RegNum(x);
        u.Scale = (byte)(ins.MemoryIndexScale switch { 2 => 1, 4 => 2, 8 => 3, _ => 0 });
        u.Disp = ins.MemoryDisplacement32;
        u.Seg = RegNum(ins.MemorySegment);
        bool addr16 = (b != Register.None && b.GetSize() == 2) || (x != Register.None && x.GetSize() == 2)
            || (b == Register.None && x == Register.None && ins.MemoryDisplSize == 2);
        if (addr16)
        {
            u.Flags |= UopFlags.Addr16;
            u.Disp &= 0xFFFF;
        }
    }

    private static void Binary(in Instruction ins, ref Uop u, int kind)
    {
        u.Sub = (byte)kind;
        OpKind k0 = ins.Op0Kind, k1 = ins.Op1Kind;
        if (k0 == OpKind.Register)
        {
            u.R = RegNum(ins.Op0Register);
            u.Size = RegSize(ins.Op0Register);
            if (k1 == OpKind.Register) { u.Op = Op.AluRR; u.M = RegNum(ins.Op1Register); }
            else if (k1 == OpKind.Memory) { u.Op = Op.AluRM; MemOperand(in ins, ref u); }
            else { u.Op = Op.AluRI; u.Imm = (uint)ins.GetImmediate(1); }
        }
        else
        {
            MemOperand(in ins, ref u);
            u.Size = (byte)ins.MemorySize.GetSize();
            if (k1 == OpKind.Register) { u.Op = Op.AluMR; u.R = RegNum(ins.Op1Register); }
            else { u.Op = Op.AluMI; u.Imm = (uint)ins.GetImmediate(1); }
        }
        u.Imm &= Cpu.SizeMask(u.Size);
    }

    private static void Unary(in Instruction ins, ref Uop u, int kind)
    {
        RmOnly(in ins, ref u, Op.UnaryR, Op.UnaryM);
        u.Sub = (byte)kind;
    }

    /// <summary>One r/m operand (register in M, or memory).</summary>
    private static void RmOnly(in Instruction ins, ref Uop u, Op reg, Op mem)
    {
        if (ins.Op0Kind == OpKind.Register)
        {
            u.Op = reg;
            u.M = RegNum(ins.Op0Register);
            u.Size = RegSize(ins.Op0Register);
        }
        else
        {
            u.Op = mem;
            MemOperand(in ins, ref u);
            u.Size = (byte)ins.MemorySize.GetSize();
        }
    }

    private static void RmOnly16(in Instruction ins, ref Uop u, Op op)
    {
        RmOnly(in ins, ref u, op, op);
        if (u.Size == 0) u.Size = 2;
    }

    /// <summary>reg ← r/m forms: destination register in R, source register in M or memory.</summary>
    private static void RegRm(in Instruction ins, ref Uop u, Op reg, Op mem)
    {
        u.R = RegNum(ins.Op0Register);
        u.Size = RegSize(ins.Op0Register);
        if (ins.Op1Kind == OpKind.Register)
        {
            u.Op = reg;
            u.M = RegNum(ins.Op1Register);
        }
        else
        {
            u.Op = mem;
            MemOperand(in ins, ref u);
        }
    }

    /// <summary>r/m ← reg forms: destination in M or memory, source register in R.</summary>
    private static void RmReg(in Instruction ins, ref Uop u, Op reg, Op mem)
    {
        u.R = RegNum(ins.Op1Register);
        u.Size = RegSize(ins.Op1Register);
        if (ins.Op0Kind == OpKind.Register)
        {
            u.Op = reg;
            u.M = RegNum(ins.Op0Register);
        }
        else
        {
            u.Op = mem;
            MemOperand(in ins, ref u);
        }
    }

    private static void Shift(in Instruction ins, ref Uop u, int kind)
    {
        RmOnly(in ins, ref u, Op.ShiftR, Op.ShiftM);
        u.Sub = (byte)kind;
        if (ins.OpCount > 1 && ins.Op1Kind == OpKind.Register)
        {
            u.Flags |= UopFlags.CountInCl;
        }
        else
        {
            u.Imm = ins.OpCount > 1 ? (uint)ins.GetImmediate(1) & 0xFF : 1;
        }
    }

    private static void DoubleShift(in Instruction ins, ref Uop u, Op reg, Op mem)
    {
        RmReg(in ins, ref u, reg, mem);
        if (ins.Op2Kind == OpKind.Register)
        {
            u.Flags |= UopFlags.CountInCl;
        }
        else
        {
            u.Imm = ins.Immediate8;
        }
    }

    private static void Imul(in Instruction ins, ref Uop u)
    {
        if (ins.OpCount == 1)
        {
            RmOnly(in ins, ref u, Op.MulDivR, Op.MulDivM);
            u.Sub = 5;
        }
        else if (ins.OpCount == 2)
        {
            RegRm(in ins, ref u, Op.Imul2RR, Op.Imul2RM);
        }
        else
        {
            RegRm(in ins, ref u, Op.Imul3RR, Op.Imul3RM);
            u.Imm = (uint)ins.GetImmediate(2);
        }
    }

    private static void BitTest(in Instruction ins, ref Uop u, int kind)
    {
        u.Sub = (byte)kind;
        bool imm = ins.Op1Kind != OpKind.Register;
        if (ins.Op0Kind == OpKind.Register)
        {
            u.M = RegNum(ins.Op0Register);
            u.Size = RegSize(ins.Op0Register);
            u.Op = imm ? Op.BtRI : Op.BtRR;
        }
        else
        {
            MemOperand(in ins, ref u);
            u.Size = (byte)ins.MemorySize.GetSize();
            u.Op = imm ? Op.BtMI : Op.BtMR;
        }
        if (imm) u.Imm = ins.Immediate8;
        else u.R = RegNum(ins.Op1Register);
    }

    private static void Mov(in Instruction ins, ref Uop u)
    {
        OpKind k0 = ins.Op0Kind, k1 = ins.Op1Kind;
        if (k0 == OpKind.Register && IsSegment(ins.Op0Register))
        {
            u.Op = Op.MovToSeg;
            u.R = RegNum(ins.Op0Register);
            u.Size = 2;
            if (k1 == OpKind.Register) u.M = RegNum(ins.Op1Register);
            else MemOperand(in ins, ref u);
            return;
        }
        if (k1 == OpKind.Register && IsSegment(ins.Op1Register))
        {
            u.Op = Op.MovFromSeg;
            u.R = RegNum(ins.Op1Register);
            if (k0 == OpKind.Register) { u.M = RegNum(ins.Op0Register); u.Size = RegSize(ins.Op0Register); }
            else { MemOperand(in ins, ref u); u.Size = 2; }
            return;
        }
        if (k0 == OpKind.Register && IsControl(ins.Op0Register)) { u.Op = Op.MovToCr; u.R = RegNum(ins.Op0Register); u.M = RegNum(ins.Op1Register); return; }
        if (k1 == OpKind.Register && IsControl(ins.Op1Register)) { u.Op = Op.MovFromCr; u.R = RegNum(ins.Op1Register); u.M = RegNum(ins.Op0Register); return; }
        if (k0 == OpKind.Register && IsDebug(ins.Op0Register)) { u.Op = Op.MovToDr; u.R = RegNum(ins.Op0Register); u.M = RegNum(ins.Op1Register); return; }
        if (k1 == OpKind.Register && IsDebug(ins.Op1Register)) { u.Op = Op.MovFromDr; u.R = RegNum(ins.Op1Register); u.M = RegNum(ins.Op0Register); return; }
        if (ins.Op0Register >= Register.TR0 && ins.Op0Register <= Register.TR7 || ins.Op1Register >= Register.TR0 && ins.Op1Register <= Register.TR7)
        {
            u.Op = Op.Invalid;
            return;
        }
        if (k0 == OpKind.Register)
        {
            u.R = RegNum(ins.Op0Register);
            u.Size = RegSize(ins.Op0Register);
            if (k1 == OpKind.Register) { u.Op = Op.MovRR; u.M = RegNum(ins.Op1Register); }
            else if (k1 == OpKind.Memory) { u.Op = Op.MovRM; MemOperand(in ins, ref u); }
            else { u.Op = Op.MovRI; u.Imm = (uint)ins.GetImmediate(1); }
        }
        else
        {
            MemOperand(in ins, ref u);
            u.Size = (byte)ins.MemorySize.GetSize();
            if (k1 == OpKind.Register) { u.Op = Op.MovMR; u.R = RegNum(ins.Op1Register); }
            else { u.Op = Op.MovMI; u.Imm = (uint)ins.GetImmediate(1); }
        }
    }

    private static void Xchg(in Instruction ins, ref Uop u)
    {
        if (ins.Op0Kind == OpKind.Register && ins.Op1Kind == OpKind.Register)
        {
            u.Op = Op.XchgRR;
            u.R = RegNum(ins.Op0Register);
            u.M = RegNum(ins.Op1Register);
            u.Size = RegSize(ins.Op0Register);
            return;
        }
        u.Op = Op.XchgRM;
        Register r = ins.Op0Kind == OpKind.Register ? ins.Op0Register : ins.Op1Register;
        u.R = RegNum(r);
        u.Size = RegSize(r);
        MemOperand(in ins, ref u);
    }

    private static void FarPointer(in Instruction ins, ref Uop u, int seg)
    {
        u.Op = Op.LoadFarPointer;
        u.Sub = (byte)seg;
        u.R = RegNum(ins.Op0Register);
        u.Size = RegSize(ins.Op0Register);
        MemOperand(in ins, ref u);
    }

    private static void Push(in Instruction ins, ref Uop u)
    {
        u.Size = (byte)(ins.StackPointerIncrement == -2 ? 2 : 4);
        switch (ins.Op0Kind)
        {
            case OpKind.Register when IsSegment(ins.Op0Register): u.Op = Op.PushSeg; u.R = RegNum(ins.Op0Register); break;
            case OpKind.Register: u.Op = Op.PushR; u.R = RegNum(ins.Op0Register); break;
            case OpKind.Memory: u.Op = Op.PushM; MemOperand(in ins, ref u); break;
            default: u.Op = Op.PushI; u.Imm = (uint)ins.GetImmediate(0); break;
        }
    }

    private static void Pop(in Instruction ins, ref Uop u)
    {
        u.Size = (byte)(ins.StackPointerIncrement == 2 ? 2 : 4);
        switch (ins.Op0Kind)
        {
            case OpKind.Register when IsSegment(ins.Op0Register): u.Op = Op.PopSeg; u.R = RegNum(ins.Op0Register); break;
            case OpKind.Register: u.Op = Op.PopR; u.R = RegNum(ins.Op0Register); break;
            default: u.Op = Op.PopM; MemOperand(in ins, ref u); break;
        }
    }

    private static void Branch(in Instruction ins, ref Uop u, Op op)
    {
        u.Op = op;
        bool o16 = ins.Op0Kind == OpKind.NearBranch16;
        u.Size = o16 ? (byte)2 : (byte)4;
        uint target = o16 ? ins.NearBranch16 : ins.NearBranch32;
        u.Imm = target - (uint)ins.NextIP;
    }

    private static byte LoopCounterSize(in Instruction ins) =>
        ins.Code is Code.Loop_rel8_16_CX or Code.Loop_rel8_32_CX or Code.Loope_rel8_16_CX or Code.Loope_rel8_32_CX
            or Code.Loopne_rel8_16_CX or Code.Loopne_rel8_32_CX ? (byte)2 : (byte)4;

    private static void Jump(in Instruction ins, ref Uop u)
    {
        switch (ins.Op0Kind)
        {
            case OpKind.NearBranch16 or OpKind.NearBranch32: Branch(in ins, ref u, Op.Jmp); break;
            case OpKind.FarBranch16 or OpKind.FarBranch32:
                u.Op = Op.JmpFar;
                u.Size = ins.Op0Kind == OpKind.FarBranch16 ? (byte)2 : (byte)4;
                u.Imm = ins.Op0Kind == OpKind.FarBranch16 ? ins.FarBranch16 : ins.FarBranch32;
                u.Imm2 = ins.FarBranchSelector;
                break;
            case OpKind.Register: u.Op = Op.JmpR; u.M = RegNum(ins.Op0Register); u.Size = RegSize(ins.Op0Register); break;
            default:
                MemOperand(in ins, ref u);
                bool far = ins.IsJmpFarIndirect;
                u.Op = far ? Op.JmpFarM : Op.JmpM;
                u.Size = far ? (byte)(ins.MemorySize.GetSize() - 2) : (byte)ins.MemorySize.GetSize();
                break;
        }
    }

    private static void CallInsn(in Instruction ins, ref Uop u)
    {
        switch (ins.Op0Kind)
        {
            case OpKind.NearBranch16 or OpKind.NearBranch32: Branch(in ins, ref u, Op.Call); break;
            case OpKind.FarBranch16 or OpKind.FarBranch32:
                u.Op = Op.CallFar;
                u.Size = ins.Op0Kind == OpKind.FarBranch16 ? (byte)2 : (byte)4;
                u.Imm = ins.Op0Kind == OpKind.FarBranch16 ? ins.FarBranch16 : ins.FarBranch32;
                u.Imm2 = ins.FarBranchSelector;
                break;
            case OpKind.Register: u.Op = Op.CallR; u.M = RegNum(ins.Op0Register); u.Size = RegSize(ins.Op0Register); break;
            default:
                MemOperand(in ins, ref u);
                bool far = ins.IsCallFarIndirect;
                u.Op = far ? Op.CallFarM : Op.CallM;
                u.Size = far ? (byte)(ins.MemorySize.GetSize() - 2) : (byte)ins.MemorySize.GetSize();
                break;
        }
    }

    private static void StringInsn(in Instruction ins, ref Uop u, int kind)
    {
        u.Op = Op.StringOp;
        u.Sub = (byte)kind;
        u.Size = ins.Mnemonic switch
        {
            Mnemonic.Movsb or Mnemonic.Cmpsb or Mnemonic.Stosb or Mnemonic.Lodsb or Mnemonic.Scasb or Mnemonic.Insb or Mnemonic.Outsb => 1,
            Mnemonic.Movsw or Mnemonic.Cmpsw or Mnemonic.Stosw or Mnemonic.Lodsw or Mnemonic.Scasw or Mnemonic.Insw or Mnemonic.Outsw => 2,
            _ => 4,
        };
        // The address size decides SI/DI vs ESI/EDI and CX vs ECX as the counter.
        bool addr16 = false;
        for (int i = 0; i < ins.OpCount; i++)
        {
            OpKind k = ins.GetOpKind(i);
            if (k is OpKind.MemorySegSI or OpKind.MemoryESDI or OpKind.MemorySegDI) addr16 = true;
        }
        u.Size2 = addr16 ? (byte)2 : (byte)4;
        if (addr16) u.Flags |= UopFlags.Addr16;
        u.Seg = SegReg.Es;
        if (kind is StringKind.Movs or StringKind.Cmps or StringKind.Lods or StringKind.Outs)
        {
            u.Seg = RegNum(ins.MemorySegment);
        }
        if (ins.HasRepePrefix || ins.HasRepPrefix) u.Flags |= UopFlags.Rep;
        if (ins.HasRepnePrefix) u.Flags |= UopFlags.Rep | UopFlags.RepNe;
    }

    private static void SetccInsn(in Instruction ins, ref Uop u)
    {
        RmOnly(in ins, ref u, Op.SetccR, Op.SetccM);
        u.Size = 1;
        u.Sub = (byte)ins.ConditionCode.ToCc();
    }

    private static void PortIo(in Instruction ins, ref Uop u, Op op, Register data, OpKind portKind)
    {
        u.Op = op;
        u.Size = RegSize(data);
        if (portKind == OpKind.Immediate8)
        {
            u.Flags |= UopFlags.HasImm;
            u.Imm = ins.Immediate8;
        }
    }

    private static byte OperandSizeFromCode(in Instruction ins) =>
        ins.Code is Code.Lgdt_m1632_16 or Code.Lidt_m1632_16 ? (byte)2 : (byte)4;

    private static bool IsSegment(Register r) => r >= Register.ES && r <= Register.GS;

    private static bool IsControl(Register r) => r >= Register.CR0 && r <= Register.CR15;

    private static bool IsDebug(Register r) => r >= Register.DR0 && r <= Register.DR15;

    private static bool IsX87(in Instruction ins)
    {
        foreach (CpuidFeature f in ins.CpuidFeatures)
        {
            if (f is CpuidFeature.FPU or CpuidFeature.FPU287 or CpuidFeature.FPU387 or CpuidFeature.FPU387SL_ONLY)
            {
                return true;
            }
        }
        return false;
    }
}

internal static class ConditionCodeExtensions
{
    public static readonly HashSet<Mnemonic> Setcc =
    [
        Mnemonic.Seto, Mnemonic.Setno, Mnemonic.Setb, Mnemonic.Setae, Mnemonic.Sete, Mnemonic.Setne, Mnemonic.Setbe, Mnemonic.Seta,
        Mnemonic.Sets, Mnemonic.Setns, Mnemonic.Setp, Mnemonic.Setnp, Mnemonic.Setl, Mnemonic.Setge, Mnemonic.Setle, Mnemonic.Setg,
    ];

    public static readonly HashSet<Mnemonic> Cmovcc =
    [
        Mnemonic.Cmovo, Mnemonic.Cmovno, Mnemonic.Cmovb, Mnemonic.Cmovae, Mnemonic.Cmove, Mnemonic.Cmovne, Mnemonic.Cmovbe, Mnemonic.Cmova,
        Mnemonic.Cmovs, Mnemonic.Cmovns, Mnemonic.Cmovp, Mnemonic.Cmovnp, Mnemonic.Cmovl, Mnemonic.Cmovge, Mnemonic.Cmovle, Mnemonic.Cmovg,
    ];

    /// <summary>Iced's <see cref="ConditionCode"/> to the 4-bit x86 cc encoding.</summary>
    public static int ToCc(this ConditionCode c) => c switch
    {
        ConditionCode.o => 0x0,
        ConditionCode.no => 0x1,
        ConditionCode.b => 0x2,
        ConditionCode.ae => 0x3,
        ConditionCode.e => 0x4,
        ConditionCode.ne => 0x5,
        ConditionCode.be => 0x6,
        ConditionCode.a => 0x7,
        ConditionCode.s => 0x8,
        ConditionCode.ns => 0x9,
        ConditionCode.p => 0xA,
        ConditionCode.np => 0xB,
        ConditionCode.l => 0xC,
        ConditionCode.ge => 0xD,
        ConditionCode.le => 0xE,
        _ => 0xF,
    };
}
