using Iced.Intel;
using Vmi.Cpu.Tests.Support;
using static Iced.Intel.AssemblerRegisters;
using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests.SystemLevel;

/// <summary>Two-level i386 paging as a guest kernel sees it: translation, A/D bits, protection, #PF delivery.</summary>
public sealed class PagingTests
{
    private const uint Window = 0x40_0000; // first linear address past the identity-mapped RAM
    private const uint FrameA = H.ScratchBase, FrameB = H.ScratchBase + 0x1000;

    [Fact]
    public void SmallPagesTranslateToTheirFrames()
    {
        var h = new H();
        h.EnablePaging();
        h.Map(Window, FrameA, H.PteP | H.PteRw);
        h.Map(Window + 0x1000, FrameA, H.PteP | H.PteRw); // an alias of the same frame
        h.Memory.Write32(FrameA + 0x10, 0x1122_3344);
        var a = new Assembler(32);
        a.mov(eax, __dword_ptr[Window + 0x10]);
        a.mov(__dword_ptr[Window + 0x20], 0xCAFE_BABEu);
        a.mov(ebx, __dword_ptr[Window + 0x1000 + 0x20]);
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        Assert.Equal(0x1122_3344u, h.Cpu.Eax);
        Assert.Equal(0xCAFE_BABEu, h.Memory.Read32(FrameA + 0x20));
        Assert.Equal(0xCAFE_BABEu, h.Cpu.Ebx);
        Assert.Equal(H.NoVector, h.LastVector);
    }

    [Fact]
    public void LargePagesTranslateWithPse()
    {
        var h = new H();
        h.EnablePaging(cr4: Cr4Bits.PSE);
        h.MapLarge(0x0080_0000, 0, H.PteP | H.PteRw); // linear 8 MiB -> physical 0
        h.Memory.Write32(H.DataBase, 0x5EED_0001);
        var a = new Assembler(32);
        a.mov(eax, __dword_ptr[0x0080_0000 + H.DataBase]);
        a.mov(__dword_ptr[0x0080_0000 + 0x3F_FFF0], 0x600D_F00Du); // near the top of the 4 MiB page
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        Assert.Equal(0x5EED_0001u, h.Cpu.Eax);
        Assert.Equal(0x600D_F00Du, h.Memory.Read32(0x3F_FFF0));
        uint pde = h.ReadPde(0x0080_0000);
        Assert.Equal(H.PteA | H.PteD, pde & (H.PteA | H.PteD));
    }

