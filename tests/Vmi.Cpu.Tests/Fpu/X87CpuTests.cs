using Iced.Intel;
using Vmi.Cpu.Fpu;
using Vmi.Cpu.Tests.Support;
using static Iced.Intel.AssemblerRegisters;
using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests.Fpu;

/// <summary>The x87 on the emulated CPU: programs, the CR0 rules, #MF and FERR#, save images, faulting operands.</summary>
public sealed class X87CpuTests
{
    private const uint Data = H.DataBase;

    private static ulong Read64(H h, uint address) => h.Memory.Read32(address) | ((ulong)h.Memory.Read32(address + 4) << 32);

    private static H Run(Action<Assembler> emit, uint cr0Set = Cr0Bits.NE, uint cr0Clear = 0)
    {
        var h = new H();
        var a = new Assembler(32);
        emit(a);
        a.hlt();
        h.Load(a);
        Assert.True(h.Cpu.TrySetControlRegister(0, (h.Cpu.Cr0 | cr0Set) & ~cr0Clear));
        h.RunUntilHalt();
        return h;
    }

    [Fact]
    public void Pi_times_two_stored_as_a_double()
    {
        H h = Run(a =>
        {
            a.fninit();
            a.fldpi();
            a.fadd(st0, st0);
            a.fstp(__qword_ptr[Data]);
        });
        Assert.Equal(BitConverter.DoubleToUInt64Bits(2 * Math.PI), Read64(h, Data));
    }

    [Fact]
    public void The_kernels_fdiv_bug_check_finds_a_correct_divider()
    {
        // Linux's check_fpu: x - (x / y) * y with x = 4195835, y = 3145727 is 0 on a correct FDIV.
        H h = Run(a =>
        {
            a.mov(__dword_ptr[Data], 4195835);
            a.mov(__dword_ptr[Data + 4], 3145727);
            a.fninit();
            a.fild(__dword_ptr[Data]);
            a.fidiv(__dword_ptr[Data + 4]);
            a.fimul(__dword_ptr[Data + 4]);
            a.fisubr(__dword_ptr[Data]);
            a.fistp(__dword_ptr[Data + 8]);
            a.fnstsw(ax);
        });
        Assert.Equal(0u, h.Memory.Read32(Data + 8));
        Assert.Equal(0u, h.Cpu.Eax & 0x3800); // TOP back to 0: the stack is balanced
    }

    [Fact]
    public void Truncating_conversion_through_a_control_word_change()
    {
        // What gcc emits for (int)x: save CW, set RC = toward zero, FISTP, restore CW.
        H h = Run(a =>
        {
            a.fninit();
            a.mov(__dword_ptr[Data], 0xC0E0_0000); // -7.0f
            a.mov(__dword_ptr[Data + 4], 0x4000_0000); // 2.0f
            a.fld(__dword_ptr[Data]);
            a.fdiv(__dword_ptr[Data + 4]); // -3.5
            a.fnstcw(__word_ptr[Data + 8]);
            a.mov(ax, __word_ptr[Data + 8]);
            a.or(ax, 0x0C00);
            a.mov(__word_ptr[Data + 10], ax);
            a.fldcw(__word_ptr[Data + 10]);
            a.fist(__dword_ptr[Data + 12]);
            a.fldcw(__word_ptr[Data + 8]);
            a.fistp(__dword_ptr[Data + 16]);
        });
        Assert.Equal(-3, (int)h.Memory.Read32(Data + 12));
        Assert.Equal(-4, (int)h.Memory.Read32(Data + 16)); // nearest-even of -3.5
    }

    [Fact]
    public void Fcomi_sets_eflags_and_fcmov_reads_them()
    {
        H h = Run(a =>
        {
            a.fninit();
            a.fld1();
            a.fldz();
            a.fcomi(st0, st1);   // 0 < 1: CF
            a.setb(bl);
            a.fcmovb(st0, st1);  // taken: ST0 = 1
            a.fistp(__dword_ptr[Data]);
        });
        Assert.Equal(1u, h.Cpu.Ebx & 0xFF);
        Assert.Equal(1u, h.Memory.Read32(Data));
    }

