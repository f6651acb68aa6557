using Iced.Intel;
using Vmi.Cpu.Tests.Support;
using static Iced.Intel.AssemblerRegisters;
using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests.Memory;

/// <summary>
/// The TLB is a cache, as on hardware: a guest that edits a PTE without INVLPG (or a CR3 load)
/// keeps seeing the old translation. Guests rely on this both ways (lazy shootdowns, and bugs that
/// only show on real CPUs), so the tests pin down exactly when the new entry becomes visible.
/// </summary>
public sealed class TlbTests
{
    private const uint Page = 0x40_0000;
    private const uint FrameA = H.ScratchBase, FrameB = H.ScratchBase + 0x1000;
    private const uint ValueA = 0xAAAA_0001, ValueB = 0xBBBB_0002;

    private static H Setup(uint cr4 = 0, uint extraPteFlags = 0)
    {
        var h = new H();
        h.EnablePaging(cr4: cr4);
        h.Map(Page, FrameA, H.PteP | H.PteRw | extraPteFlags);
        h.Memory.Write32(FrameA, ValueA);
        h.Memory.Write32(FrameB, ValueB);
        return h;
    }

    /// <summary>Reads the page (filling the TLB), repoints the PTE at frame B, reads again, flushes, reads again.</summary>
    private static void EmitRemapAndRead(Assembler a, uint pteAddress, uint newPte, Action<Assembler> flush)
    {
        a.mov(eax, __dword_ptr[Page]);
        a.mov(__dword_ptr[pteAddress], newPte);
        a.mov(ebx, __dword_ptr[Page]);
        flush(a);
        a.mov(ecx, __dword_ptr[Page]);
        a.hlt();
    }

    [Fact]
    public void EditedPteIsIgnoredUntilInvlpg()
    {
        H h = Setup();
        var a = new Assembler(32);
        EmitRemapAndRead(a, h.PteAddress(Page), FrameB | H.PteP | H.PteRw, x => x.invlpg(__byte_ptr[Page]));
        h.Load(a);

        h.RunUntilHalt();

        Assert.Equal(ValueA, h.Cpu.Eax);
        Assert.Equal(ValueA, h.Cpu.Ebx); // stale: served from the TLB
        Assert.Equal(ValueB, h.Cpu.Ecx);
    }

    /// <summary>
    /// INVLPG of any address inside a 4 MiB page drops the whole large-page translation, even the
    /// parts of it the TLB cached under other 4 KiB addresses.
    /// </summary>
    [Fact]
    public void InvlpgAnywhereInALargePageDropsAllOfIt()
    {
        const uint large = 0x0080_0000, probe = large + 0x5000;
        var h = new H();
        h.EnablePaging(cr4: Cr4Bits.PSE);
        h.MapLarge(large, 0, H.PteP | H.PteRw);         // 8 MiB -> physical 0, 4 MiB page
        h.Memory.Write32(0x5000, 0x5555_5555);
        // A page table ready to replace the large page: it maps only the probe page, to frame B.
        const uint table = H.ScratchBase + 0x4000;
        h.Memory.Fill(table, 0x1000, 0);
        h.Memory.Write32(table + ((probe >> 12) & 0x3FF) * 4, FrameB | H.PteP | H.PteRw);
        h.Memory.Write32(FrameB, ValueB);
        var a = new Assembler(32);
        a.mov(eax, __dword_ptr[probe]);                  // caches the probe page as part of the large page
        a.mov(__dword_ptr[H.PdeAddress(large)], table | H.PteP | H.PteRw);
        a.invlpg(__byte_ptr[large]);                     // a different 4 KiB address in the same large page
        a.mov(ebx, __dword_ptr[probe]);
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        Assert.Equal(0x5555_5555u, h.Cpu.Eax);
        Assert.Equal(ValueB, h.Cpu.Ebx);
    }

    [Fact]
    public void EditedPteIsSeenAfterCr3Reload()
    {
        H h = Setup();
        var a = new Assembler(32);
        EmitRemapAndRead(a, h.PteAddress(Page), FrameB | H.PteP | H.PteRw, x =>
        {
            x.mov(edx, cr3);
            x.mov(cr3, edx);
        });
        h.Load(a);

        h.RunUntilHalt();

        Assert.Equal(ValueA, h.Cpu.Ebx);
        Assert.Equal(ValueB, h.Cpu.Ecx);
    }

