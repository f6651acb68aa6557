using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Cpu.Tests.Differential;

/// <summary>The oracle itself must be right before anything is compared against it.</summary>
public sealed class NativeOracleTests : IDisposable
{
    private readonly NativeOracle _oracle = new();

    public void Dispose() => _oracle.Dispose();

    private static byte[] Encode(Action<Assembler> emit)
    {
        var assembler = new Assembler(32);
        emit(assembler);
        var writer = new BufferCodeWriter();
        assembler.Assemble(writer, 0);
        return writer.ToArray();
    }

    private const uint StatusFlags = FlagBits.Arithmetic;

    [NativeFact]
    public void Add_signed_overflow_sets_OF_and_SF_but_not_CF()
    {
        var output = _oracle.Execute(Encode(a => a.add(eax, ebx)), new RegisterFile { Eax = 0x7FFF_FFFF, Ebx = 1 });

        Assert.Equal(0x8000_0000u, output.Eax);
        Assert.Equal(1u, output.Ebx);
        Assert.Equal(FlagBits.OF | FlagBits.SF | FlagBits.AF | FlagBits.PF, output.Eflags & StatusFlags);
    }

    [NativeFact]
    public void Add_unsigned_wrap_sets_CF_and_ZF()
    {
        var output = _oracle.Execute(Encode(a => a.add(eax, ebx)), new RegisterFile { Eax = 0xFFFF_FFFF, Ebx = 1 });

        Assert.Equal(0u, output.Eax);
        Assert.Equal(FlagBits.CF | FlagBits.ZF | FlagBits.AF | FlagBits.PF, output.Eflags & StatusFlags);
    }

    [NativeFact]
    public void Add_clears_flags_that_were_set_on_input()
    {
        var output = _oracle.Execute(Encode(a => a.add(eax, ebx)),
            new RegisterFile { Eax = 1, Ebx = 2, Eflags = FlagBits.Arithmetic });

        Assert.Equal(3u, output.Eax);
        Assert.Equal(FlagBits.PF, output.Eflags & StatusFlags);
    }

    [NativeTheory]
    [InlineData(0u, 3u)]
    [InlineData(FlagBits.CF, 4u)]
    public void Adc_adds_the_incoming_carry(uint inputFlags, uint expected)
    {
        var output = _oracle.Execute(Encode(a => a.adc(eax, ebx)), new RegisterFile { Eax = 1, Ebx = 2, Eflags = inputFlags });

        Assert.Equal(expected, output.Eax);
        Assert.Equal(0u, output.Eflags & FlagBits.CF);
    }

    [NativeFact]
    public void Div_leaves_quotient_in_eax_and_remainder_in_edx()
    {
        // EDX:EAX = 0x1_0000_0005, / 2 = 0x8000_0002 remainder 1.
        var output = _oracle.Execute(Encode(a => a.div(ebx)), new RegisterFile { Eax = 5, Edx = 1, Ebx = 2 });

        Assert.Equal(0x8000_0002u, output.Eax);
        Assert.Equal(1u, output.Edx);
        Assert.Equal(2u, output.Ebx);
    }

    [NativeFact]
    public void Add_to_a_high_byte_register_touches_only_bits_8_to_15()
    {
        // AH = 0x56, BL = 0xAB: 0x56 + 0xAB = 0x101, so AH = 0x01 with a carry out of bit 7.
        var output = _oracle.Execute(Encode(a => a.add(ah, bl)), new RegisterFile { Eax = 0x1234_5678, Ebx = 0xFFFF_FFAB });

        Assert.Equal(0x1234_0178u, output.Eax);
        Assert.Equal(0xFFFF_FFABu, output.Ebx);
        Assert.Equal(FlagBits.CF, output.Eflags & (FlagBits.CF | FlagBits.ZF | FlagBits.SF | FlagBits.OF));
    }

    [NativeFact]
    public void Add_16_bit_wraps_at_16_bits_and_keeps_the_upper_half()
    {
        var output = _oracle.Execute(Encode(a => a.add(ax, bx)), new RegisterFile { Eax = 0xAAAA_8000, Ebx = 0x5555_8000 });

        Assert.Equal(0xAAAA_0000u, output.Eax);
        Assert.Equal(FlagBits.CF | FlagBits.ZF | FlagBits.OF | FlagBits.PF, output.Eflags & StatusFlags);
    }

    [NativeFact]
    public void Shl_16_bit_uses_the_16_bit_sign()
    {
        var output = _oracle.Execute(Encode(a => a.shl(si, 1)), new RegisterFile { Esi = 0x0001_4000 });

        Assert.Equal(0x0001_8000u, output.Esi);
        Assert.Equal(FlagBits.SF | FlagBits.OF, output.Eflags & (FlagBits.CF | FlagBits.ZF | FlagBits.SF | FlagBits.OF));
    }

