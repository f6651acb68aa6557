using Iced.Intel;
using Vmi.Cpu.Tests.Support;
using static Iced.Intel.AssemblerRegisters;
using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests.SystemLevel;

/// <summary>
/// The seams a hypervisor backend builds on: it sees decoded blocks before they run (to find
/// non-trapping sensitive instructions), intercepts sensitive instructions, owns the page
/// translation, and watches stores to chosen physical pages. More rules: HypervisorSeamRuleTests.
/// </summary>
public sealed class HypervisorSeamTests
{
    [Fact]
    public void DecodedBlocksAreShownOnceWithTheirSensitiveInstructions()
    {
        var h = new H();
        var a = new Assembler(32);
        Label loop = a.CreateLabel();
        a.mov(ecx, 3);
        a.Label(ref loop);
        a.pushfd();
        a.popfd();
        a.dec(ecx);
        a.jnz(loop);
        a.hlt();
        GuestProgram p = h.Load(a);
        var seen = new List<(uint Eip, Mnemonic[] Code)>();
        h.Cpu.BlockDecoded = (in DecodedBlock b) =>
        {
            var mnemonics = new Mnemonic[b.Instructions.Length];
            for (int i = 0; i < mnemonics.Length; i++) mnemonics[i] = b.Instructions[i].Mnemonic;
            seen.Add((b.LinearEip, mnemonics));
        };

        h.RunUntilHalt();

        // The loop body runs 3 times but is decoded once (the block cache); its block shows PUSHF and POPF
        // (POPF ends a block, so the entry block mov/pushf/popf is a separate one).
        var body = Assert.Single(seen, s => s.Eip == p[loop]);
        Assert.Equal([Mnemonic.Pushfd, Mnemonic.Popfd], body.Code);
        Assert.Equal([Mnemonic.Mov, Mnemonic.Pushfd, Mnemonic.Popfd], seen[0].Code);
    }

    [Fact]
    public void AWatchedPageReportsOneEventPerStoreWithOldAndNewValues()
    {
        var h = new H();
        const uint target = 0x30_0000;
        h.Memory.Write32(target + 8, 0xCAFE_F00D);
        var a = new Assembler(32);
        a.mov(__dword_ptr[target + 8], 0x1234_5678);
        a.mov(__byte_ptr[target + 0x20], 0x9A);
        a.mov(__dword_ptr[target + 0xFFE], 0xA1B2_C3D4); // crosses into the next (unwatched) page
        a.hlt();
        GuestProgram p = h.Load(a);
        var stores = new List<WatchedStore>();
        h.Cpu.WatchPage(target, true);
        h.Cpu.StoreWatch = (in WatchedStore s) =>
        {
            stores.Add(s);
            return true;
        };

        h.RunUntilHalt();

        Assert.Equal(3, stores.Count);
        Assert.Equal((target + 8, 4, 0xCAFE_F00Du, 0x1234_5678u), (stores[0].PhysicalAddress, stores[0].Size, stores[0].OldValue, stores[0].NewValue));
        Assert.Equal(p.Address, stores[0].Eip);
        Assert.Equal(0, stores[0].Cpl);
        Assert.Equal((target + 0x20, 1, 0x9Au), (stores[1].PhysicalAddress, stores[1].Size, stores[1].NewValue));
        // Only the half in the watched page is this page's store.
        Assert.Equal((target + 0xFFE, 2, 0xC3D4u), (stores[2].PhysicalAddress, stores[2].Size, stores[2].NewValue));
        Assert.Equal(0x1234_5678u, h.Memory.Read32(target + 8));
        Assert.Equal(0xA1B2_C3D4u, h.Memory.Read32(target + 0xFFE));
    }

    [Fact]
    public void AWatcherCanVetoAStoreAndTheInstructionStillCompletes()
    {
        var h = new H();
        const uint target = 0x30_0000;
        h.Memory.Write32(target, 0x1111_1111);
        var a = new Assembler(32);
        a.mov(__dword_ptr[target], 0x2222_2222);
        a.mov(eax, 7);
        a.hlt();
        h.Load(a);
        h.Cpu.WatchPage(target, true);
        h.Cpu.StoreWatch = (in WatchedStore s) => false;

        h.RunUntilHalt();

        Assert.Equal(0x1111_1111u, h.Memory.Read32(target));
        Assert.Equal(7u, h.Cpu.Eax);
    }

