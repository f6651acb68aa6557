using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests.Exec;

/// <summary>
/// F3 0F BC / F3 0F BD ("rep bsf" / "rep bsr") are TZCNT / LZCNT only on CPUs with BMI1 / LZCNT.
/// This CPU reports neither, so they execute as BSF / BSR, as on the Pentium 4 and Opteron it
/// models: gcc emits "rep bsf" for __builtin_ctz, and Debian's i386 Linux uses it. (They were #UD.)
/// </summary>
public sealed class RepBitScanTests
{
    [Theory]
    [InlineData(0xBC, 0x0001_0100u, 8u)]   // rep bsf: lowest set bit
    [InlineData(0xBD, 0x0001_0100u, 16u)]  // rep bsr: highest set bit
    [InlineData(0xBC, 0x8000_0000u, 31u)]
    public void RunsAsTheBitScan(byte opcode, uint source, uint index)
    {
        var h = new H();
        var a = new Assembler(32);
        a.mov(ecx, source);
        a.mov(eax, 0xDEAD);
        a.db(0xF3, 0x0F, opcode, 0xC1); // eax <- scan(ecx)
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        Assert.Equal(index, h.Cpu.Eax);
        Assert.Equal(0u, h.Cpu.Eflags & EFlags.ZF);
    }

    [Fact]
    public void AZeroSourceSetsZfAndLeavesTheDestination()
    {
        var h = new H();
        var a = new Assembler(32);
        a.xor(ecx, ecx);
        a.mov(eax, 0xDEAD);
        a.db(0xF3, 0x0F, 0xBC, 0xC1);
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        Assert.Equal(0xDEADu, h.Cpu.Eax);
        Assert.Equal(EFlags.ZF, h.Cpu.Eflags & EFlags.ZF);
    }
}
