using Vmi.Abi;
using Vmi.Cpu;
using Vmi.Hypervisors.Costs;
using Vmi.Hypervisors.Paging;
using Vmi.Rom;

namespace Vmi.Hypervisors.Paravirtual;

/// <summary>
/// The ROM of a hardware-assisted backend (vt, vt-npt): each call in its cheapest correct form
/// under that backend's exits (<see cref="HardwareAssistedCosts"/>), hypercalls by the vendor's
/// instruction, CPUID from a table. When page-table writes are worth hypercalls (shadow paging),
/// the shared page carries the lazy-MMU flag and the page-table bitmap the hypervisor validates with.
/// </summary>
internal static class HardwareAssistedRom
{
    public static RomPlanner Planner(string backend, CpuModel model, CostProfile profile, bool nestedPaging)
    {
        HypercallInstruction instruction = RomPlanner.HardwareInstructionFor(model);
        var costs = new HardwareAssistedCosts(profile, nestedPaging);
        var planner = new RomPlanner(backend, model, costs, instruction) { VirtualTop = costs.PteHypercalls ? ShadowMmu.MonitorBase : 0, AlarmClockHz = profile.TickHz }
            .Offer(VmiCall.Cpuid, CpuidTable.For(RomPlanner.CpuidLeaves(model)), profile.CpiMilli * 20 / 1000, "CPUID table");
        if (costs.PteHypercalls)
        {
            planner.Offer(VmiCall.SetPxE, SharedPage.QueuedSetPxE(instruction, SharedPage.SetPxEHypercall(instruction)), costs.Hypercall, $"hypercall; lazy: queue ({SharedPage.QueuedUpdateCost(profile, costs.Hypercall)})")
                .Offer(VmiCall.SetLazyMode, SharedPage.SetLazyMode(instruction), profile.CpiMilli * 6 / 1000, "shared-page flag")
                .Offer(VmiCall.InvalPage, SharedPage.FlushQueueOnly(instruction), profile.CpiMilli * 2 / 1000, "queue flush only")
                .Offer(VmiCall.FlushTlb, SharedPage.FlushQueueOnly(instruction), profile.CpiMilli * 2 / 1000, "queue flush only")
                .Offer(VmiCall.AllocatePage, SharedPage.AnnouncePageTable(allocate: true), profile.CpiMilli * 3 / 1000, "shared-page bitmap")
                .Offer(VmiCall.ReleasePage, SharedPage.AnnouncePageTable(allocate: false), profile.CpiMilli * 3 / 1000, "shared-page bitmap");
        }
        return planner;
    }
}
