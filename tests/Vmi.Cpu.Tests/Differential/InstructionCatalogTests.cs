using Iced.Intel;

namespace Vmi.Cpu.Tests.Differential;

/// <summary>The catalog and its generators must test what they claim to, or a green run means nothing.</summary>
public sealed class InstructionCatalogTests
{
    [Fact]
    public void Every_family_has_forms_and_names_are_unique()
    {
        Assert.Equal(InstructionCatalog.All.Count, InstructionCatalog.All.Select(f => f.Name).Distinct().Count());
        foreach (var family in Enum.GetValues<InstructionFamily>())
            Assert.NotEmpty(InstructionCatalog.Forms(family));
    }

    [Fact]
    public void Every_form_generates_its_own_encoding()
    {
        foreach (var form in InstructionCatalog.All)
        {
            var generator = new CaseGenerator(form);
            for (var i = 0; i < 64; i++)
            {
                var @case = generator.Next();
                var decoder = Decoder.Create(32, new ByteArrayCodeReader(@case.Bytes));
                var decoded = decoder.Decode();
                Assert.True(form.Code == decoded.Code && decoded.Length == @case.Bytes.Length,
                    $"{form.Name} generated {Convert.ToHexString(@case.Bytes)}, which decodes as {decoded.Code}.");
            }
        }
    }

    [Fact]
    public void Generators_are_deterministic()
    {
        foreach (var name in new[] { "Adc_rm32_r32", "Div_rm16", "Lea_r32_m" })
        {
            var first = new CaseGenerator(InstructionCatalog.Get(name));
            var second = new CaseGenerator(InstructionCatalog.Get(name));
            for (var i = 0; i < 16; i++)
            {
                var a = first.Next();
                var b = second.Next();
                Assert.Equal(a.Bytes, b.Bytes);
                Assert.Equal(a.Input, b.Input);
            }
        }
    }

    [Fact]
    public void Division_cases_never_fault()
    {
        foreach (var form in InstructionCatalog.All.Where(f => f.Code.Mnemonic() is Mnemonic.Div or Mnemonic.Idiv))
        {
            var generator = new CaseGenerator(form);
            for (var i = 0; i < form.Cases; i++)
            {
                var @case = generator.Next();
                Assert.False(NativeOracle.WouldDivideFault(@case.Instruction, @case.Input), $"{form.Name}: {@case.Input}");
            }
        }
    }

    private static UndefinedOutputs UndefinedFor(Code code, Register r0, Register r1, uint cl = 0, int? immediate = null, uint source = 1)
    {
        var instruction = immediate is { } imm ? Instruction.Create(code, r0, imm)
            : r1 == Register.None ? Instruction.Create(code, r0)
            : Instruction.Create(code, r0, r1);
        var input = new RegisterFile { Ecx = cl, Ebx = source };
        return InstructionCatalog.UndefinedFor(instruction, input);
    }

    [Fact]
    public void Undefined_table_follows_the_manuals()
    {
        // Shifts: count 0 leaves everything defined (unaffected); count 1 only AF; count > 1 adds OF; SHL/SHR
        // of an 8-bit operand by 8 or more adds CF, SAR does not.
        Assert.Equal(0u, UndefinedFor(Code.Shl_rm8_CL, Register.AL, Register.CL, cl: 0x20).Flags);
        Assert.Equal(FlagBits.AF, UndefinedFor(Code.Shl_rm8_1, Register.AL, Register.None, immediate: 1).Flags);
        Assert.Equal(FlagBits.AF | FlagBits.OF, UndefinedFor(Code.Shr_rm16_imm8, Register.AX, Register.None, immediate: 15).Flags);
        Assert.Equal(FlagBits.AF | FlagBits.OF | FlagBits.CF, UndefinedFor(Code.Shl_rm8_CL, Register.AL, Register.CL, cl: 8).Flags);
        Assert.Equal(FlagBits.AF | FlagBits.OF, UndefinedFor(Code.Sar_rm8_CL, Register.AL, Register.CL, cl: 8).Flags);

        // Rotates: only OF, only for masked counts above 1.
        Assert.Equal(0u, UndefinedFor(Code.Rcl_rm32_CL, Register.EDX, Register.CL, cl: 0x21).Flags);
        Assert.Equal(FlagBits.OF, UndefinedFor(Code.Rol_rm8_imm8, Register.BL, Register.None, immediate: 9).Flags);

        // BSF with a zero source: the destination is undefined too.
        Assert.Equal(Register.EAX, UndefinedFor(Code.Bsf_r32_rm32, Register.EAX, Register.EBX, source: 0).Result);
        Assert.Equal(Register.None, UndefinedFor(Code.Bsf_r32_rm32, Register.EAX, Register.EBX, source: 8).Result);

        // BT leaves ZF unaffected, so ZF is compared.
        Assert.Equal(0u, UndefinedFor(Code.Bt_rm32_r32, Register.EAX, Register.EBX).Flags & (FlagBits.ZF | FlagBits.CF));

        // ADD defines everything.
        Assert.Equal(UndefinedOutputs.Nothing, UndefinedFor(Code.Add_rm32_r32, Register.EAX, Register.EBX));
    }

    [Fact]
    public void Shld_16_bit_beyond_16_leaves_result_and_flags_undefined()
    {
        var instruction = Instruction.Create(Code.Shld_rm16_r16_CL, Register.DX, Register.BX, Register.CL);
        Assert.Equal(new UndefinedOutputs(FlagBits.Arithmetic, Register.DX), InstructionCatalog.UndefinedFor(instruction, new RegisterFile { Ecx = 17 }));
        Assert.Equal(new UndefinedOutputs(FlagBits.AF | FlagBits.OF), InstructionCatalog.UndefinedFor(instruction, new RegisterFile { Ecx = 16 }));
    }
}
