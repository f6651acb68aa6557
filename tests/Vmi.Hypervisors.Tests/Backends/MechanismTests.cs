using Iced.Intel;
using Vmi.Cpu;
using Vmi.Hypervisors.BinaryTranslation;
using Vmi.Hypervisors.Events;
using Vmi.Hypervisors.HardwareAssisted;
using Vmi.Hypervisors.NestedPaging;
using Vmi.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Hypervisors.Tests.Backends;

/// <summary>Each virtualization mechanism shown on its own, on a kernel assembled in the test.</summary>
public sealed class MechanismTests
{
    /// <summary>sti; pushf; cli; popf; then report IF: under bt the ring-1 POPF cannot restore IF unless it is translated.</summary>
    private static void PopfRestoresIf(Assembler a)
    {
        a.mov(esp, 0x9_0000);
        a.sti();
        a.pushfd();
        a.cli();
        a.popfd();
        a.pushfd();
        a.pop(eax);
        a.shr(eax, 9);
        a.and(eax, 1);
        a.@out(0xF4, al);
    }

    [Fact]
    public void UnderBtARing1KernelsPopfRestoresIfOnlyBecauseItIsTranslated()
    {
        var translated = new BtHypervisor(TinyGuest.P4);
        var untranslated = new BtHypervisor(TinyGuest.P4) { Translate = false };

        (Vm vm1, VmRunResult r1) = TinyGuest.Run(translated, "bt", PopfRestoresIf);
        (Vm vm2, VmRunResult r2) = TinyGuest.Run(untranslated, "bt", PopfRestoresIf);

        Assert.Equal((1 << 1) | 1, r1.GuestExitCode); // IF = 1 again after popf
        Assert.Equal((0 << 1) | 1, r2.GuestExitCode); // the hardware silently kept IF = 0
        Assert.Equal(1, translated.Events.CountsByDetail[(EventKind.TranslatedSensitive, "popf")]);
        Assert.Equal(1, translated.Events.CountsByDetail[(EventKind.TrapAndEmulate, "cli")]);
        Assert.Equal(1, translated.Events.CountsByDetail[(EventKind.TrapAndEmulate, "portout")]);
        Assert.True(translated.Events[EventKind.TranslatedInstruction] >= 10);
        Assert.Equal(0, untranslated.Events[EventKind.TranslatedSensitive]);
        Assert.Equal(1, vm1.Cpu.Cpl);
        Assert.Equal(1, vm2.Cpu.Cpl);
    }

    /// <summary>
    /// Loads its own GDT (ring-1 flat segments and a data segment at 0x5000), stores SGDT at
    /// <see cref="TinyGuest.Scratch"/>, then moves that data segment to 0x6000 by writing its own
    /// GDT and reads through it into Scratch + 8.
    /// </summary>
    private static void OwnGdt(Assembler a)
    {
        const uint gdt = 0x2000, descriptor = 0x2100;
        a.mov(esp, 0x9_0000);
        a.mov(__dword_ptr[0x5000], 0x5555_5555);
        a.mov(__dword_ptr[0x6000], 0x6666_6666);
        a.mov(__dword_ptr[gdt], 0);
        a.mov(__dword_ptr[gdt + 4], 0);
        a.mov(__dword_ptr[gdt + 8], 0x0000_FFFF);
        a.mov(__dword_ptr[gdt + 12], 0x00CF_BB00);
        a.mov(__dword_ptr[gdt + 16], 0x0000_FFFF);
        a.mov(__dword_ptr[gdt + 20], 0x00CF_B300);
        a.mov(__dword_ptr[gdt + 24], 0x5000_FFFF);
        a.mov(__dword_ptr[gdt + 28], 0x00CF_B300);
        a.mov(__word_ptr[descriptor], 31);
        a.mov(__dword_ptr[descriptor + 2], gdt);
        a.lgdt(__fword_ptr[descriptor]);
        a.mov(ax, 0x11);
        a.mov(ds, ax);
        a.sgdt(__fword_ptr[TinyGuest.Scratch]);
        a.mov(__dword_ptr[gdt + 24], 0x6000_FFFF);
        a.mov(ax, 0x19);
        a.mov(es, ax);
        a.mov(eax, __dword_ptr.es[0]);
        a.mov(__dword_ptr[TinyGuest.Scratch + 8], eax);
        a.mov(al, 0);
        a.@out(0xF4, al);
    }

