using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests.Exec;

/// <summary>
/// F3 0F BC / F3 0F BD ("rep bsf" / "rep bsr") are TZCNT / LZCNT only on CPUs that report BMI1
/// (leaf 7 EBX bit 3) / LZCNT (leaf 0x80000001 ECX bit 5); elsewhere the prefix is ignored and they
/// are BSF / BSR. gcc emits "rep bsf" for __builtin_ctz, and Debian's i386 Linux uses it. What each
/// encoding does follows what the model's CPUID tells the guest: no model reports leaf 7, so TZCNT's
/// encoding is BSF on all of them; the Barcelona and the modern Xeon report LZCNT, as those parts
/// have it, so there F3 0F BD counts leading zeros.
/// </summary>
public sealed class RepBitScanTests
{
    public static TheoryData<string> Models() => new(CpuModel.All.Select(m => m.Name));

    private static readonly string[] ModelsWithLzcnt = [CpuModel.Barcelona.Name, CpuModel.Modern.Name];

    /// <summary>Runs <c>ecx = source; eax = destination; flags = all arithmetic flags clear; [66] F3 0F opcode C1</c> (eax ← op ecx) on <paramref name="model"/>.</summary>
    private static H Run(CpuModel model, byte opcode, uint source, bool operand16 = false, uint destination = 0xDEAD)
    {
        var h = new H(model);
        var a = new Assembler(32);
        a.mov(ecx, source);
        a.mov(eax, destination);
        a.push(0);
        a.popfd();
        if (operand16)
        {
            a.db(0x66);
        }
        a.db(0xF3, 0x0F, opcode, 0xC1);
        a.hlt();
        h.Load(a);
        h.RunUntilHalt();
        return h;
    }

    private static (uint MaxLeaf, uint ExtendedEcx) Cpuid(CpuModel model)
    {
        Vmi.Cpu.Cpu.CpuidOf(model, 0, 0, out uint maxLeaf, out _, out _, out _);
        Vmi.Cpu.Cpu.CpuidOf(model, 0x8000_0001, 0, out _, out _, out uint ecx, out _);
        return (maxLeaf, ecx);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Which_models_report_LZCNT_and_none_reports_BMI1(string name)
    {
        CpuModel model = CpuModel.Find(name)!;
        (uint maxLeaf, uint extendedEcx) = Cpuid(model);
        Assert.True(maxLeaf < 7, "leaf 7 (BMI1) is beyond what every model reports");
        Assert.Equal(ModelsWithLzcnt.Contains(name), (extendedEcx & CpuidBits.Lzcnt) != 0);
        Assert.Equal(0u, extendedEcx & ~CpuidBits.ImplementedExtendedEcx);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void The_TZCNT_encoding_is_BSF_on_every_model(string name)
    {
        CpuModel model = CpuModel.Find(name)!;
        Assert.Equal(8u, Run(model, 0xBC, 0x0001_0100).Cpu.Eax);   // lowest set bit (TZCNT would agree here)
        Assert.Equal(31u, Run(model, 0xBC, 0x8000_0000).Cpu.Eax);

        H zero = Run(model, 0xBC, 0);
        Assert.Equal(0xDEADu, zero.Cpu.Eax);                         // BSF leaves the destination; TZCNT would write 32
        Assert.Equal(EFlags.ZF, zero.Cpu.Eflags & (EFlags.ZF | EFlags.CF)); // and TZCNT would set CF, clear ZF
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void The_LZCNT_encoding_is_LZCNT_where_CPUID_reports_it_and_BSR_elsewhere(string name)
    {
        CpuModel model = CpuModel.Find(name)!;
        bool lzcnt = (Cpuid(model).ExtendedEcx & CpuidBits.Lzcnt) != 0;

        H h = Run(model, 0xBD, 0x0001_0100);
        Assert.Equal(lzcnt ? 15u : 16u, h.Cpu.Eax);                  // 15 leading zeros; the highest set bit is 16
        Assert.Equal(0u, h.Cpu.Eflags & EFlags.ZF);

        H zero = Run(model, 0xBD, 0);
        Assert.Equal(lzcnt ? 32u : 0xDEADu, zero.Cpu.Eax);
        Assert.Equal(lzcnt ? EFlags.CF : EFlags.ZF, zero.Cpu.Eflags & (EFlags.ZF | EFlags.CF));
    }

    [Theory]
    [InlineData(0x8000_0000u, 0u, true)]  // no leading zero: ZF
    [InlineData(0x0000_0001u, 31u, false)]
    [InlineData(0x0000_FFFFu, 16u, false)]
    public void LZCNT_counts_and_sets_ZF_for_a_zero_count(uint source, uint count, bool zf)
    {
        H h = Run(CpuModel.Modern, 0xBD, source);
        Assert.Equal(count, h.Cpu.Eax);
        Assert.Equal(zf ? EFlags.ZF : 0, h.Cpu.Eflags & (EFlags.ZF | EFlags.CF));
    }

    [Theory]
    [InlineData(0x0000u, 16u, EFlags.CF)]
    [InlineData(0x0001u, 15u, 0u)]
    [InlineData(0xFFFF_8000u, 0u, EFlags.ZF)] // only the low word counts
    public void LZCNT_with_a_16_bit_operand_counts_in_16_bits_and_keeps_the_upper_half(uint source, uint count, uint flags)
    {
        H h = Run(CpuModel.Barcelona, 0xBD, source, operand16: true, destination: 0xCAFE_BEEF);
        Assert.Equal(0xCAFE_0000u | count, h.Cpu.Eax);
        Assert.Equal(flags, h.Cpu.Eflags & (EFlags.ZF | EFlags.CF));
    }
}
