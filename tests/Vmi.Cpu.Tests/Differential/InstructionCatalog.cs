using System.Collections.Frozen;
using Iced.Intel;

namespace Vmi.Cpu.Tests.Differential;

public enum InstructionFamily
{
    /// <summary>ADD OR ADC SBB AND SUB XOR CMP TEST INC DEC NEG NOT.</summary>
    Alu,

    /// <summary>ROL ROR RCL RCR SHL SHR SAR (by 1, CL, imm8), SHLD SHRD.</summary>
    Shift,

    /// <summary>MUL, IMUL (one, two and three operands), DIV, IDIV.</summary>
    MulDiv,

    /// <summary>BT BTS BTR BTC, BSF BSR, BSWAP.</summary>
    Bit,

    /// <summary>SETcc CMOVcc XADD CMPXCHG XCHG MOVZX MOVSX CBW CWDE CWD CDQ LAHF SAHF CMC CLC STC LEA.</summary>
    Move,
}

/// <summary>
/// One encoding of one instruction (an Iced <see cref="Iced.Intel.Code"/>): "Add_rm32_r32" and "Add_r32_rm32" are
/// different forms because they are different opcodes and may take different paths through a decoder.
/// </summary>
public sealed record InstructionForm(Code Code, InstructionFamily Family, int Cases)
{
    public string Name => Code.ToString();

    public override string ToString() => Name;
}

/// <summary>What the manuals leave undefined for one execution: flag bits, and possibly the destination register.</summary>
public readonly record struct UndefinedOutputs(uint Flags, Register Result = Register.None)
{
    public static readonly UndefinedOutputs Nothing = new(0);
}

/// <summary>Every instruction form the differential tests run, and the one table of what is undefined.</summary>
public static class InstructionCatalog
{
    /// <summary>
    /// Cases per form. ~320 forms × 2,048 ≈ 660,000 cases, a few seconds at ~1 µs per emulated instruction.
    /// VMI_DIFF_CASES overrides it for a deeper local soak (e.g. 100000).
    /// </summary>
    public static int DefaultCases { get; } =
        int.TryParse(Environment.GetEnvironmentVariable("VMI_DIFF_CASES"), out var cases) && cases > 0 ? cases : 2048;

    /// <summary>
    /// Forms whose only inputs are flags and one or two registers (CLC, CBW, LAHF, ...) have far less to explore.
    /// </summary>
    private static int SmallCases => Math.Max(1, DefaultCases / 4);