    [Fact]
    public void UnderBtTheMonitorKeepsItsOwnGdtAndTheKernelsSgdtShowsTheKernelsTable()
    {
        var translated = new BtHypervisor(TinyGuest.P4);
        var untranslated = new BtHypervisor(TinyGuest.P4) { Translate = false };

        (Vm vm, VmRunResult r) = TinyGuest.Run(translated, "bt", OwnGdt);
        (Vm vm2, _) = TinyGuest.Run(untranslated, "bt", OwnGdt);

        Assert.Equal(1, r.GuestExitCode);
        // The CPU runs on the monitor's copy at the top of the address space...
        Assert.Equal(0xFFC0_0000u, vm.Cpu.Gdtr.Base);
        // ...while the kernel's SGDT shows its own table; untranslated, it would see the monitor's.
        Assert.Equal(31u, vm.Memory.Read16(TinyGuest.Scratch));
        Assert.Equal(0x2000u, vm.Memory.Read32(TinyGuest.Scratch + 2));
        Assert.Equal(0xFFC0_0000u, vm2.Memory.Read32(TinyGuest.Scratch + 2));
        // A descriptor the kernel wrote after LGDT reached the copy (a traced write).
        Assert.Equal(0x6666_6666u, vm.Memory.Read32(TinyGuest.Scratch + 8));
        Assert.True(translated.Events.CountsByDetail[(EventKind.TracingFault, "descriptor-table write")] >= 1);
    }

    /// <summary>
    /// Identity-maps the first 4 MiB with 4 KiB pages, maps 0x3FF000 to frame A, reads it, rewrites
    /// the PTE to frame B, reloads CR3 (flushing the TLB, not the shadow), reads again into EBX, and
    /// stores both readings at <see cref="TinyGuest.Scratch"/>.
    /// </summary>
    private static void RemapAPage(Assembler a)
    {
        TinyGuest.EnablePagingWithOneRemappedPage(a);
        a.mov(eax, __dword_ptr[TinyGuest.RemappedPage]);
        a.mov(__dword_ptr[TinyGuest.RemappedEntry], TinyGuest.FrameB | 3);
        a.mov(ecx, cr3);
        a.mov(cr3, ecx);
        a.mov(ebx, __dword_ptr[TinyGuest.RemappedPage]);
        a.mov(__dword_ptr[TinyGuest.Scratch], eax);
        a.mov(__dword_ptr[TinyGuest.Scratch + 4], ebx);
        a.mov(al, 0);
        a.@out(0xF4, al);
    }

    [Theory]
    [InlineData("bt")]
    [InlineData("vt")]
    public void AGuestPageTableWriteIsTracedAndTheShadowNeverShowsAStaleMapping(string backend)
    {
        Hypervisor hv = HypervisorCatalog.Create(backend, TinyGuest.P4)!;

        (Vm vm, VmRunResult r) = TinyGuest.Run(hv, backend, RemapAPage);

        Assert.Equal(1, r.GuestExitCode);
        Assert.Equal(0xAAAA_AAAAu, vm.Memory.Read32(TinyGuest.Scratch));
        Assert.Equal(0xBBBB_BBBBu, vm.Memory.Read32(TinyGuest.Scratch + 4));
        Assert.True(hv.Events[EventKind.TracingFault] >= 1);
        Assert.True(hv.Events[EventKind.HiddenPageFault] >= 2);
    }

    /// <summary>
    /// mprotect's pattern, <paramref name="flips"/> times: rewrite the remapped page's entry
    /// (alternately frame B and frame A, accessed and dirty), INVLPG it, read through it; the
    /// readings are summed into <see cref="TinyGuest.Scratch"/>.
    /// </summary>
    private static Action<Assembler> RewriteOneEntryAndInvlpg(int flips) => a =>
    {
        Label loop = a.CreateLabel();
        TinyGuest.EnablePagingWithOneRemappedPage(a);
        a.xor(esi, esi);
        a.xor(edi, edi);
        a.Label(ref loop);
        a.mov(eax, TinyGuest.FrameB | 0x63);
        a.test(edi, 1);
        a.jz(a.F);
        a.mov(eax, TinyGuest.FrameA | 0x63);
        a.AnonymousLabel();
        a.mov(__dword_ptr[TinyGuest.RemappedEntry], eax);
        a.invlpg(__byte_ptr[TinyGuest.RemappedPage]);
        a.add(esi, __dword_ptr[TinyGuest.RemappedPage]);
        a.inc(edi);
        a.cmp(edi, flips);
        a.jb(loop);
        a.mov(__dword_ptr[TinyGuest.Scratch], esi);
        a.mov(al, 0);
        a.@out(0xF4, al);
    };

    [Theory]
    [InlineData("bt")]
    [InlineData("vt")]
    public void AnEntryRewrittenAndInvalidatedAgainAndAgainKeepsItsTableShadowed(string backend)
    {
        // INVLPG refills the entry from the table: the table is in use, so the write-flooding rule
        // must not unshadow it (which would cost a hidden fault per page it maps, every few flips).
        long HiddenFaults(int flips)
        {
            Hypervisor hv = HypervisorCatalog.Create(backend, TinyGuest.P4)!;
            (Vm vm, VmRunResult r) = TinyGuest.Run(hv, backend, RewriteOneEntryAndInvlpg(flips));
            Assert.Equal(1, r.GuestExitCode);
            uint expected = unchecked((uint)((flips + 1) / 2 * 0xBBBB_BBBBL + flips / 2 * 0xAAAA_AAAAL));
            Assert.Equal(expected, vm.Memory.Read32(TinyGuest.Scratch));
            Assert.Equal(flips, hv.Events[EventKind.TracingFault]);
            return hv.Events[EventKind.HiddenPageFault];
        }

        Assert.Equal(HiddenFaults(8), HiddenFaults(40));
    }