    [Fact]
    public void ThePageWalkersAccessedAndDirtyUpdatesAreNotStores()
    {
        var h = new H();
        h.EnablePaging();
        const uint linear = 0x4000_0000, frame = 0x28_0000;
        h.Map(linear, frame, 7);
        var a = new Assembler(32);
        a.mov(__dword_ptr[linear], 5); // sets A and D in the PTE, which lives in a watched page
        a.hlt();
        h.Load(a);
        uint pte = h.PteAddress(linear);
        h.Cpu.WatchPage(pte, true);
        var stores = new List<WatchedStore>();
        h.Cpu.StoreWatch = (in WatchedStore s) =>
        {
            stores.Add(s);
            return true;
        };

        h.RunUntilHalt();

        Assert.Equal(H.PteA | H.PteD, h.Memory.Read32(pte) & (H.PteA | H.PteD));
        Assert.Empty(stores);
    }

    [Fact]
    public void WatchingAPageDoesNotFlushTheTlb()
    {
        var h = new H();
        h.EnablePaging();
        const uint linear = 0x4000_0000;
        h.Map(linear, 0x28_0000, 7);
        var a = new Assembler(32);
        a.mov(eax, __dword_ptr[linear]);
        a.hlt();
        h.Load(a);
        h.RunUntilHalt();
        Assert.True(h.Cpu.TlbHasEntry(linear));
        Assert.True(h.Cpu.TlbHasEntry(H.CodeBase));

        h.Cpu.WatchPage(0x30_0000, true);

        Assert.True(h.Cpu.TlbHasEntry(linear));
        Assert.True(h.Cpu.TlbHasEntry(H.CodeBase));
    }

    private sealed class CpuidAndHltHypervisor : ICpuIntercepts
    {
        public List<SensitiveOp> Seen { get; } = [];

        public InterceptAction OnInstruction(Cpu cpu, in SensitiveEvent e)
        {
            Seen.Add(e.Op);
            switch (e.Op)
            {
                case SensitiveOp.Cpuid:
                    cpu.Eax = 0x1111;
                    cpu.Ebx = 0x2222;
                    cpu.Ecx = 0x3333;
                    cpu.Edx = 0x4444;
                    return InterceptAction.Skip;
                case SensitiveOp.Hlt:
                    return InterceptAction.Stop;
                default:
                    return InterceptAction.Default;
            }
        }

        public InterceptAction OnException(Cpu cpu, ref ExceptionEvent e) => InterceptAction.Default;

        public InterceptAction OnExternalInterrupt(Cpu cpu) => InterceptAction.Default;
    }

    [Fact]
    public void AnInterceptCanEmulateAnInstructionOrStopTheVm()
    {
        var h = new H();
        var a = new Assembler(32);
        a.xor(eax, eax);
        a.cpuid();
        a.mov(esi, eax);
        a.hlt();
        h.Load(a);
        var hv = new CpuidAndHltHypervisor();
        h.Cpu.Intercepts = hv;

        CpuExit exit = h.Cpu.Run(1000);

        Assert.Equal(CpuExitReason.InterceptStop, exit.Reason);
        Assert.Equal(0x1111u, h.Cpu.Esi);
        Assert.Equal(0x4444u, h.Cpu.Edx);
        Assert.Equal([SensitiveOp.Cpuid, SensitiveOp.Hlt], hv.Seen);
        Assert.False(h.Cpu.Halted); // the hypervisor stopped the VM before HLT executed
    }

    private sealed class DemandMapper(H h, uint physical) : ICpuIntercepts
    {
        public int PageFaults { get; private set; }

        public InterceptAction OnInstruction(Cpu cpu, in SensitiveEvent e) => InterceptAction.Default;

        /// <summary>A #PF the guest never sees: the "hypervisor" maps the page and lets the instruction retry.</summary>
        public InterceptAction OnException(Cpu cpu, ref ExceptionEvent e)
        {
            if (e.Vector != Vectors.PF) return InterceptAction.Default;
            PageFaults++;
            h.Map(e.FaultAddress & ~0xFFFu, physical, 7);
            return InterceptAction.Resume;
        }

        public InterceptAction OnExternalInterrupt(Cpu cpu) => InterceptAction.Default;
    }

    [Fact]
    public void APageFaultTheHypervisorAbsorbsLeavesCr2Untouched()
    {
        var h = new H();
        h.EnablePaging();
        const uint linear = 0x4000_0000, physA = 0x28_0000;
        h.Memory.Write32(physA, 0xAAAA_AAAA);
        var a = new Assembler(32);
        a.mov(eax, __dword_ptr[linear]);
        a.hlt();
        h.Load(a);
        h.Cpu.Cr2 = 0x1234_5000;
        var hv = new DemandMapper(h, physA);
        h.Cpu.Intercepts = hv;

        h.RunUntilHalt();

        Assert.Equal(1, hv.PageFaults);
        Assert.Equal(0xAAAA_AAAAu, h.Cpu.Eax);
        Assert.Equal(0u, h.ExceptionCount); // the guest's IDT never ran
        Assert.Equal(0x1234_5000u, h.Cpu.Cr2); // and its CR2 was never written
    }

