using Vmi.Abi;
using Vmi.Hypervisors.Costs;
using Vmi.Hypervisors.Events;
using Vmi.Hypervisors.Paravirtual;

namespace Vmi.Hypervisors.BinaryTranslation;

/// <summary>
/// What native instructions cost a paravirtual kernel under bt, which runs it directly (no
/// translation) in ring 1: privileged instructions trap and are emulated; the non-trapping
/// sensitive ones would run and do the wrong thing (incorrect, so never kept); a page-table or
/// descriptor-table store is traced.
/// </summary>
internal sealed class BtCosts(CostProfile profile) : IParavirtualCosts
{
    public long Hypercall => profile.CostOf(EventKind.Hypercall);

    private long Trap => profile.CostOf(EventKind.TrapAndEmulate);

    public CallCost Native(VmiCall call) => call switch
    {
        VmiCall.GetInterruptMask or VmiCall.SetInterruptMask or VmiCall.Iret or VmiCall.Cpuid or VmiCall.Rdtsc
            or VmiCall.GetGdt or VmiCall.GetIdt or VmiCall.GetTr or VmiCall.GetLdt or VmiCall.Sysexit => CallCost.Incorrect,
        VmiCall.DisableInterrupts or VmiCall.EnableInterrupts or VmiCall.SetCr0 or VmiCall.SetCr2 or VmiCall.SetCr3 or VmiCall.SetCr4
            or VmiCall.GetCr0 or VmiCall.GetCr2 or VmiCall.GetCr3 or VmiCall.GetCr4 or VmiCall.InvalPage or VmiCall.FlushTlb
            or VmiCall.Inb or VmiCall.Inw or VmiCall.Inl or VmiCall.Outb or VmiCall.Outw or VmiCall.Outl or VmiCall.IoDelay
            or VmiCall.Insb or VmiCall.Insw or VmiCall.Insl or VmiCall.Outsb or VmiCall.Outsw or VmiCall.Outsl
            or VmiCall.Clts or VmiCall.Wbinvd or VmiCall.SetDr or VmiCall.GetDr or VmiCall.SetGdt or VmiCall.SetIdt
            or VmiCall.SetTr or VmiCall.SetLdt => new(Trap),
        VmiCall.Halt => new(2 * Trap), // sti; hlt
        // The ROM's SetPxE queues in lazy mode on the flag SetLazyMode keeps in the shared page, and
        // the monitor validates queued updates against the page tables the kernel announced.
        VmiCall.SetLazyMode or VmiCall.AllocatePage or VmiCall.ReleasePage => CallCost.Incorrect,
        VmiCall.SetPxE or VmiCall.WriteGdtEntry or VmiCall.WriteIdtEntry or VmiCall.WriteLdtEntry => new(profile.CostOf(EventKind.TracingFault)),
        _ => CallCost.Free,
    };

    public bool CanHypercall(VmiCall call) =>
        HardwareAssistedCosts.HypercallableCalls.Contains(call) || call is VmiCall.Rdtsc or VmiCall.GetGdt or VmiCall.GetIdt or VmiCall.GetTr or VmiCall.GetLdt;
}
