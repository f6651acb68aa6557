using Iced.Intel;
using Vmi.Cpu.Tests.Support;
using static Iced.Intel.AssemblerRegisters;
using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests.Exec;

/// <summary>The stack instructions' corner cases: ESP as an operand, PUSHAD/POPAD, ENTER nesting, RET imm.</summary>
public sealed class StackTests
{
    private const uint Top = H.Ring0StackTop;

    private static H Run(Action<Assembler> emit)
    {
        var h = new H();
        var a = new Assembler(32);
        emit(a);
        a.hlt();
        h.Load(a);
        h.RunUntilHalt();
        return h;
    }

    [Fact]
    public void PushEspPushesTheValueBeforeTheDecrement()
    {
        H h = Run(a =>
        {
            a.push(esp);
            a.pop(eax);
        });

        Assert.Equal(Top, h.Cpu.Eax);
        Assert.Equal(Top, h.Cpu.Esp);
    }

    [Fact]
    public void PopEspLoadsThePoppedValue()
    {
        H h = Run(a =>
        {
            a.push(0x0001_2340);
            a.pop(esp);
        });

        Assert.Equal(0x0001_2340u, h.Cpu.Esp);
    }

    [Fact]
    public void PopToEspRelativeMemoryUsesTheIncrementedEsp()
    {
        H h = Run(a =>
        {
            a.push(0xAA);
            a.push(0xBB);
            a.pop(__dword_ptr[esp]); // ESP += 4 first, then [ESP] (the 0xAA slot) = 0xBB
        });

        Assert.Equal(Top - 4, h.Cpu.Esp);
        Assert.Equal(0xBBu, h.Memory.Read32(Top - 4));
    }

    [Fact]
    public void PushEspRelativeMemoryUsesTheOldEsp()
    {
        H h = Run(a =>
        {
            a.push(0x77);
            a.push(__dword_ptr[esp]);
        });

        Assert.Equal(Top - 8, h.Cpu.Esp);
        Assert.Equal(0x77u, h.Memory.Read32(Top - 8));
    }

