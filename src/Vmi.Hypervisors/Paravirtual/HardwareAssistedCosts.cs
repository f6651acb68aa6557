using Vmi.Abi;
using Vmi.Hypervisors.Costs;
using Vmi.Hypervisors.Events;

namespace Vmi.Hypervisors.Paravirtual;

/// <summary>
/// What native instructions cost a kernel in guest mode (vt, vt-npt): which ones exit, priced by
/// the profile. With nested paging, page-table writes, CR3 loads and INVLPG do not exit; with shadow
/// paging a page-table write is a traced page-fault exit.
/// </summary>
internal sealed class HardwareAssistedCosts(CostProfile profile, bool nestedPaging) : IParavirtualCosts
{
    public long Hypercall => profile.CostOf(EventKind.ExitHypercall);

    private long PteWrite => nestedPaging ? 0 : profile.CostOf(EventKind.ExitPageFault) + profile.CostOf(EventKind.TracingFault);

    /// <summary>Whether page-table writes are worth a hypercall here (a shadow-paging exit costs more).</summary>
    public bool PteHypercalls => PteWrite > Hypercall;

    public CallCost Native(VmiCall call) => call switch
    {
        VmiCall.Cpuid => new(profile.CostOf(EventKind.ExitCpuid)),
        VmiCall.Inb or VmiCall.Inw or VmiCall.Inl or VmiCall.Outb or VmiCall.Outw or VmiCall.Outl or VmiCall.IoDelay
            or VmiCall.Insb or VmiCall.Insw or VmiCall.Insl or VmiCall.Outsb or VmiCall.Outsw or VmiCall.Outsl => new(profile.CostOf(EventKind.ExitIo)),
        VmiCall.SetCr0 or VmiCall.SetCr4 => new(profile.CostOf(EventKind.ExitCrAccess)),
        VmiCall.SetCr3 or VmiCall.FlushTlb => new(nestedPaging ? 0 : profile.CostOf(EventKind.ExitCrAccess) + profile.CostOf(EventKind.ShadowCr3Switch)),
        VmiCall.InvalPage => new(nestedPaging ? 0 : profile.CostOf(EventKind.ExitInvlpg)),
        VmiCall.SetPxE => new(PteWrite),
        // When page-table writes become hypercalls, the hypervisor must know which pages are page
        // tables to validate them: the announcements are then needed, not optional (the ROM records
        // them in the shared page's bitmap, or by hypercall).
        VmiCall.AllocatePage or VmiCall.ReleasePage => PteHypercalls ? CallCost.Incorrect : CallCost.Free,
        // The lazy-aware SetPxE reads the lazy flag SetLazyMode keeps in the shared page.
        VmiCall.SetLazyMode => PteHypercalls ? CallCost.Incorrect : CallCost.Free,
        VmiCall.Halt => new(profile.CostOf(EventKind.ExitHlt)),
        _ => CallCost.Free,
    };

    public bool CanHypercall(VmiCall call) => HypercallableCalls.Contains(call);

    public static readonly IReadOnlySet<VmiCall> HypercallableCalls = new HashSet<VmiCall>
    {
        VmiCall.SetCr0, VmiCall.SetCr2, VmiCall.SetCr3, VmiCall.SetCr4, VmiCall.GetCr0, VmiCall.GetCr2, VmiCall.GetCr3, VmiCall.GetCr4,
        VmiCall.InvalPage, VmiCall.FlushTlb, VmiCall.SetPxE, VmiCall.AllocatePage, VmiCall.ReleasePage,
        VmiCall.Inb, VmiCall.Inw, VmiCall.Inl, VmiCall.Outb, VmiCall.Outw, VmiCall.Outl, VmiCall.IoDelay, VmiCall.Halt,
    };
}