    [Fact]
    public void WithoutPseTheSizeBitIsIgnored()
    {
        // PS is ignored without CR4.PSE: the entry's frame (0) is taken as a page table, whose
        // entry for this address is RAM at 0x80, which holds zero: not present.
        var h = new H();
        h.EnablePaging();
        h.MapLarge(0x0080_0000, 0, H.PteP | H.PteRw);
        var a = new Assembler(32);
        a.mov(eax, __dword_ptr[0x0082_0000]);
        a.hlt();
        GuestProgram p = h.Load(a);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.PF);
        Assert.Equal(0u, h.Stack(0)); // not present, read, supervisor
        Assert.Equal(p.Address, h.Stack(1));
        Assert.Equal(0x0082_0000u, h.Cpu.Cr2);
    }

    [Fact]
    public void AccessedAndDirtyBitsAreSetInGuestEntries()
    {
        var h = new H();
        h.EnablePaging();
        h.Map(Window, FrameA, H.PteP | H.PteRw);
        h.Map(Window + 0x1000, FrameB, H.PteP | H.PteRw);
        h.Map(Window + 0x2000, FrameB, H.PteP | H.PteRw);
        h.Map(Window + 0x3000, FrameB, H.PteP | H.PteRw);
        var a = new Assembler(32);
        a.mov(eax, __dword_ptr[Window]);            // read only: A
        a.mov(__dword_ptr[Window + 0x1000], eax);   // write: A and D
        a.mov(eax, __dword_ptr[Window + 0x3000]);   // read first (TLB entry without write rights) ...
        a.mov(__dword_ptr[Window + 0x3000], eax);   // ... then write: D must still be set
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        Assert.Equal(H.PteA, h.ReadPte(Window) & (H.PteA | H.PteD));
        Assert.Equal(H.PteA | H.PteD, h.ReadPte(Window + 0x1000) & (H.PteA | H.PteD));
        Assert.Equal(0u, h.ReadPte(Window + 0x2000) & (H.PteA | H.PteD));
        Assert.Equal(H.PteA | H.PteD, h.ReadPte(Window + 0x3000) & (H.PteA | H.PteD));
        Assert.Equal(H.PteA, h.ReadPde(Window) & (H.PteA | H.PteD)); // directory entries get A, never D
    }

    /// <summary>Each case: ring, PTE flags, write?, expected #PF error code (P=1, W=2, U=4).</summary>
    [Theory]
    [InlineData(3, H.PteP | H.PteRw, false, 5u)]   // user read of a supervisor page
    [InlineData(3, H.PteP | H.PteRw, true, 7u)]    // user write of a supervisor page
    [InlineData(3, H.PteP | H.PteUs, true, 7u)]    // user write of a read-only user page
    [InlineData(3, 0u, false, 4u)]                 // user read, not present
    [InlineData(3, 0u, true, 6u)]                  // user write, not present
    [InlineData(0, 0u, false, 0u)]                 // supervisor read, not present
    [InlineData(0, 0u, true, 2u)]                  // supervisor write, not present
    public void ProtectionViolationsRaisePageFaultWithErrorCode(int ring, uint pteFlags, bool write, uint expectedError)
    {
        var h = new H();
        h.EnablePaging();
        h.Map(Window, FrameA, pteFlags);
        var a = new Assembler(32);
        Label access = a.CreateLabel();
        a.mov(ebx, 0x1234_5678u);
        a.Label(ref access);
        if (write)
        {
            a.mov(__dword_ptr[Window + 0x44], ebx);
        }
        else
        {
            a.mov(ebx, __dword_ptr[Window + 0x44]);
        }
        a.hlt();
        GuestProgram p = h.Load(a);
        h.EnterRing(ring, p.Address, ring == 0 ? H.Ring0StackTop : H.Ring3StackTop);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.PF);
        Assert.Equal(Window + 0x44, h.Cpu.Cr2);
        Assert.Equal(expectedError, h.Stack(0));
        Assert.Equal(p[access], h.Stack(1));
        Assert.Equal(H.SelectorsOf(ring).Code, (ushort)h.Stack(2));
        Assert.Equal(0x1234_5678u, h.Cpu.Ebx); // the faulting load did not complete
        Assert.Equal(0u, h.Memory.Read32(FrameA + 0x44)); // nor did the store
        if (ring == 3)
        {
            Assert.Equal(H.Ring3StackTop, h.Stack(4));
            Assert.Equal(H.Data3, (ushort)h.Stack(5));
        }
    }

    /// <summary>For paging, rings 0-2 are all "supervisor": a ring-1 kernel may use supervisor-only pages.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Ring1IsSupervisorForPaging(bool writeProtect)
    {
        var h = new H();
        h.EnablePaging(writeProtect: writeProtect);
        h.Map(Window, FrameA, H.PteP | H.PteRw);
        h.Map(Window + 0x1000, FrameB, H.PteP); // read-only supervisor page
        h.Memory.Write32(FrameA, 0x0101_0101);
        h.SetGate(0x80, H.StubAddress(0x80), dpl: 3);
        var a = new Assembler(32);
        Label store = a.CreateLabel();
        a.mov(eax, __dword_ptr[Window]);
        a.mov(__dword_ptr[Window + 4], eax);
        a.Label(ref store);
        a.mov(__dword_ptr[Window + 0x1000], eax);
        a.@int(0x80);
        GuestProgram p = h.Load(a);
        h.EnterRing(1, p.Address, H.Ring1StackTop);

        h.RunUntilHalt();

        Assert.Equal(0x0101_0101u, h.Memory.Read32(FrameA + 4));
        if (writeProtect)
        {
            h.AssertStopped(Vectors.PF);
            Assert.Equal(3u, h.Stack(0)); // P|W, no U: ring 1 is a supervisor access
            Assert.Equal(p[store], h.Stack(1));
        }
        else
        {
            h.AssertStopped(0x80);
            Assert.Equal(0x0101_0101u, h.Memory.Read32(FrameB));
        }
    }

    [Fact]
    public void SupervisorDirectoryEntryHidesUserPages()
    {
        var h = new H();
        h.EnablePaging();
        h.Map(Window, FrameA, H.PteP | H.PteRw | H.PteUs);
        h.Memory.Write32(H.PdeAddress(Window), h.ReadPde(Window) & ~H.PteUs);
        var a = new Assembler(32);
        a.mov(eax, __dword_ptr[Window]);
        a.hlt();
        GuestProgram p = h.Load(a);
        h.EnterRing(3, p.Address, H.Ring3StackTop);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.PF);
        Assert.Equal(5u, h.Stack(0));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WriteProtectDecidesWhetherRingZeroMayWriteReadOnlyPages(bool wp)
    {
        var h = new H();
        h.EnablePaging(writeProtect: wp);
        h.Map(Window, FrameA, H.PteP | H.PteUs); // read-only
        var a = new Assembler(32);
        a.mov(__dword_ptr[Window + 8], 0xABCD_EF01u);
        a.hlt();
        GuestProgram p = h.Load(a);

        h.RunUntilHalt();

        if (wp)
        {
            h.AssertStopped(Vectors.PF);
            Assert.Equal(3u, h.Stack(0)); // present, write, supervisor
            Assert.Equal(p.Address, h.Stack(1));
            Assert.Equal(Window + 8, h.Cpu.Cr2);
            Assert.Equal(0u, h.Memory.Read32(FrameA + 8));
        }
        else
        {
            Assert.Equal(H.NoVector, h.LastVector);
            Assert.Equal(0xABCD_EF01u, h.Memory.Read32(FrameA + 8));
            Assert.Equal(H.PteD, h.ReadPte(Window) & H.PteD);
        }
    }

    [Fact]
    public void WriteProtectToggledByGuestTakesEffectImmediately()
    {
        // The first write fills the TLB with write rights; setting CR0.WP must not leave them behind.
        var h = new H();
        h.EnablePaging();
        h.Map(Window, FrameA, H.PteP);
        var a = new Assembler(32);
        Label second = a.CreateLabel();
        a.mov(__dword_ptr[Window], 1);
        a.mov(eax, cr0);
        a.or(eax, (int)Cr0Bits.WP);
        a.mov(cr0, eax);
        a.Label(ref second);
        a.mov(__dword_ptr[Window], 2);
        a.hlt();
        GuestProgram p = h.Load(a);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.PF);
        Assert.Equal(p[second], h.Stack(1));
        Assert.Equal(1u, h.Memory.Read32(FrameA));
    }

    [Fact]
    public void PageFaultHandlerMapsThePageAndTheAccessRestarts()
    {
        var h = new H();
        h.EnablePaging();
        h.Map(Window, 0, 0); // page table exists, entry not present
        uint pte = h.PteAddress(Window);
        GuestProgram p = h.Load((a, l) =>
        {
            a.mov(__dword_ptr[Window + 0x30], 0x55AAu);
            a.mov(eax, __dword_ptr[Window + 0x30]);
            a.hlt();

            l.Define(a, "pf");
            a.pop(ebx);                                   // error code
            a.mov(ecx, cr2);
            a.mov(edx, __dword_ptr[esp]);                 // faulting EIP
            a.mov(__dword_ptr[pte], FrameB | H.PteP | H.PteRw);
            a.inc(__dword_ptr[H.DataBase]);
            a.iretd();
        });
        h.SetGate(Vectors.PF, p["pf"]);

        h.RunUntilHalt();

        Assert.Equal(H.NoVector, h.LastVector);
        Assert.Equal(1u, h.Memory.Read32(H.DataBase)); // exactly one fault
        Assert.Equal(2u, h.Cpu.Ebx);                   // not present, write, supervisor
        Assert.Equal(Window + 0x30, h.Cpu.Ecx);
        Assert.Equal(p.Address, h.Cpu.Edx);
        Assert.Equal(0x55AAu, h.Cpu.Eax);
        Assert.Equal(0x55AAu, h.Memory.Read32(FrameB + 0x30));
        Assert.Equal(H.Ring0StackTop, h.Cpu.Esp);
    }

    [Fact]
    public void InstructionFetchFromUnmappedPageFaultsWithCr2AtTheTarget()
    {
        var h = new H();
        h.EnablePaging();
        h.Map(Window, 0, 0);
        var a = new Assembler(32);
        a.mov(eax, Window + 0x123);
        a.jmp(eax);
        h.Load(a);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.PF);
        Assert.Equal(0u, h.Stack(0));
        Assert.Equal(Window + 0x123, h.Stack(1));
        Assert.Equal(Window + 0x123, h.Cpu.Cr2);
    }

    [Fact]
    public void InstructionCrossingIntoAnUnmappedPageFaultsOnTheSecondPage()
    {
        var h = new H();
        h.EnablePaging();
        h.Map(Window, FrameA, H.PteP | H.PteRw);
        h.Map(Window + 0x1000, 0, 0);
        // "mov eax, imm32" (5 bytes) starting 2 bytes before the end of the mapped page.
        uint start = Window + 0xFFE;
        h.Memory.Load(FrameA + 0xFFE, [0xB8, 0x11]);
        var a = new Assembler(32);
        a.mov(eax, start);
        a.jmp(eax);
        h.Load(a);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.PF);
        Assert.Equal(start, h.Stack(1));
        Assert.Equal(Window + 0x1000, h.Cpu.Cr2);
    }
    /// <summary>
    /// Decoded blocks are shared by every privilege level that runs the same physical code. An
    /// instruction whose tail lies in a supervisor page, decoded while running at ring 0, must
    /// still fault when ring 3 executes it.
    /// </summary>
    [Fact]
    public void CachedPageCrossingInstructionRechecksTheSecondPageAtRing3()
    {
        uint start = Window + 0xFFE;
        var h = new H();
        h.EnablePaging();
        h.Map(Window, FrameA, H.PteP | H.PteRw | H.PteUs);
        h.Map(Window + 0x1000, FrameB, H.PteP | H.PteRw); // supervisor-only
        h.Memory.Load(FrameA + 0xFFE, [0xB8, 0x11]);                  // mov eax, 0x44332211 ...
        h.Memory.Load(FrameB, [0x22, 0x33, 0x44, 0xCD, 0x80]);       // ... ; int 0x80
        h.SetGate(0x80, H.StubAddress(0x80), dpl: 3);

        h.EnterRing(0, start, H.Ring0StackTop);
        h.RunUntilHalt();
        h.AssertStopped(0x80);
        Assert.Equal(0x4433_2211u, h.Cpu.Eax);

        h.Cpu.Eax = 0;
        h.EnterRing(3, start, H.Ring3StackTop);
        h.Cpu.Halted = false;
        h.RunUntilHalt();

        h.AssertStopped(Vectors.PF);
        Assert.Equal(5u, h.Stack(0)); // present, read (fetch), user
        Assert.Equal(start, h.Stack(1));
        Assert.Equal(Window + 0x1000, h.Cpu.Cr2);
        Assert.Equal(0u, h.Cpu.Eax);
    }

    [Fact]
    public void InstructionFetchFromSupervisorPageAtRing3Faults()
    {
        var h = new H();
        h.EnablePaging();
        h.Map(Window, FrameA, H.PteP | H.PteRw);
        h.Memory.Load(FrameA, [0x90, 0xF4]);
        var a = new Assembler(32);
        a.mov(eax, Window);
        a.call(eax);                   // warm: ring 0 runs it (and halts)
        GuestProgram p = h.Load(a);
        h.RunUntilHalt();
        Assert.Equal(Window + 2, h.Cpu.Eip);

        h.Cpu.Halted = false;
        h.EnterRing(3, p.Address, H.Ring3StackTop);
        h.RunUntilHalt();

        h.AssertStopped(Vectors.PF);
        Assert.Equal(5u, h.Stack(0));
        Assert.Equal(Window, h.Stack(1));
        Assert.Equal(Window, h.Cpu.Cr2);
    }
}
