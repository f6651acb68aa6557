namespace Vmi.Hypervisors.Events;

/// <summary>
/// Everything a hypervisor backend counts: each kind has one cost in a cost profile
/// (../shared/docs/cost-profiles.md lists the figures and their sources). A kind is charged once per
/// occurrence, except <see cref="TranslatedInstruction"/> (per guest instruction translated) and
/// <see cref="NestedWalkReference"/> (per memory reference of a two-dimensional walk).
/// </summary>
public enum EventKind
{
    /// <summary>bt: a privileged instruction of the ring-1 kernel trapped (#GP) and was emulated.</summary>
    TrapAndEmulate,

    /// <summary>bt: a non-trapping sensitive instruction (popf, pushf, sgdt, mov from a segment register…) handled in translated code.</summary>
    TranslatedSensitive,

    /// <summary>bt: one guest kernel instruction translated into the translation cache.</summary>
    TranslatedInstruction,

    /// <summary>bt: an exception or interrupt the monitor received and reflected into the guest kernel.</summary>
    InterruptReflection,

    /// <summary>A hypercall by software interrupt (bt: INT 0x82 into the monitor).</summary>
    Hypercall,

    /// <summary>vt, vt-npt: a hypercall by VMCALL/VMMCALL, a VM exit.</summary>
    ExitHypercall,

    /// <summary>vt, vt-npt: VM exits by reason.</summary>
    ExitCpuid,
    ExitIo,
    ExitHlt,
    ExitCrAccess,
    ExitInvlpg,
    ExitPageFault,
    ExitMsr,

    /// <summary>vt, vt-npt: an external interrupt exit and the injection of the interrupt on the next entry.</summary>
    InterruptInjection,

    /// <summary>Shadow paging: a page fault the guest never sees (shadow entry filled, accessed/dirty bit set).</summary>
    HiddenPageFault,

    /// <summary>Shadow paging: a fault the guest's own tables cause, delivered to the guest.</summary>
    TrueGuestPageFault,

    /// <summary>Shadow paging: a guest store to a write-protected guest page-table page, emulated and traced into the shadow.</summary>
    TracingFault,

    /// <summary>Shadow paging: the guest loaded CR3 and the hypervisor switched shadow roots.</summary>
    ShadowCr3Switch,

    /// <summary>A TLB miss resolved by a one-dimensional walk (native or shadow tables).</summary>
    TlbMiss,

    /// <summary>vt-npt: a TLB miss resolved by a two-dimensional walk (guest tables through nested tables).</summary>
    NestedTlbMiss,

    /// <summary>vt-npt: one memory reference of a two-dimensional walk (charged per reference, counted per level).</summary>
    NestedWalkReference,

    /// <summary>
    /// A page-table update the kernel queued in the shared page in lazy-MMU mode, applied by the
    /// hypervisor when the queue is flushed (validated, written, followed by the shadow); the flush
    /// itself is one hypercall.
    /// </summary>
    QueuedPageTableUpdate,
}