    /// <summary>Reads the remapped page, rewrites its entry to frame B with <paramref name="flags"/>, reads it again (no INVLPG, no CR3 load) into Scratch.</summary>
    private static Action<Assembler> RemapWithoutInvalidating(uint flags) => a =>
    {
        TinyGuest.EnablePagingWithOneRemappedPage(a);
        a.mov(eax, __dword_ptr[TinyGuest.RemappedPage]);
        a.mov(__dword_ptr[TinyGuest.RemappedEntry], TinyGuest.FrameB | flags);
        a.mov(ebx, __dword_ptr[TinyGuest.RemappedPage]);
        a.mov(__dword_ptr[TinyGuest.Scratch], ebx);
        a.mov(al, 0);
        a.@out(0xF4, al);
    };

    [Theory]
    [InlineData("bt")]
    [InlineData("vt")]
    public void ATracedEntryWriteDropsTheTlbEntryAndPrefetchesTheShadowWhenTheGuestMarkedItAccessed(string backend)
    {
        // What lets the ROM answer INVLPG with nothing under shadow paging: the traced write alone
        // makes the next access see the new mapping; with A already set (mprotect keeps it) the
        // shadow entry is filled at once, as KVM prefetches, so that access takes no hidden fault.
        long HiddenFaults(uint flags)
        {
            Hypervisor hv = HypervisorCatalog.Create(backend, TinyGuest.P4)!;
            (Vm vm, VmRunResult r) = TinyGuest.Run(hv, backend, RemapWithoutInvalidating(flags));
            Assert.Equal(1, r.GuestExitCode);
            Assert.Equal(0xBBBB_BBBBu, vm.Memory.Read32(TinyGuest.Scratch));
            Assert.Equal(1, hv.Events[EventKind.TracingFault]);
            return hv.Events[EventKind.HiddenPageFault];
        }

        Assert.Equal(HiddenFaults(0x63) + 1, HiddenFaults(0x03));
    }

    [Fact]
    public void WithoutTracingTheShadowWouldKeepTheStaleMapping()
    {
        // The control for the test above: the same guest with the page-table watch cut off reads
        // frame A twice, which is what that test would catch.
        var hv = new VtHypervisor(TinyGuest.P4);
        Vm vm = Vm.BootMultiboot(new VmConfig { CpuModel = CpuModel.Pentium4, NominalHz = hv.Profile.TickHz, HostMemoryBytes = hv.HostMemoryBytes }, Vmi.TestSupport.FlatKernel.Build(RemapAPage));
        hv.Attach(vm);
        vm.Cpu.StoreWatch = null;

        vm.Run(1_000_000);

        Assert.Equal(0xAAAA_AAAAu, vm.Memory.Read32(TinyGuest.Scratch + 4));
    }

    [Fact]
    public void UnderVtNptTheSameGuestTakesNoPageFaultExitsAndWalksTwoDimensions()
    {
        var hv = new VtNptHypervisor(TinyGuest.P4);
        var walks = new List<long>();
        hv.Events.Trace = e =>
        {
            // Each walk is traced as its miss, then one event per memory reference it made.
            if (e.Kind == EventKind.NestedTlbMiss) walks.Add(0);
            if (e.Kind == EventKind.NestedWalkReference) walks[^1]++;
        };

        (Vm vm, VmRunResult r) = TinyGuest.Run(hv, "vt-npt", RemapAPage);

        Assert.Equal(0xBBBB_BBBBu, vm.Memory.Read32(TinyGuest.Scratch + 4));
        Assert.Equal(0, hv.Events[EventKind.ExitPageFault] + hv.Events[EventKind.HiddenPageFault] + hv.Events[EventKind.TracingFault]);
        Assert.Equal(0, hv.Events[EventKind.ExitCrAccess]);
        Assert.Contains(2L, walks); // paging off: the nested dimension only
        Assert.Contains(8L, walks); // 4 KiB page: 2 guest levels × (2 nested + 1) + 2 nested for the frame
        Assert.Equal(walks.Sum(), hv.WalkReferencesByLevel.Sum());
    }

    [Fact]
    public void ABackendRefusesACpuModelWithoutTheFeaturesItNeeds()
    {
        Vm plain = Vm.BootMultiboot(new VmConfig { CpuModel = CpuModel.Plain }, Vmi.TestSupport.FlatKernel.Build(a => a.hlt()));
        Vm p4 = Vm.BootMultiboot(new VmConfig { CpuModel = CpuModel.Pentium4 }, Vmi.TestSupport.FlatKernel.Build(a => a.hlt()));

        var vt = Assert.Throws<HypervisorException>(() => new VtHypervisor(TinyGuest.P4).Attach(plain));
        var npt = Assert.Throws<HypervisorException>(() => new VtNptHypervisor(TinyGuest.P4).Attach(p4));

        Assert.Contains("hardware virtualization", vt.Message);
        Assert.Contains("nested paging", npt.Message);
    }
}
