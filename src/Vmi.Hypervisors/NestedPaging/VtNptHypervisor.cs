using Vmi.Cpu;
using Vmi.Hypervisors.Costs;
using Vmi.Hypervisors.Events;
using Vmi.Hypervisors.Paging;
using Vmi.Hypervisors.Paravirtual;
using Vmi.Rom;

namespace Vmi.Hypervisors.NestedPaging;

/// <summary>
/// Hardware assistance with nested paging (AMD NPT, Intel EPT): the guest owns its page tables,
/// so page faults, CR3 loads and INVLPG never exit; each TLB miss pays a two-dimensional walk
/// (<see cref="NestedMmu"/>). CPUID, HLT, I/O and MSR accesses still exit.
/// </summary>
public sealed class VtNptHypervisor : Hypervisor
{
    private NestedMmu? mmu;
    private HypercallHandler? hypercalls;

    public VtNptHypervisor(CostProfile profile)
        : base(profile)
    {
    }

    public override string Name => "vt-npt";

    public override string Description => "hardware assistance with nested paging (NPT/EPT): kernel in ring 0 of guest mode, the guest owns its page tables, TLB misses walk two dimensions";

    public static readonly SensitiveOp[] ExitingOps =
    [
        SensitiveOp.Cpuid, SensitiveOp.Hlt, SensitiveOp.PortIn, SensitiveOp.PortOut, SensitiveOp.Rdmsr, SensitiveOp.Wrmsr,
        SensitiveOp.Vmcall, SensitiveOp.Vmmcall,
    ];

    /// <summary>References per level of the two-dimensional walks so far (nested directory, nested table, guest directory, guest table).</summary>
    public IReadOnlyList<long> WalkReferencesByLevel => mmu?.ReferencesByLevel ?? [];

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

    internal RomPlanner Planner(CpuModel model) => HardwareAssistedRom.Planner(Name, model, Profile, nestedPaging: model.NestedPaging);

    public override string? RefuseCpuModel(CpuModel model) => model.NestedPaging
        ? null
        : $"vt-npt needs a CPU model with nested paging (AMD NPT or Intel EPT); {model.Name} has none (try barcelona-2007 or modern)";

    protected override void OnAttach()
    {
        Cpu.Intercepts = this;
        Cpu.InstructionIntercepts = Vmi.Cpu.Cpu.MaskOf(ExitingOps);
        Cpu.ExceptionIntercepts = 0;
        Cpu.InterceptSoftwareInterrupts = false;
        Cpu.InterceptExternalInterrupts = true;
        mmu = new NestedMmu(Cpu.Memory.RamSize, references =>
        {
            Count(EventKind.NestedTlbMiss, "2-D walk");
            Count(EventKind.NestedWalkReference, "walk reference", references);
        });
        Cpu.Paging = mmu;
        hypercalls = new HypercallHandler(Cpu, null, detail => Count(EventKind.ExitHypercall, detail), new ParavirtualClock(Vm));
    }

    public override InterceptAction OnInstruction(Vmi.Cpu.Cpu cpu, in SensitiveEvent e)
    {
        if (e.Op is SensitiveOp.Vmcall or SensitiveOp.Vmmcall)
        {
            return Hypercall(cpu, e);
        }
        (EventKind kind, string detail) = e.Op switch
        {
            SensitiveOp.Cpuid => (EventKind.ExitCpuid, "cpuid"),
            SensitiveOp.Hlt => (EventKind.ExitHlt, "hlt"),
            SensitiveOp.PortIn => (EventKind.ExitIo, "in"),
            SensitiveOp.PortOut => (EventKind.ExitIo, "out"),
            SensitiveOp.Rdmsr => (EventKind.ExitMsr, "rdmsr"),
            SensitiveOp.Wrmsr => (EventKind.ExitMsr, "wrmsr"),
            _ => (EventKind.ExitHypercall, "unexpected"),
        };
        Count(kind, detail);
        return InterceptAction.Default;
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
}