    [NativeFact]
    public void Every_register_and_DF_round_trip_in_order()
    {
        var input = new RegisterFile
        {
            Eax = 0x1111_1111,
            Ecx = 0x2222_2222,
            Edx = 0x3333_3333,
            Ebx = 0x4444_4444,
            Ebp = 0x5555_5555,
            Esi = 0x6666_6666,
            Edi = 0x7777_7777,
            Eflags = FlagBits.Compared,
        };

        var output = _oracle.Execute([0x90], input); // nop

        Assert.Equal(input with { Eflags = FlagBits.Compared | FlagBits.Reserved1 }, output);
    }

    [NativeFact]
    public void A_new_instruction_replaces_the_previous_one_in_the_slot()
    {
        var input = new RegisterFile { Eax = 10, Ebx = 3 };
        var sum = _oracle.Execute(Encode(a => a.add(eax, ebx)), input);
        var difference = _oracle.Execute(Encode(a => a.sub(eax, ebx)), input);
        var longest = _oracle.Execute(Encode(a => a.imul(eax, ebx, 0x1234_5678)), input);

        Assert.Equal(13u, sum.Eax);
        Assert.Equal(7u, difference.Eax);
        Assert.Equal(unchecked(3u * 0x1234_5678u), longest.Eax);
    }

    public static TheoryData<string, byte[]> Refused => new()
    {
        { "div by zero", Encode(a => a.div(ebx)) },
        { "memory operand", Encode(a => a.add(eax, __dword_ptr[ebx])) },
        { "stack", Encode(a => a.push(eax)) },
        { "ESP", Encode(a => a.mov(esp, eax)) },
        { "one-byte inc is REX in 64-bit mode", [0x40] },
        { "invalid in 64-bit mode", [0x37] }, // aaa
        { "control flow", Encode(a => a.jmp(eax)) },
        { "privileged", [0xFA] }, // cli
        { "lock prefix", [0xF0, 0x01, 0xD8] },
        { "16-bit addressing differs", [0x67, 0x8D, 0x00] }, // lea eax, [bx+si]
        { "absolute address is RIP-relative in 64-bit mode", [0x8D, 0x05, 0, 0, 0, 0] },
        { "two instructions", [0x90, 0x90] },
        { "truncated", [0x05, 0x01] },
        { "segment register", [0x8E, 0xD8] }, // mov ds, eax
    };

    [NativeTheory]
    [MemberData(nameof(Refused))]
    public void Refuses_instructions_that_could_hurt_the_host(string why, byte[] bytes)
    {
        Assert.False(string.IsNullOrEmpty(why));
        Assert.Throws<ArgumentException>(() => _oracle.Execute(bytes, new RegisterFile { Eax = 1 }));
    }

    [NativeTheory]
    [InlineData(0x0000_0000u, 0x0000_0000u, 0u, true)]   // divide by zero
    [InlineData(0x0000_0000u, 0x0000_0002u, 2u, true)]   // EDX:EAX = 2^33, quotient 2^32 overflows
    [InlineData(0xFFFF_FFFFu, 0x0000_0001u, 2u, false)]  // 0x1_FFFF_FFFF / 2 = 0xFFFF_FFFF fits
    public void Div_guard_predicts_quotient_overflow(uint low, uint high, uint divisor, bool faults)
    {
        var bytes = Encode(a => a.div(ebx));
        var input = new RegisterFile { Eax = low, Edx = high, Ebx = divisor };
        if (faults)
            Assert.Throws<ArgumentException>(() => _oracle.Execute(bytes, input));
        else
            Assert.Equal(0xFFFF_FFFFu, _oracle.Execute(bytes, input).Eax);
    }

    [NativeFact]
    public void Idiv_8_bit_guard_allows_minus_128_and_refuses_plus_128()
    {
        var bytes = Encode(a => a.idiv(bl));

        // AX = +128, BL = -1: the quotient -128 still fits in AL.
        var output = _oracle.Execute(bytes, new RegisterFile { Eax = 0x0080, Ebx = 0xFF });
        Assert.Equal(0x0080u, output.Eax & 0xFFFF);

        // AX = -128, BL = -1: the quotient +128 does not, so the CPU would raise #DE.
        Assert.Throws<ArgumentException>(() => _oracle.Execute(bytes, new RegisterFile { Eax = 0xFF80, Ebx = 0xFF }));
    }
}