    [Fact]
    public void PushadLayoutAndPopadSkipsEsp()
    {
        H h = Run(a =>
        {
            a.mov(eax, 0xA0);
            a.mov(ecx, 0xC1);
            a.mov(edx, 0xD2);
            a.mov(ebx, 0xB3);
            a.mov(ebp, 0xB5);
            a.mov(esi, 0x56);
            a.mov(edi, 0xD7);
            a.pushad();
            a.mov(__dword_ptr[esp + 12], 0xDEAD); // the saved ESP: POPAD must ignore it
            a.xor(eax, eax);
            a.xor(ecx, ecx);
            a.xor(edx, edx);
            a.xor(ebx, ebx);
            a.xor(ebp, ebp);
            a.xor(esi, esi);
            a.xor(edi, edi);
            a.popad();
        });

        uint[] expectedFrame = [0xD7, 0x56, 0xB5, 0xDEAD, 0xB3, 0xD2, 0xC1, 0xA0];
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal(expectedFrame[i], h.Memory.Read32(Top - 32 + (uint)(4 * i)));
        }
        Assert.Equal(Top, h.Cpu.Esp);
        Assert.Equal(0xA0u, h.Cpu.Eax);
        Assert.Equal(0xC1u, h.Cpu.Ecx);
        Assert.Equal(0xD2u, h.Cpu.Edx);
        Assert.Equal(0xB3u, h.Cpu.Ebx);
        Assert.Equal(0xB5u, h.Cpu.Ebp);
        Assert.Equal(0x56u, h.Cpu.Esi);
        Assert.Equal(0xD7u, h.Cpu.Edi);
    }

    [Fact]
    public void PushadStoresTheOriginalEsp()
    {
        H h = Run(a => a.pushad());

        Assert.Equal(Top, h.Memory.Read32(Top - 20));
        Assert.Equal(Top - 32, h.Cpu.Esp);
    }

    [Fact]
    public void EnterWithNestingLevelCopiesTheDisplay()
    {
        // An outer frame at Top-0x100 whose display holds two frame pointers.
        const uint outerEbp = Top - 0x100;
        var h = new H();
        h.Memory.Write32(outerEbp - 4, 0x1111);
        h.Memory.Write32(outerEbp - 8, 0x2222);
        var a = new Assembler(32);
        a.mov(ebp, outerEbp);
        a.mov(esp, Top - 0x200);
        a.enter(16, 3);
        a.mov(eax, ebp);
        a.mov(ebx, esp);
        a.leave();
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        uint frame = Top - 0x204;
        Assert.Equal(outerEbp, h.Memory.Read32(frame));    // old EBP
        Assert.Equal(0x1111u, h.Memory.Read32(frame - 4)); // copied display entries
        Assert.Equal(0x2222u, h.Memory.Read32(frame - 8));
        Assert.Equal(frame, h.Memory.Read32(frame - 12));  // this frame's pointer
        Assert.Equal(frame, h.Cpu.Eax);
        Assert.Equal(frame - 12 - 16, h.Cpu.Ebx);
        Assert.Equal(Top - 0x200, h.Cpu.Esp);             // LEAVE undoes it all
        Assert.Equal(outerEbp, h.Cpu.Ebp);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void EnterWithLevelZeroOrOne(int level)
    {
        var h = new H();
        var a = new Assembler(32);
        a.mov(ebp, 0x1234_5678u);
        a.enter(8, (sbyte)level);
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        uint frame = Top - 4;
        Assert.Equal(0x1234_5678u, h.Memory.Read32(frame));
        Assert.Equal(frame, h.Cpu.Ebp);
        if (level == 1)
        {
            Assert.Equal(frame, h.Memory.Read32(frame - 4));
            Assert.Equal(frame - 4 - 8, h.Cpu.Esp);
        }
        else
        {
            Assert.Equal(frame - 8, h.Cpu.Esp);
        }
    }

    [Fact]
    public void RetImmediateReleasesArguments()
    {
        var h = new H();
        GuestProgram p = h.Load((a, l) =>
        {
            a.push(1);
            a.push(2);
            a.call(l["callee"]);
            l.Define(a, "back");
            a.hlt();
            l.Define(a, "callee");
            a.mov(eax, __dword_ptr[esp + 4]);
            a.add(eax, __dword_ptr[esp + 8]);
            a.ret(8);
        });

        h.RunUntilHalt();

        Assert.Equal(3u, h.Cpu.Eax);
        Assert.Equal(Top, h.Cpu.Esp);
        Assert.Equal(p["back"] + 1, h.Cpu.Eip);
    }

    [Fact]
    public void WordPushesMoveEspByTwo()
    {
        H h = Run(a =>
        {
            a.mov(eax, 0x1234_ABCDu);
            a.push(ax);
            a.pop(bx);
            a.push(ax);
        });

        Assert.Equal(0xABCDu, h.Cpu.Ebx & 0xFFFF);
        Assert.Equal(Top - 2, h.Cpu.Esp);
        Assert.Equal((ushort)0xABCD, h.Memory.Read16(Top - 2));
    }

    [Fact]
    public void PushToUnmappedStackFaultsWithoutMovingEsp()
    {
        var h = new H();
        h.EnablePaging();
        h.Map(0x40_0000, 0, 0);
        var a = new Assembler(32);
        a.mov(esp, 0x40_0004);  // the push goes to 0x400000, a not-present page
        a.push(eax);
        a.hlt();
        GuestProgram p = h.Load(a);

        // #PF on the push; its frame would straddle into the same page, so delivery faults too
        // (#PF during #PF: double fault), and so does #DF: triple fault. ESP never moves.
        CpuExit exit = h.Cpu.Run(100);

        Assert.Equal(CpuExitReason.TripleFault, exit.Reason);
        Assert.Equal(0x40_0004u, h.Cpu.Esp);
        _ = p;
    }
}
