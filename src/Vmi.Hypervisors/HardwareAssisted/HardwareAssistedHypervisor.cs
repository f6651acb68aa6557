using Vmi.Cpu;
using Vmi.Hypervisors.Costs;
using Vmi.Hypervisors.Events;
using Vmi.Hypervisors.Paging;
using Vmi.Hypervisors.Paravirtual;

namespace Vmi.Hypervisors.HardwareAssisted;

/// <summary>
/// What the hardware-assisted backends (vt, vt-npt) share: the kernel in ring 0 of guest mode;
/// exits on CPUID, HLT, I/O and MSR accesses; hypercalls by the CPU vendor's instruction; external
/// interrupts exit and are injected; a ROM derived from the exits (<see cref="HardwareAssistedRom"/>).
/// How paging is virtualized, and which further instructions exit, is each backend's own.
/// </summary>
public abstract class HardwareAssistedHypervisor : Hypervisor
{
    private static readonly SensitiveOp[] CommonExits =
    [
        SensitiveOp.Cpuid, SensitiveOp.Hlt, SensitiveOp.PortIn, SensitiveOp.PortOut, SensitiveOp.Rdmsr, SensitiveOp.Wrmsr,
        SensitiveOp.Vmcall, SensitiveOp.Vmmcall,
    ];

    private HypercallHandler? hypercalls;

    protected HardwareAssistedHypervisor(CostProfile profile)
        : base(profile)
    {
    }

    /// <summary>Instructions that exit under this backend besides the common ones (CPUID, HLT, I/O, MSRs, hypercalls).</summary>
    protected virtual IReadOnlyList<SensitiveOp> FurtherExits => [];

    /// <summary>Whether page-table writes, CR3 loads and INVLPG cost nothing natively on <paramref name="model"/> (its ROM answers follow).</summary>
    protected abstract bool NestedPagingFor(CpuModel model);

    /// <summary>Sets up the CPU's page translation; returns the shadow MMU hypercalls must keep coherent, if any.</summary>
    private protected abstract ShadowMmu? AttachPaging();

    internal override RomPlanner Planner(CpuModel model) => HardwareAssistedRom.Planner(Name, model, Profile, NestedPagingFor(model));

    protected sealed override void OnAttach()
    {
        Cpu.Intercepts = this;
        Cpu.InstructionIntercepts = Vmi.Cpu.Cpu.MaskOf([.. CommonExits, .. FurtherExits]);
        Cpu.ExceptionIntercepts = 0;
        Cpu.InterceptSoftwareInterrupts = false;
        Cpu.InterceptExternalInterrupts = true;
        ShadowMmu? shadow = AttachPaging();
        hypercalls = new HypercallHandler(Cpu, shadow, detail => Count(EventKind.ExitHypercall, detail), new ParavirtualClock(Vm), detail => Count(EventKind.QueuedPageTableUpdate, detail));
        if (shadow is not null)
        {
            shadow.FlushDeferred = hypercalls.FlushQueue;
        }
    }

    public sealed override InterceptAction OnInstruction(Vmi.Cpu.Cpu cpu, in SensitiveEvent e)
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
                Count(EventKind.ExitMsr, "rdmsr");
                return InterceptAction.Default;
            case SensitiveOp.Wrmsr:
                Count(EventKind.ExitMsr, "wrmsr");
                return InterceptAction.Default;
            case SensitiveOp.Vmcall or SensitiveOp.Vmmcall:
                return Hypercall(cpu, e);
            default:
                return OnFurtherExit(cpu, e);
        }
    }

    /// <summary>One of <see cref="FurtherExits"/>.</summary>
    protected virtual InterceptAction OnFurtherExit(Vmi.Cpu.Cpu cpu, in SensitiveEvent e) => InterceptAction.Default;

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

    public sealed override InterceptAction OnExternalInterrupt(Vmi.Cpu.Cpu cpu)
    {
        Count(EventKind.InterruptInjection, "external interrupt");
        return InterceptAction.Default;
    }
}