    [Fact]
    public void InvlpgOfAnotherPageLeavesTheStaleEntry()
    {
        H h = Setup();
        var a = new Assembler(32);
        EmitRemapAndRead(a, h.PteAddress(Page), FrameB | H.PteP | H.PteRw, x => x.invlpg(__byte_ptr[Page + 0x1000]));
        h.Load(a);

        h.RunUntilHalt();

        Assert.Equal(ValueA, h.Cpu.Ecx);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GlobalPagesSurviveCr3ReloadOnlyWithPge(bool pge)
    {
        H h = Setup(cr4: pge ? Cr4Bits.PGE : 0, extraPteFlags: H.PteG);
        uint pte = h.PteAddress(Page);
        var a = new Assembler(32);
        a.mov(eax, __dword_ptr[Page]);
        a.mov(__dword_ptr[pte], FrameB | H.PteP | H.PteRw | H.PteG);
        a.mov(edx, cr3);
        a.mov(cr3, edx);
        a.mov(ebx, __dword_ptr[Page]);   // after the CR3 load
        a.invlpg(__byte_ptr[Page]);
        a.mov(ecx, __dword_ptr[Page]);   // after INVLPG: always the new entry
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        Assert.Equal(ValueA, h.Cpu.Eax);
        Assert.Equal(pge ? ValueA : ValueB, h.Cpu.Ebx);
        Assert.Equal(ValueB, h.Cpu.Ecx);
    }

    [Fact]
    public void ClearingPgeFlushesGlobalEntries()
    {
        H h = Setup(cr4: Cr4Bits.PGE, extraPteFlags: H.PteG);
        uint pte = h.PteAddress(Page);
        var a = new Assembler(32);
        a.mov(eax, __dword_ptr[Page]);
        a.mov(__dword_ptr[pte], FrameB | H.PteP | H.PteRw | H.PteG);
        a.xor(edx, edx);
        a.mov(cr4, edx);
        a.mov(ecx, __dword_ptr[Page]);
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        Assert.Equal(ValueB, h.Cpu.Ecx);
    }

    [Fact]
    public void StaleWritableEntryKeepsWritingUntilInvlpg()
    {
        // With CR0.WP a supervisor write to a read-only page faults, but only once the TLB forgets
        // the writable translation it cached for the first write.
        var h = new H();
        h.EnablePaging(writeProtect: true);
        h.Map(Page, FrameA, H.PteP | H.PteRw);
        uint pte = h.PteAddress(Page);
        var a = new Assembler(32);
        Label third = a.CreateLabel();
        a.mov(__dword_ptr[Page], 1);
        a.mov(__dword_ptr[pte], FrameA | H.PteP | H.PteA | H.PteD); // now read-only
        a.mov(__dword_ptr[Page + 4], 2);                            // stale entry: still writable
        a.invlpg(__byte_ptr[Page]);
        a.Label(ref third);
        a.mov(__dword_ptr[Page + 8], 3);                            // faults
        a.hlt();
        GuestProgram p = h.Load(a);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.PF);
        Assert.Equal(3u, h.Stack(0));
        Assert.Equal(p[third], h.Stack(1));
        Assert.Equal(1u, h.Memory.Read32(FrameA));
        Assert.Equal(2u, h.Memory.Read32(FrameA + 4));
        Assert.Equal(0u, h.Memory.Read32(FrameA + 8));
    }

    [Fact]
    public void HostEditOfPageTablesNeedsAnExplicitFlush()
    {
        H h = Setup();
        var a = new Assembler(32);
        a.mov(eax, __dword_ptr[Page]);
        a.hlt();
        GuestProgram p = h.Load(a);
        h.RunUntilHalt();
        Assert.Equal(ValueA, h.Cpu.Eax);
        Assert.True(h.Cpu.TlbHasEntry(Page));

        h.Memory.Write32(h.PteAddress(Page), FrameB | H.PteP | H.PteRw);
        h.Restart(p.Address);
        h.RunUntilHalt();
        Assert.Equal(ValueA, h.Cpu.Eax);

        h.Cpu.FlushTlbAll();
        Assert.False(h.Cpu.TlbHasEntry(Page));
        h.Restart(p.Address);
        h.RunUntilHalt();
        Assert.Equal(ValueB, h.Cpu.Eax);
    }
    [Fact]
    public void SupervisorTranslationCachedAtRing0DoesNotServeRing3()
    {
        var h = new H();
        h.EnablePaging();
        h.Map(Page, FrameA, H.PteP | H.PteRw); // supervisor-only
        h.Memory.Write32(FrameA, ValueA);
        GuestProgram p = h.Load((a, l) =>
        {
            a.mov(eax, __dword_ptr[Page]);   // ring 0: fills the TLB
            a.mov(ecx, H.Data3);             // a DS ring 3 may keep
            a.mov(ds, cx);
            a.push(H.Data3);
            a.push(H.Ring3StackTop);
            a.push(EFlags.Reserved1);
            a.push(H.Code3);
            a.push(l["user"]);
            a.iretd();
            l.Define(a, "user");
            a.mov(ebx, __dword_ptr[Page]);   // ring 3: must fault despite the cached entry
            a.hlt();
        });

        h.RunUntilHalt();

        Assert.Equal(ValueA, h.Cpu.Eax);
        h.AssertStopped(Vectors.PF);
        Assert.Equal(5u, h.Stack(0));
        Assert.Equal(p["user"], h.Stack(1));
        Assert.Equal(0u, h.Cpu.Ebx);
    }

    [Fact]
    public void RingZeroWriteToReadOnlyUserPageDoesNotGrantRing3Writes()
    {
        // Without CR0.WP ring 0 may write a read-only page, and the TLB caches that right; ring 3
        // writing the same page must still fault with P|W|U.
        var h = new H();
        h.EnablePaging();
        h.Map(Page, FrameA, H.PteP | H.PteUs);
        GuestProgram p = h.Load((a, l) =>
        {
            a.mov(__dword_ptr[Page], 1);
            a.mov(ecx, H.Data3);
            a.mov(ds, cx);
            a.push(H.Data3);
            a.push(H.Ring3StackTop);
            a.push(EFlags.Reserved1);
            a.push(H.Code3);
            a.push(l["user"]);
            a.iretd();
            l.Define(a, "user");
            a.mov(eax, __dword_ptr[Page]);   // reading is fine
            l.Define(a, "store");
            a.mov(__dword_ptr[Page], 2);
            a.hlt();
        });

        h.RunUntilHalt();

        h.AssertStopped(Vectors.PF);
        Assert.Equal(7u, h.Stack(0));
        Assert.Equal(p["store"], h.Stack(1));
        Assert.Equal(1u, h.Cpu.Eax);
        Assert.Equal(1u, h.Memory.Read32(FrameA));
    }
}
