using Iced.Intel;
using Vmi.Cpu.Tests.Support;
using static Iced.Intel.AssemblerRegisters;
using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests.SystemLevel;

/// <summary>
/// The seams a hypervisor backend builds on: it sees decoded blocks before they run (to find
/// non-trapping sensitive instructions), intercepts sensitive instructions, and can redirect
/// the page walk and watch writes to chosen physical pages.
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
    public void WatchedPagesReportEveryGuestWriteAndTheWriteStillHappens()
    {
        var h = new H();
        const uint target = 0x30_0000;
        var a = new Assembler(32);
        a.mov(__dword_ptr[target + 8], 0x1234_5678);
        a.mov(__byte_ptr[target + 0x20], 0x9A);
        a.hlt();
        h.Load(a);
        var writes = new List<(uint Address, uint Value)>();
        h.Cpu.Memory.SetWatched(target, true);
        h.Cpu.Memory.WatchedWrite = (addr, size, value) => writes.Add((addr, value));

        h.RunUntilHalt();

        Assert.Equal(5, writes.Count); // 4 bytes of the dword, then the byte
        Assert.Equal((target + 8, 0x78u), writes[0]);
        Assert.Equal((target + 0x20, 0x9Au), writes[4]);
        Assert.Equal(0x1234_5678u, h.Cpu.Memory.Read32(target + 8));
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
                    return InterceptAction.Handled;
                case SensitiveOp.Hlt:
                    return InterceptAction.Stop;
                default:
                    return InterceptAction.Default;
            }
        }

        public InterceptAction OnException(Cpu cpu, ref ExceptionEvent e) => InterceptAction.Default;
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
            h.Map(e.Cr2 & ~0xFFFu, physical, 7);
            return InterceptAction.Resume;
        }
    }

    [Fact]
    public void AHypervisorCanHandleAPageFaultInvisiblyAndRedirectTheWalk()
    {
        var h = new H();
        h.EnablePaging();
        const uint linear = 0x4000_0000, physA = 0x28_0000, physB = 0x29_0000;
        h.Memory.Write32(physA, 0xAAAA_AAAA);
        h.Memory.Write32(physB, 0xBBBB_BBBB);
        var a = new Assembler(32);
        a.mov(eax, __dword_ptr[linear]);
        a.hlt();
        h.Load(a);
        var hv = new DemandMapper(h, physA);
        h.Cpu.Intercepts = hv;

        h.RunUntilHalt();

        Assert.Equal(1, hv.PageFaults);
        Assert.Equal(0xAAAA_AAAAu, h.Cpu.Eax);
        Assert.Equal(0u, h.ExceptionCount); // the guest's IDT never ran

        // Redirected walk: a second directory (a backend's shadow table) maps the same linear page elsewhere.
        const uint shadowDir = 0x2A_0000, shadowTable = 0x2B_0000;
        h.Memory.Fill(shadowDir, 0x1000, 0);
        h.Memory.Fill(shadowTable, 0x1000, 0);
        for (uint i = 0; i < 1024; i++)
        {
            h.Memory.Write32(shadowDir + i * 4, h.Memory.Read32(H.PageDirectoryBase + i * 4));
        }
        h.Memory.Write32(shadowDir + (linear >> 22) * 4, shadowTable | 7);
        h.Memory.Write32(shadowTable + ((linear >> 12) & 0x3FF) * 4, physB | 7);
        uint guestCr3 = h.Cpu.Cr3;
        h.Cpu.PageTableRootOverride = shadowDir;
        h.Cpu.FlushTlbAll();
        h.Restart(H.CodeBase);

        h.RunUntilHalt();

        Assert.Equal(0xBBBB_BBBBu, h.Cpu.Eax);
        Assert.Equal(guestCr3, h.Cpu.Cr3); // the guest still sees its own CR3
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
                return InterceptAction.Handled;
            }
            return InterceptAction.Default;
        }

        public InterceptAction OnException(Cpu cpu, ref ExceptionEvent e) => InterceptAction.Default;
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
