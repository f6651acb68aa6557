using Vmi.Cpu;
using Vmi.Hypervisors.Costs;
using Vmi.Hypervisors.Events;
using Vmi.Hypervisors.Paging;
using Vmi.Hypervisors.Paravirtual;

namespace Vmi.Hypervisors.HardwareAssisted;

/// <summary>
/// First-generation hardware assistance (2006 VT-x / AMD-V without nested paging): the kernel
/// runs in ring 0 of guest mode, so CLI/STI/PUSHF/POPF and the rest of its ring-0 code need no
/// exit; besides the common exits, CR writes and INVLPG exit. Paging is shadowed as under bt, but
/// every shadow event (hidden fault, true fault, page-table write) is a full page-fault exit.
/// </summary>
public sealed class VtHypervisor : HardwareAssistedHypervisor, IShadowAccounting
{
    private ShadowMmu? mmu;

    public VtHypervisor(CostProfile profile)
        : base(profile)
    {
    }

    public override string Name => "vt";

    public override string Description => "first-generation hardware assistance (VT-x/AMD-V, 2006): kernel in ring 0 of guest mode, exits on CPUID/HLT/I/O/MSR/CR/INVLPG, shadow paging";

    protected override IReadOnlyList<SensitiveOp> FurtherExits => [SensitiveOp.MovToCr, SensitiveOp.Invlpg];

    protected override bool NestedPagingFor(CpuModel model) => false;

    /// <summary>The shared page the ROM's lazy-mode flag and page-table bitmap live in.</summary>
    public override uint HostMemoryBytes => SharedPage.HostBytes;

    public override string? RefuseCpuModel(CpuModel model) => model.HardwareVirtualization
        ? null
        : $"vt needs a CPU model with hardware virtualization (VT-x or AMD-V); {model.Name} has none (try pentium4-2006 or opteron-2006)";

    private protected override ShadowMmu AttachPaging()
    {
        mmu = new ShadowMmu(Cpu, this);
        Cpu.Paging = mmu;
        Cpu.StoreWatch = mmu.OnStore;
        return mmu;
    }

    protected override InterceptAction OnFurtherExit(Vmi.Cpu.Cpu cpu, in SensitiveEvent e)
    {
        if (e.Op == SensitiveOp.Invlpg)
        {
            Count(EventKind.ExitInvlpg, "invlpg");
            mmu!.Invalidate(e.Address);
            return InterceptAction.Default;
        }
        Count(EventKind.ExitCrAccess, e.Operand switch { 0 => "cr0", 3 => "cr3", 4 => "cr4", _ => "cr" });
        // Emulated here (a failing write runs as the instruction and raises its own fault); the
        // shadow notices a paging-mode change itself.
        return cpu.TrySetControlRegister((int)e.Operand, e.Value) ? InterceptAction.Skip : InterceptAction.Default;
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
