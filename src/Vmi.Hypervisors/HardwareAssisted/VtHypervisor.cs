using Vmi.Cpu;
using Vmi.Hypervisors.Costs;
using Vmi.Hypervisors.Events;
using Vmi.Hypervisors.Paging;
using Vmi.Hypervisors.Paravirtual;
using Vmi.Rom;

namespace Vmi.Hypervisors.HardwareAssisted;

/// <summary>
/// First-generation hardware assistance (2006 VT-x / AMD-V without nested paging): the kernel
/// runs in ring 0 of guest mode, so CLI/STI/PUSHF/POPF and the rest of its ring-0 code need no
/// exit; CPUID, HLT, I/O, MSR accesses, CR writes and INVLPG exit. Paging is shadowed as under bt,
/// but every shadow event (hidden fault, true fault, page-table write) is a full page-fault exit.
/// External interrupts exit and are injected on the next entry.
/// </summary>
public sealed class VtHypervisor : Hypervisor, IShadowAccounting
{
    private ShadowMmu? mmu;
    private HypercallHandler? hypercalls;

    public VtHypervisor(CostProfile profile)
        : base(profile)
    {
    }

    public override string Name => "vt";

    public override string Description => "first-generation hardware assistance (VT-x/AMD-V, 2006): kernel in ring 0 of guest mode, exits on CPUID/HLT/I/O/MSR/CR/INVLPG, shadow paging";

    public static readonly SensitiveOp[] ExitingOps =
    [
        SensitiveOp.Cpuid, SensitiveOp.Hlt, SensitiveOp.PortIn, SensitiveOp.PortOut, SensitiveOp.Rdmsr, SensitiveOp.Wrmsr,
        SensitiveOp.MovToCr, SensitiveOp.Invlpg, SensitiveOp.Vmcall, SensitiveOp.Vmmcall,
    ];

    /// <summary>
    /// The ROM this backend publishes: each call in its cheapest correct form under this backend's own costs
    /// (a CPUID table; hypercalls, by the vendor's instruction, where they cost less than the exits
    /// they replace; native elsewhere).
    /// </summary>
    public override VmiRom BuildRom(CpuModel model) => Planner(model).Build();

    public override IReadOnlyList<CallDecision> ExplainRom(CpuModel model)
    {
        RomPlanner planner = Planner(model);
        planner.Build();
        return planner.Decisions;
    }

    internal RomPlanner Planner(CpuModel model) => HardwareAssistedRom.Planner(Name, model, Profile, nestedPaging: false);

    /// <summary>The shared page the ROM's lazy-mode flag and page-table bitmap live in.</summary>
    public override uint HostMemoryBytes => SharedPage.HostBytes;

    public override string? RefuseCpuModel(CpuModel model) => model.HardwareVirtualization
        ? null
        : $"vt needs a CPU model with hardware virtualization (VT-x or AMD-V); {model.Name} has none (try pentium4-2006 or opteron-2006)";

    protected override void OnAttach()
    {
        Cpu.Intercepts = this;
        Cpu.InstructionIntercepts = Vmi.Cpu.Cpu.MaskOf(ExitingOps);
        Cpu.ExceptionIntercepts = 0;
        Cpu.InterceptSoftwareInterrupts = false;
        Cpu.InterceptExternalInterrupts = true;
        mmu = new ShadowMmu(Cpu, this);
        Cpu.Paging = mmu;
        hypercalls = new HypercallHandler(Cpu, mmu, detail => Count(EventKind.ExitHypercall, detail), new ParavirtualClock(Vm));
        Cpu.StoreWatch = mmu.OnStore;
    }

    public override InterceptAction OnInstruction(Vmi.Cpu.Cpu cpu, in SensitiveEvent e)
    {
        switch (e.Op)
        {
            case SensitiveOp.Cpuid:
                Count(EventKind.ExitCpuid, "cpuid");
                return InterceptAction.Default;
            case SensitiveOp.Hlt:
                Count(EventKind.ExitHlt, "hlt");
                return InterceptAction.Default;
            case SensitiveOp.PortIn:
                Count(EventKind.ExitIo, "in");
                return InterceptAction.Default;
            case SensitiveOp.PortOut:
                Count(EventKind.ExitIo, "out");
                return InterceptAction.Default;
            case SensitiveOp.Rdmsr:
            case SensitiveOp.Wrmsr:
                Count(EventKind.ExitMsr, e.Op == SensitiveOp.Rdmsr ? "rdmsr" : "wrmsr");
                return InterceptAction.Default;
            case SensitiveOp.MovToCr:
                Count(EventKind.ExitCrAccess, e.Operand switch { 0 => "cr0", 3 => "cr3", 4 => "cr4", _ => "cr" });
                return EmulateCrWrite(cpu, e);
            case SensitiveOp.Invlpg:
                Count(EventKind.ExitInvlpg, "invlpg");
                mmu!.Invalidate(e.Address);
                return InterceptAction.Default;
            default:
                return Hypercall(cpu, e);
        }
    }

    private InterceptAction EmulateCrWrite(Vmi.Cpu.Cpu cpu, in SensitiveEvent e)
    {
        uint before0 = cpu.Cr0, before4 = cpu.Cr4;
        if (!cpu.TrySetControlRegister((int)e.Operand, e.Value))
        {
            return InterceptAction.Default; // the instruction runs and raises its own fault
        }
        if (((before0 ^ cpu.Cr0) & (Cr0Bits.PG | Cr0Bits.WP)) != 0 || ((before4 ^ cpu.Cr4) & (Cr4Bits.PSE | Cr4Bits.PGE)) != 0)
        {
            mmu!.Reset();
        }
        return InterceptAction.Skip;
    }

    /// <summary>
    /// VMCALL/VMMCALL: the vendor's instruction is a hypercall (EBX = its number); the other
    /// vendor's is #UD, as on the hardware.
    /// </summary>
    private InterceptAction Hypercall(Vmi.Cpu.Cpu cpu, in SensitiveEvent e)
    {
        if (e.Op != (Vm.Config.CpuModel.IsAmd ? SensitiveOp.Vmmcall : SensitiveOp.Vmcall))
        {
            return InterceptAction.Default;
        }
        return hypercalls!.TryHandle(cpu.Ebx, e, out InterceptAction action) ? action : hypercalls.RefuseUnknown();
    }

    public override InterceptAction OnExternalInterrupt(Vmi.Cpu.Cpu cpu)
    {
        Count(EventKind.InterruptInjection, "external interrupt");
        return InterceptAction.Default;
    }

    void IShadowAccounting.HiddenFault(uint linear)
    {
        Count(EventKind.ExitPageFault, "hidden");
        Count(EventKind.HiddenPageFault, "shadow fill");
    }

    void IShadowAccounting.TrueFault(uint linear)
    {
        Count(EventKind.ExitPageFault, "guest fault");
        Count(EventKind.TrueGuestPageFault, "guest page fault");
    }

    void IShadowAccounting.TracingFault(in WatchedStore store)
    {
        Count(EventKind.ExitPageFault, "page-table write");
        Count(EventKind.TracingFault, "page-table write");
    }

    void IShadowAccounting.ShadowRootSwitch(uint guestCr3) => Count(EventKind.ShadowCr3Switch, "shadow root switch");
}
