namespace Vmi.Abi;

/// <summary>Argument values the ABI fixes for particular calls.</summary>
public static class CallArguments
{
    /// <summary>The interrupt-mask value meaning "enabled" (EFLAGS.IF), as Get/SetInterruptMask use it.</summary>
    public const uint InterruptsEnabled = 0x200;

    /// <summary>FlushTLB argument: flush non-global entries.</summary>
    public const uint FlushTlbNonGlobal = 1;

    /// <summary>FlushTLB argument: flush global entries too (passed as 1|2).</summary>
    public const uint FlushTlbGlobal = 2;

    /// <summary>Reboot argument: soft reboot.</summary>
    public const uint RebootSoft = 0;

    /// <summary>Reboot argument: hard reboot.</summary>
    public const uint RebootHard = 1;
}

/// <summary>The flags argument of SetPxE/UpdatePxE (and the level of AllocatePage/ReleasePage).</summary>
[Flags]
public enum PxEFlags : uint
{
    None = 0,
    Pt = 0x01,
    Pd = 0x02,
    Pdp = 0x04,
    Pml4 = 0x08,

    /// <summary>The update is to the running address space; bits 31..12 of the flags hold the virtual address.</summary>
    CurrentAs = 0x10,

    /// <summary>The hypervisor may queue the update until the next TLB flush.</summary>
    Defer = 0x20,
}

/// <summary>The flags argument of AllocatePage, beside the level bits of <see cref="PxEFlags"/>.</summary>
[Flags]
public enum AllocatePageFlags : uint
{
    None = 0,
    Clone = 0x20,
    Zeroed = 0x40,
}

/// <summary>The SetLazyMode argument; leaving a lazy mode flushes what was queued.</summary>
public enum LazyMode : uint
{
    Off = 0,
    Mmu = 1,
    Cpu = 2,
}