    /// <summary>A backend's translation: one linear page goes to a frame of its choosing, the rest identity-mapped.</summary>
    private sealed class RedirectingTranslation(uint linear, uint frame) : IPageTranslation
    {
        public int Misses { get; private set; }

        public PageTranslation Translate(Cpu cpu, uint lin, PageAccess access, bool user)
        {
            Misses++;
            if ((lin & ~0xFFFu) == 0x5000_0000)
            {
                return PageTranslation.PageFault(user ? 4u : 0u);
            }
            return PageTranslation.Map((lin & ~0xFFFu) == linear ? frame : lin, writable: true, user: true);
        }

        public bool TryTranslateNoSideEffects(Cpu cpu, uint lin, out uint physical)
        {
            physical = (lin & ~0xFFFu) == linear ? frame | (lin & 0xFFF) : lin;
            return true;
        }
    }

    [Fact]
    public void ABackendsTranslationReplacesTheGuestsTablesWhileTheGuestKeepsItsCr3()
    {
        var h = new H();
        h.EnablePaging();
        const uint linear = 0x4000_0000, physB = 0x29_0000;
        h.Memory.Write32(physB, 0xBBBB_BBBB);
        var a = new Assembler(32);
        a.mov(eax, __dword_ptr[linear]);
        a.mov(ebx, __dword_ptr[0x5000_0000]);
        a.hlt();
        h.Load(a);
        uint guestCr3 = h.Cpu.Cr3;
        var t = new RedirectingTranslation(linear, physB);
        h.Cpu.Paging = t;
        h.Cpu.Cr2 = 0;

        h.RunUntilHalt();

        Assert.Equal(0xBBBB_BBBBu, h.Cpu.Eax);
        Assert.True(t.Misses >= 2);
        Assert.Equal(guestCr3, h.Cpu.Cr3);
        h.AssertStopped(Vectors.PF); // the backend's fault reached the guest, with CR2 written on delivery
        Assert.Equal(0x5000_0000u, h.Cpu.Cr2);
    }

    private sealed class HypercallCounter : ICpuIntercepts
    {
        public List<(SensitiveOp Op, uint Operand)> Calls { get; } = [];

        public InterceptAction OnInstruction(Cpu cpu, in SensitiveEvent e)
        {
            if (e.Op is SensitiveOp.Vmcall or SensitiveOp.Vmmcall or SensitiveOp.SoftwareInterruptHypercall)
            {
                Calls.Add((e.Op, cpu.Eax));
                cpu.Eax = 0x600D; // the hypercall's result
                return InterceptAction.Skip;
            }
            return InterceptAction.Default;
        }

        public InterceptAction OnException(Cpu cpu, ref ExceptionEvent e) => InterceptAction.Default;

        public InterceptAction OnExternalInterrupt(Cpu cpu) => InterceptAction.Default;
    }

    [Fact]
    public void HypercallInstructionsReachTheHypervisor()
    {
        var h = new H();
        var a = new Assembler(32);
        a.mov(eax, 1);
        a.vmcall();
        a.mov(ebx, eax);
        a.mov(eax, 2);
        a.vmmcall();
        a.mov(ecx, eax);
        a.mov(eax, 3);
        a.@int(0x82);
        a.mov(edx, eax);
        a.hlt();
        h.Load(a);
        var hv = new HypercallCounter();
        h.Cpu.Intercepts = hv;
        h.Cpu.HypercallVector = 0x82;

        h.RunUntilHalt();

        Assert.Equal([(SensitiveOp.Vmcall, 1u), (SensitiveOp.Vmmcall, 2u), (SensitiveOp.SoftwareInterruptHypercall, 3u)], hv.Calls);
        Assert.Equal(0x600Du, h.Cpu.Ebx);
        Assert.Equal(0x600Du, h.Cpu.Ecx);
        Assert.Equal(0x600Du, h.Cpu.Edx);
    }

    [Fact]
    public void WithoutAHypervisorVmcallIsAnInvalidOpcode()
    {
        var h = new H();
        var a = new Assembler(32);
        a.vmcall();
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.UD);
    }
}