    [Theory]
    [InlineData(Cr0Bits.TS)]
    [InlineData(Cr0Bits.EM)]
    [InlineData(Cr0Bits.EM | Cr0Bits.MP)]
    public void Ts_or_em_makes_an_x87_instruction_raise_nm(uint bits)
    {
        var h = new H();
        var a = new Assembler(32);
        a.fld1();
        a.hlt();
        h.Load(a);
        Assert.True(h.Cpu.TrySetControlRegister(0, h.Cpu.Cr0 | bits));
        h.Cpu.Run(100);
        h.AssertStopped(Vectors.NM);
        Assert.Equal(H.CodeBase, h.Stack(0)); // the fault points at FLD1, which did not execute
        Assert.Equal(0, h.Cpu.X87State.Top);
    }

    [Fact]
    public void Emms_empties_every_register_and_leaves_top_and_contents_alone()
    {
        // Linux's AMD FXSAVE-leak workaround: fnclex; emms; fild — on a part whose CPUID shows no MMX.
        H h = Run(a =>
        {
            a.fninit();
            a.fld1();
            a.fldpi();
            a.emms();
            a.fnstenv(__[Data]);
        });
        Assert.Equal(0xFFFFu, h.Memory.Read32(Data + 8) & 0xFFFF); // the tag word: all empty
        Assert.Equal(6, h.Cpu.X87State.Top); // two pushes, no pops
        Assert.Equal(H.NoVector, h.LastVector);
    }

    [Theory]
    [InlineData(Cr0Bits.EM, Vectors.UD)]
    [InlineData(Cr0Bits.TS, Vectors.NM)]
    public void Emms_is_ud_with_em_and_nm_with_ts(uint bits, int vector)
    {
        var h = new H();
        var a = new Assembler(32);
        a.emms();
        a.hlt();
        h.Load(a);
        Assert.True(h.Cpu.TrySetControlRegister(0, h.Cpu.Cr0 | bits));
        h.Cpu.Run(100);
        h.AssertStopped(vector);
    }

    [Theory]
    [InlineData(Cr0Bits.TS, false)]
    [InlineData(Cr0Bits.MP, false)]
    [InlineData(Cr0Bits.TS | Cr0Bits.MP, true)]
    [InlineData(Cr0Bits.EM | Cr0Bits.TS, false)]
    public void Wait_raises_nm_only_with_mp_and_ts(uint bits, bool faults)
    {
        var h = new H();
        var a = new Assembler(32);
        a.wait();
        a.hlt();
        h.Load(a);
        Assert.True(h.Cpu.TrySetControlRegister(0, h.Cpu.Cr0 | bits));
        h.Cpu.Run(100);
        if (faults) h.AssertStopped(Vectors.NM);
        else Assert.Equal(H.NoVector, h.LastVector);
    }

    [Fact]
    public void An_unmasked_exception_raises_mf_at_the_next_waiting_instruction()
    {
        var h = new H();
        var a = new Assembler(32);
        a.fninit();
        a.mov(__word_ptr[Data], 0x037B); // ZE unmasked
        a.fldcw(__word_ptr[Data]);
        a.fld1();
        a.fldz();
        a.fdivp(st1, st0);                // 1/0: ZE pending, nothing stored, no pop
        a.nop();
        var next = a.CreateLabel();
        a.Label(ref next);
        a.fld1();                         // waiting: #MF here
        a.hlt();
        GuestProgram p = h.Load(a);
        Assert.True(h.Cpu.TrySetControlRegister(0, h.Cpu.Cr0 | Cr0Bits.NE));
        h.Cpu.Run(100);
        h.AssertStopped(Vectors.MF);
        Assert.Equal(p[next], h.Stack(0));
        X87Fpu f = h.Cpu.X87State;
        Assert.NotEqual(0, f.Status & FpuExceptions.ZeroDivide);
        Assert.True(f.ErrorPending);
        Assert.Equal(6, f.Top); // 1/0 left both operands where they were
    }

