using System.Text;
using Iced.Intel;
using Vmi.Cpu.Tests.Support;
using static Iced.Intel.AssemblerRegisters;
using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests.Exec;

/// <summary>REP string instructions: direction, termination conditions, and restart after a fault midway.</summary>
public sealed class StringTests
{
    private const uint Src = H.DataBase, Dst = H.DataBase + 0x1000;

    private static byte[] Pattern(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static byte[] Read(H h, uint address, int length)
    {
        var b = new byte[length];
        h.Memory.ReadBytes(address, b);
        return b;
    }

    [Fact]
    public void RepMovsbForward()
    {
        var h = new H();
        byte[] data = Encoding.ASCII.GetBytes("Hello, protected world!");
        h.Memory.Load(Src, data);
        h.Memory.Fill(Dst, 64, 0xEE);
        var a = new Assembler(32);
        a.cld();
        a.mov(esi, Src);
        a.mov(edi, Dst);
        a.mov(ecx, data.Length);
        a.rep.movsb();
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        Assert.Equal(data, Read(h, Dst, data.Length));
        Assert.Equal(0xEE, h.Memory.Read8(Dst + (uint)data.Length));
        Assert.Equal(0u, h.Cpu.Ecx);
        Assert.Equal(Src + (uint)data.Length, h.Cpu.Esi);
        Assert.Equal(Dst + (uint)data.Length, h.Cpu.Edi);
    }

    [Fact]
    public void RepMovsdBackwardCopiesOverlappingBuffersLikeMemmove()
    {
        // Shift 16 dwords up by one dword in place: only a backward copy gets this right.
        var h = new H();
        byte[] data = Pattern(17 * 4, 1);
        h.Memory.Load(Src, data);
        var a = new Assembler(32);
        a.std();
        a.mov(esi, Src + 15 * 4);
        a.mov(edi, Src + 16 * 4);
        a.mov(ecx, 16);
        a.rep.movsd();
        a.cld();
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        Assert.Equal(data[..64], Read(h, Src + 4, 64));
        Assert.Equal(data[..4], Read(h, Src, 4)); // untouched
        Assert.Equal(Src - 4, h.Cpu.Esi);
        Assert.Equal(Src, h.Cpu.Edi);
        Assert.Equal(0u, h.Cpu.Ecx);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RepStosdInBothDirections(bool backward)
    {
        var h = new H();
        h.Memory.Fill(Dst - 16, 64 + 32, 0);
        var a = new Assembler(32);
        if (backward)
        {
            a.std();
            a.mov(edi, Dst + 15 * 4);
        }
        else
        {
            a.cld();
            a.mov(edi, Dst);
        }
        a.mov(eax, 0xC0DE_F00Du);
        a.mov(ecx, 16);
        a.rep.stosd();
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        for (uint i = 0; i < 16; i++)
        {
            Assert.Equal(0xC0DE_F00Du, h.Memory.Read32(Dst + 4 * i));
        }
        Assert.Equal(0u, h.Memory.Read32(Dst - 4));
        Assert.Equal(0u, h.Memory.Read32(Dst + 64));
        Assert.Equal(backward ? Dst - 4 : Dst + 64, h.Cpu.Edi);
    }

    [Fact]
    public void RepWithZeroCountDoesNothing()
    {
        var h = new H();
        var a = new Assembler(32);
        a.mov(esi, Src);
        a.mov(edi, Dst);
        a.xor(ecx, ecx);
        a.rep.movsb();
        a.hlt();
        h.Load(a);
        h.Memory.Write32(Src, 0x1234_5678);

        h.RunUntilHalt();

        Assert.Equal(0u, h.Memory.Read32(Dst));
        Assert.Equal(Src, h.Cpu.Esi);
        Assert.Equal(Dst, h.Cpu.Edi);
    }

    [Theory]
    [InlineData("abcdef", "abcXef", 2u, 4u, false)] // stops after the mismatch at index 3
    [InlineData("abcdef", "abcdef", 0u, 6u, true)]  // runs out of count, all equal
    [InlineData("Xbcdef", "abcdef", 5u, 1u, false)]
    public void RepeCmpsbStopsAtTheFirstDifference(string left, string right, uint ecxAfter, uint advanced, bool zf)
    {
        var h = new H();
        h.Memory.Load(Src, Encoding.ASCII.GetBytes(left));
        h.Memory.Load(Dst, Encoding.ASCII.GetBytes(right));
        var a = new Assembler(32);
        a.cld();
        a.mov(esi, Src);
        a.mov(edi, Dst);
        a.mov(ecx, left.Length);
        a.repe.cmpsb();
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        Assert.Equal(ecxAfter, h.Cpu.Ecx);
        Assert.Equal(Src + advanced, h.Cpu.Esi);
        Assert.Equal(Dst + advanced, h.Cpu.Edi);
        Assert.Equal(zf ? EFlags.ZF : 0, h.Cpu.Eflags & EFlags.ZF);
    }

    [Theory]
    [InlineData(100, 94u, 6u, true)]  // finds the NUL after "hello"
    [InlineData(5, 0u, 5u, false)]    // count runs out first
    public void RepneScasbFindsTheByte(int count, uint ecxAfter, uint advanced, bool found)
    {
        var h = new H();
        h.Memory.Load(Src, Encoding.ASCII.GetBytes("hello\0world"));
        var a = new Assembler(32);
        a.cld();
        a.mov(edi, Src);
        a.xor(eax, eax);
        a.mov(ecx, count);
        a.repne.scasb();
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        Assert.Equal(ecxAfter, h.Cpu.Ecx);
        Assert.Equal(Src + advanced, h.Cpu.Edi);
        Assert.Equal(found ? EFlags.ZF : 0, h.Cpu.Eflags & EFlags.ZF);
    }

    [Fact]
    public void LongRepMovsbRunInSmallBudgetsCompletes()
    {
        // Each run's budget stops the REP between iterations; the instruction re-executes until done.
        const int length = 3 * 4096 + 123;
        var h = new H();
        byte[] data = Pattern(length, 2);
        h.Memory.Load(H.ScratchBase, data);
        var a = new Assembler(32);
        a.mov(esi, H.ScratchBase);
        a.mov(edi, H.ScratchBase + 0x10_0000);
        a.mov(ecx, length);
        a.rep.movsb();
        a.hlt();
        h.Load(a);

        int runs = 0;
        while (h.Cpu.Run(1000).Reason == CpuExitReason.InstructionLimit)
        {
            runs++;
        }

        Assert.Equal(CpuExitReason.Halted, h.Cpu.Run(1).Reason);
        Assert.Equal(data, Read(h, H.ScratchBase + 0x10_0000, length));
        Assert.Equal(0u, h.Cpu.Ecx);
        Assert.Equal((3 + length + 1 + 999) / 1000 - 1, runs);
    }

    /// <summary>
    /// Every iteration of a REP counts as one instruction (QEMU's icount counts them so), so a budget
    /// bounds the work really done: a run of N instructions stops the copy after exactly the
    /// iterations that fit, with EIP still at the REP.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(500)]
    [InlineData(999)]
    public void RepIterationsCountTowardTheBudget(int iterations)
    {
        const int length = 1000;
        var h = new H();
        GuestProgram p = h.Load((a, l) =>
        {
            a.mov(esi, H.ScratchBase);
            a.mov(edi, H.ScratchBase + 0x1000);
            a.mov(ecx, length);
            l.Define(a, "rep");
            a.rep.movsb();
            a.hlt();
        });
        long start = h.Cpu.InstructionsRetired;

        Assert.Equal(CpuExitReason.InstructionLimit, h.Cpu.Run(3 + iterations).Reason);

        Assert.Equal(3 + iterations, h.Cpu.InstructionsRetired - start);
        Assert.Equal((uint)(length - iterations), h.Cpu.Ecx);
        Assert.Equal(p["rep"], h.Cpu.Eip);
        h.RunUntilHalt();
        Assert.Equal(3 + length + 1, h.Cpu.InstructionsRetired - start);
    }

    [Fact]
    public void RepWithZeroCountCountsOnce()
    {
        var h = new H();
        var a = new Assembler(32);
        a.xor(ecx, ecx);
        a.rep.stosd();
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        Assert.Equal(3, h.Cpu.InstructionsRetired);
    }

    [Fact]
    public void RepeCmpsCountsTheIterationsItRan()
    {
        var h = new H();
        h.Memory.Load(H.ScratchBase, "abcdefXh"u8.ToArray());
        h.Memory.Load(H.ScratchBase + 0x100, "abcdefgh"u8.ToArray());
        var a = new Assembler(32);
        a.mov(esi, H.ScratchBase);
        a.mov(edi, H.ScratchBase + 0x100);
        a.mov(ecx, 8);
        a.repe.cmpsb();
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        Assert.Equal(1u, h.Cpu.Ecx); // stopped at the 7th byte
        Assert.Equal(3 + 7 + 1, h.Cpu.InstructionsRetired);
    }

    [Fact]
    public void IterationsBeforeAFaultCountButTheFaultingOneDoesNot()
    {
        var h = new H();
        h.EnablePaging();
        const uint buffer = 0x40_0000;
        h.Map(buffer, H.ScratchBase, H.PteP | H.PteRw);
        var a = new Assembler(32);
        a.mov(edi, buffer + 0xFF0);
        a.mov(ecx, 100);
        a.rep.stosb(); // 16 bytes fit, the 17th is on an unmapped page
        a.hlt();
        h.Load(a);
        long start = h.Cpu.InstructionsRetired;

        h.RunUntilHalt();

        h.AssertStopped(Vectors.PF);
        Assert.Equal(84u, h.Cpu.Ecx);
        // 2 movs + 16 iterations, then the #PF stub up to and including its HLT (7 instructions).
        Assert.Equal(2 + 16 + 7, h.Cpu.InstructionsRetired - start);
    }

    /// <summary>
    /// A 3-page REP MOVSB whose middle destination (or source) page is not present. The #PF
    /// handler records ECX/ESI/EDI at the fault, maps the page and returns; the copy must resume
    /// at the faulting byte and finish with the whole buffer copied.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RepMovsFaultingMidwayResumesAfterTheHandlerMapsThePage(bool faultOnSource)
    {
        const uint srcLin = 0x40_0000, dstLin = 0x50_0000;
        const uint srcPhys = H.ScratchBase, dstPhys = H.ScratchBase + 0x10_0000;
        const int length = 0x3000;
        const uint log = H.DataBase;
        var h = new H();
        h.EnablePaging();
        for (uint i = 0; i < 3; i++)
        {
            h.Map(srcLin + i * 0x1000, srcPhys + i * 0x1000, H.PteP | H.PteRw);
            h.Map(dstLin + i * 0x1000, dstPhys + i * 0x1000, H.PteP | H.PteRw);
        }
        uint missing = (faultOnSource ? srcLin : dstLin) + 0x1000;
        uint missingPhys = (faultOnSource ? srcPhys : dstPhys) + 0x1000;
        h.Map(missing, 0, 0);
        uint pte = h.PteAddress(missing);
        byte[] data = Pattern(length, 3);
        h.Memory.Load(srcPhys, data);

        GuestProgram p = h.Load((a, l) =>
        {
            a.cld();
            a.mov(esi, srcLin);
            a.mov(edi, dstLin);
            a.mov(ecx, length);
            l.Define(a, "copy");
            a.rep.movsb();
            a.hlt();

            l.Define(a, "pf");
            a.pop(eax);
            a.mov(__dword_ptr[log], eax);        // error code
            a.mov(__dword_ptr[log + 4], ecx);
            a.mov(__dword_ptr[log + 8], esi);
            a.mov(__dword_ptr[log + 12], edi);
            a.mov(eax, cr2);
            a.mov(__dword_ptr[log + 16], eax);
            a.mov(eax, __dword_ptr[esp]);
            a.mov(__dword_ptr[log + 20], eax);   // faulting EIP
            a.inc(__dword_ptr[log + 24]);
            a.mov(__dword_ptr[pte], missingPhys | H.PteP | H.PteRw);
            a.iretd();
        });
        h.SetGate(Vectors.PF, p["pf"]);

        h.RunUntilHalt();

        Assert.Equal(H.NoVector, h.LastVector);
        Assert.Equal(1u, h.Memory.Read32(log + 24));
        Assert.Equal(faultOnSource ? 0u : 2u, h.Memory.Read32(log));          // not present, read/write
        Assert.Equal(0x2000u, h.Memory.Read32(log + 4));                      // bytes left at the fault
        Assert.Equal(srcLin + 0x1000, h.Memory.Read32(log + 8));
        Assert.Equal(dstLin + 0x1000, h.Memory.Read32(log + 12));
        Assert.Equal(missing, h.Memory.Read32(log + 16));
        Assert.Equal(p["copy"], h.Memory.Read32(log + 20));
        Assert.Equal(0u, h.Cpu.Ecx);
        Assert.Equal(srcLin + length, h.Cpu.Esi);
        Assert.Equal(dstLin + length, h.Cpu.Edi);
        Assert.Equal(data, Read(h, dstPhys, length));
    }

    [Fact]
    public void LodsAndStosWithWordSize()
    {
        var h = new H();
        h.Memory.Load(Src, [0x11, 0x22, 0x33, 0x44]);
        var a = new Assembler(32);
        a.cld();
        a.mov(esi, Src);
        a.mov(edi, Dst);
        a.mov(eax, 0xFFFF_FFFFu);
        a.lodsw();
        a.stosw();
        a.lodsw();
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        Assert.Equal(0xFFFF_4433u, h.Cpu.Eax);
        Assert.Equal((ushort)0x2211, h.Memory.Read16(Dst));
        Assert.Equal(Src + 4, h.Cpu.Esi);
        Assert.Equal(Dst + 2, h.Cpu.Edi);
    }
}
