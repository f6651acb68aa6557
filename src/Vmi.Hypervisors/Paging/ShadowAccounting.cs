namespace Vmi.Hypervisors.Paging;

/// <summary>How a shadow-paging monitor's work reaches the event ledger (bt and vt count it differently).</summary>
internal interface IShadowAccounting
{
    /// <summary>A fault the guest never sees: a shadow entry filled (or upgraded for the dirty bit).</summary>
    void HiddenFault(uint linear);

    /// <summary>The guest's own tables refuse the access: the guest gets the #PF.</summary>
    void TrueFault(uint linear);

    /// <summary>A guest store into one of its page-table pages (write-protected under shadow paging).</summary>
    void TracingFault(in Vmi.Cpu.WatchedStore store);

    /// <summary>The guest switched address spaces and the monitor switched shadow roots.</summary>
    void ShadowRootSwitch(uint guestCr3);
}