    [Fact]
    public void Fnclex_and_fnstsw_do_not_wait_for_a_pending_error()
    {
        H h = Run(a =>
        {
            a.fninit();
            a.mov(__word_ptr[Data], 0x037E); // IE unmasked
            a.fldcw(__word_ptr[Data]);
            a.fsqrt();                       // empty stack: IE + SF pending
            a.fnstsw(ax);
            a.fnclex();
            a.fld1();                        // no longer pending
        });
        Assert.Equal(H.NoVector, h.LastVector);
        Assert.Equal(FpuExceptions.Invalid | FpuExceptions.StackFault | FpuStatus.ErrorSummary | FpuStatus.Busy, h.Cpu.Eax & 0xFFFF & ~FpuStatus.TopMask & ~(uint)FpuStatus.ConditionCodes);
    }

    [Fact]
    public void With_ne_clear_an_error_drives_ferr_and_the_program_goes_on()
    {
        var h = new H();
        var a = new Assembler(32);
        a.fninit();
        a.mov(__word_ptr[Data], 0x037B);
        a.fldcw(__word_ptr[Data]);
        a.fld1();
        a.fldz();
        a.fdivp(st1, st0);
        a.fld1();
        a.fnclex();
        a.hlt();
        h.Load(a);
        Assert.True(h.Cpu.TrySetControlRegister(0, h.Cpu.Cr0 & ~Cr0Bits.NE));
        h.RunUntilHalt();
        Assert.Equal(H.NoVector, h.LastVector);
        Assert.Equal([true, false], h.Platform.FpuErrorSignals);
    }

    [Fact]
    public void Fnsave_writes_the_32_bit_protected_mode_image_and_frstor_reads_it_back()
    {
        H h = Run(a =>
        {
            a.fninit();
            a.fld1();
            a.fldz();
            a.fnsave(__dword_ptr[Data]);
            a.fnstcw(__word_ptr[Data + 0x200]);
            a.frstor(__dword_ptr[Data]);
            a.faddp(st1, st0);
            a.fstp(__dword_ptr[Data + 0x204]);
        });
        Assert.Equal(FpuControl.Initial, h.Memory.Read16(Data));
        ushort status = h.Memory.Read16(Data + 4);
        Assert.Equal(6, (status >> 11) & 7);
        // ST0 = +0 (tag 01), ST1 = 1.0 (tag 00), in physical registers 6 and 7; the rest empty.
        Assert.Equal(0x0FFF | (1 << 12) | (0 << 14), h.Memory.Read16(Data + 8));
        Assert.Equal(0ul, Read64(h, Data + 28));
        Assert.Equal(0x8000_0000_0000_0000ul, Read64(h, Data + 38));
        Assert.Equal(0x3FFF, h.Memory.Read16(Data + 46));
        Assert.Equal(FpuControl.Initial, h.Memory.Read16(Data + 0x200)); // FNSAVE re-initialized
        Assert.Equal(0x3F80_0000u, h.Memory.Read32(Data + 0x204));     // 0 + 1 after FRSTOR
        // The last non-control instruction before FNSAVE: FLDZ, after FNINIT and FLD1 (2 bytes each).
        Assert.Equal(H.CodeBase + 4, h.Memory.Read32(Data + 12));
        Assert.Equal(H.Code0, h.Memory.Read16(Data + 16));
    }

    [Fact]
    public void The_16_bit_image_is_14_plus_80_bytes()
    {
        H h = Run(a =>
        {
            a.fninit();
            a.fld1();
            a.db(0x66);
            a.fnsave(__dword_ptr[Data]);
        });
        Assert.Equal(FpuControl.Initial, h.Memory.Read16(Data));
        Assert.Equal(7, (h.Memory.Read16(Data + 2) >> 11) & 7);
        Assert.Equal(0x3FFF, h.Memory.Read16(Data + 4)); // tag word: ST0 valid in register 7
        Assert.Equal(0x8000_0000_0000_0000ul, Read64(h, Data + 14));
        Assert.Equal(0x3FFF, h.Memory.Read16(Data + 22));
    }

    [Fact]
    public void A_faulting_memory_operand_changes_nothing()
    {
        var h = new H();
        var a = new Assembler(32);
        a.fninit();
        a.fld1();
        a.fld(__qword_ptr[0x0050_0000]);   // beyond RAM through an unmapped page
        a.hlt();
        h.Load(a);
        h.EnablePaging();
        h.Cpu.Run(100);
        h.AssertStopped(Vectors.PF);
        Assert.Equal(7, h.Cpu.X87State.Top);
        Assert.Equal(0x0050_0000u, h.Cpu.Cr2);
    }
}