    private static readonly string[] Conditions =
        ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];

    public static IReadOnlyList<InstructionForm> All { get; } = Build();

    private static readonly FrozenDictionary<string, InstructionForm> ByName =
        All.ToFrozenDictionary(form => form.Name, StringComparer.Ordinal);

    public static InstructionForm Get(string name) =>
        ByName.TryGetValue(name, out var form) ? form : throw new ArgumentException($"No form '{name}'.", nameof(name));

    /// <summary>Theory rows: one form name per row, so a failing form is named in the test's display name.</summary>
    public static TheoryData<string> Forms(InstructionFamily family)
    {
        var data = new TheoryData<string>();
        foreach (var form in All)
        {
            if (form.Family == family) data.Add(form.Name);
        }
        return data;
    }

    private static List<InstructionForm> Build()
    {
        var forms = new List<InstructionForm>();

        void Add(InstructionFamily family, string code, int? cases = null) =>
            forms.Add(new InstructionForm(Enum.Parse<Code>(code), family, cases ?? DefaultCases));

        // The 0x82 aliases (Add_rm8_imm8_82, ...) are invalid in 64-bit mode and cannot be run natively.
        foreach (var op in new[] { "Add", "Or", "Adc", "Sbb", "And", "Sub", "Xor", "Cmp" })
        {
            foreach (var shape in new[]
                     {
                         "rm8_r8", "rm16_r16", "rm32_r32", "r8_rm8", "r16_rm16", "r32_rm32", "AL_imm8", "AX_imm16",
                         "EAX_imm32", "rm8_imm8", "rm16_imm16", "rm32_imm32", "rm16_imm8", "rm32_imm8",
                     })
                Add(InstructionFamily.Alu, $"{op}_{shape}");
        }

        // TEST's F6 /1 and F7 /1 aliases are left out: undocumented, and Iced names them separately.
        foreach (var shape in new[]
                 { "rm8_r8", "rm16_r16", "rm32_r32", "AL_imm8", "AX_imm16", "EAX_imm32", "rm8_imm8", "rm16_imm16", "rm32_imm32" })
            Add(InstructionFamily.Alu, $"Test_{shape}");

        // INC/DEC only in their FE/FF /0 /1 forms: 0x40–0x4F are REX prefixes on the 64-bit host.
        foreach (var op in new[] { "Inc", "Dec", "Neg", "Not" })
        {
            foreach (var size in new[] { "rm8", "rm16", "rm32" })
                Add(InstructionFamily.Alu, $"{op}_{size}");
        }

        foreach (var op in new[] { "Rol", "Ror", "Rcl", "Rcr", "Shl", "Shr", "Sar" })
        {
            foreach (var size in new[] { "rm8", "rm16", "rm32" })
            {
                foreach (var count in new[] { "1", "CL", "imm8" })
                    Add(InstructionFamily.Shift, $"{op}_{size}_{count}");
            }
        }

        foreach (var op in new[] { "Shld", "Shrd" })
        {
            foreach (var shape in new[] { "rm16_r16", "rm32_r32" })
            {
                foreach (var count in new[] { "imm8", "CL" })
                    Add(InstructionFamily.Shift, $"{op}_{shape}_{count}");
            }
        }

        foreach (var op in new[] { "Mul", "Imul", "Div", "Idiv" })
        {
            foreach (var size in new[] { "rm8", "rm16", "rm32" })
                Add(InstructionFamily.MulDiv, $"{op}_{size}");
        }

        foreach (var shape in new[]
                 { "r16_rm16", "r32_rm32", "r16_rm16_imm16", "r16_rm16_imm8", "r32_rm32_imm32", "r32_rm32_imm8" })
            Add(InstructionFamily.MulDiv, $"Imul_{shape}");

        foreach (var op in new[] { "Bt", "Bts", "Btr", "Btc" })
        {
            foreach (var shape in new[] { "rm16_r16", "rm32_r32", "rm16_imm8", "rm32_imm8" })
                Add(InstructionFamily.Bit, $"{op}_{shape}");
        }

        foreach (var op in new[] { "Bsf", "Bsr" })
        {
            foreach (var shape in new[] { "r16_rm16", "r32_rm32" })
                Add(InstructionFamily.Bit, $"{op}_{shape}");
        }

        // BSWAP r16 is left out: its result is undefined, so there is nothing to compare.
        Add(InstructionFamily.Bit, "Bswap_r32");

        foreach (var cc in Conditions)
        {
            Add(InstructionFamily.Move, $"Set{cc}_rm8");
            Add(InstructionFamily.Move, $"Cmov{cc}_r16_rm16");
            Add(InstructionFamily.Move, $"Cmov{cc}_r32_rm32");
        }

        foreach (var op in new[] { "Xadd", "Cmpxchg", "Xchg" })
        {
            foreach (var shape in new[] { "rm8_r8", "rm16_r16", "rm32_r32" })
                Add(InstructionFamily.Move, $"{op}_{shape}");
        }

        Add(InstructionFamily.Move, "Xchg_r16_AX");
        Add(InstructionFamily.Move, "Xchg_r32_EAX");

        foreach (var op in new[] { "Movzx", "Movsx" })
        {
            foreach (var shape in new[] { "r16_rm8", "r32_rm8", "r16_rm16", "r32_rm16" })
                Add(InstructionFamily.Move, $"{op}_{shape}");
        }

        foreach (var op in new[] { "Cbw", "Cwde", "Cwd", "Cdq", "Lahf", "Sahf", "Cmc", "Clc", "Stc" })
            Add(InstructionFamily.Move, op, SmallCases);

        // LEA with register operands only: the address is computed, never accessed. 16-bit addressing (0x67)
        // means 32-bit addressing on the 64-bit host, so only 32-bit addressing is tested.
        Add(InstructionFamily.Move, "Lea_r16_m");
        Add(InstructionFamily.Move, "Lea_r32_m");

        return forms;
    }

    /// <summary>
    /// THE table of what the manuals leave undefined (Intel SDM vol. 2 "Flags Affected", AMD APM vol. 3
    /// "rFLAGS Affected"). Masked bits are not compared; every other flag is, including those an instruction must
    /// leave unaffected. Counts are the masked counts (count AND 1FH), as the manuals state the rules.
    /// </summary>
    public static UndefinedOutputs UndefinedFor(in Instruction instruction, in RegisterFile input)
    {
        const uint cf = FlagBits.CF, pf = FlagBits.PF, af = FlagBits.AF, zf = FlagBits.ZF, sf = FlagBits.SF, of = FlagBits.OF;
        const uint all = FlagBits.Arithmetic;

        switch (instruction.Mnemonic)
        {
            // AND/OR/XOR/TEST: "OF and CF cleared; SF, ZF, PF set according to the result; AF undefined."
            case Mnemonic.And or Mnemonic.Or or Mnemonic.Xor or Mnemonic.Test:
                return new UndefinedOutputs(af);

            // MUL/IMUL: "OF and CF ... SF, ZF, AF, and PF flags are undefined."
            case Mnemonic.Mul or Mnemonic.Imul:
                return new UndefinedOutputs(sf | zf | af | pf);

            // DIV/IDIV: "The CF, OF, SF, ZF, AF, and PF flags are undefined."
            case Mnemonic.Div or Mnemonic.Idiv:
                return new UndefinedOutputs(all);

            // BSF/BSR: "ZF is set if the source is 0, else cleared. CF, OF, SF, AF, PF are undefined." With a zero
            // source "the content of the destination operand is undefined" (real CPUs leave it unchanged, AMD
            // documents that, but Intel does not promise it).
            case Mnemonic.Bsf or Mnemonic.Bsr:
                {
                    var source = NativeOracle.ReadRegister(input, instruction.Op1Register);
                    return new UndefinedOutputs(cf | of | sf | af | pf, source == 0 ? instruction.Op0Register : Register.None);
                }

            // BT/BTS/BTR/BTC: "CF contains the selected bit; ZF unaffected; OF, SF, AF, PF undefined."
            case Mnemonic.Bt or Mnemonic.Bts or Mnemonic.Btr or Mnemonic.Btc:
                return new UndefinedOutputs(of | sf | af | pf);

            // SHL/SHR/SAR: "If the count is 0, the flags are not affected." Otherwise "AF is undefined" for a
            // non-zero count, "OF is affected only for 1-bit shifts ... undefined" otherwise, and "CF is undefined
            // for SHL and SHR where the count is greater than or equal to the size of the destination" (reachable
            // only for 8/16-bit operands, since the count is masked to 5 bits).
            case Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr or Mnemonic.Sar:
                {
                    var count = MaskedCount(instruction, input);
                    if (count == 0) return UndefinedOutputs.Nothing;
                    var flags = af;
                    if (count > 1) flags |= of;
                    if (instruction.Mnemonic != Mnemonic.Sar && count >= OperandBits(instruction)) flags |= cf;
                    return new UndefinedOutputs(flags);
                }

            // ROL/ROR/RCL/RCR: only CF and OF are affected; "OF is undefined for multi-bit rotates"; a masked
            // count of 0 affects nothing.
            case Mnemonic.Rol or Mnemonic.Ror or Mnemonic.Rcl or Mnemonic.Rcr:
                return new UndefinedOutputs(MaskedCount(instruction, input) > 1 ? of : 0);

            // SHLD/SHRD: "If the count is 0, the flags are not affected"; "AF is undefined" if a shift occurs; "OF is
            // undefined for shifts greater than 1 bit"; "if the count is greater than the operand size, the result
            // and the flags are undefined" (16-bit only: the count is masked to 5 bits).
            case Mnemonic.Shld or Mnemonic.Shrd:
                {
                    var count = MaskedCount(instruction, input);
                    if (count == 0) return UndefinedOutputs.Nothing;
                    if (count > OperandBits(instruction)) return new UndefinedOutputs(all, instruction.Op0Register);
                    return new UndefinedOutputs(count > 1 ? af | of : af);
                }

            // Everything else in the catalog defines every flag it writes (ADD ADC SUB SBB CMP NEG INC DEC XADD
            // CMPXCHG SAHF CMC CLC STC) or writes none (NOT SETcc CMOVcc XCHG MOVZX MOVSX CBW.. LAHF LEA BSWAP).
            default:
                return UndefinedOutputs.Nothing;
        }
    }

    /// <summary>The shift/rotate count: the last operand, imm8 (D0/D1 forms carry an implicit 1) or CL.</summary>
    private static uint MaskedCount(in Instruction instruction, in RegisterFile input)
    {
        var last = instruction.OpCount - 1;
        var count = instruction.GetOpKind(last) == OpKind.Register
            ? NativeOracle.ReadRegister(input, instruction.GetOpRegister(last))
            : instruction.GetImmediate(last);
        return (uint)count & 0x1F;
    }

    private static int OperandBits(in Instruction instruction) => instruction.Op0Register.GetSize() * 8;
}
