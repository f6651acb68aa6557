namespace Vmi.Cpu;

/// <summary>The kind of access a translation is asked for.</summary>
public enum PageAccess : byte
{
    Read,
    Write,
    Execute,
}

/// <summary>
/// What a backend's translation answers for one linear page: a physical frame with the rights the
/// TLB may grant, or a page fault for the guest (with its error code; CR2 is written only if the
/// fault is delivered).
/// </summary>
public readonly struct PageTranslation
{
    private PageTranslation(uint frame, bool writable, bool user, bool global, bool fault, uint errorCode, bool supervisorWritable)
    {
        Frame = frame;
        Writable = writable;
        SupervisorWritable = supervisorWritable;
        User = user;
        Global = global;
        IsFault = fault;
        ErrorCode = errorCode;
    }

    /// <summary>Physical address of the 4 KiB frame (low 12 bits zero).</summary>
    public uint Frame { get; }

    /// <summary>Writes may use the TLB entry (leave it false until the guest's dirty bit is set).</summary>
    public bool Writable { get; }

    /// <summary>CPL 0–2 may write (true with <see cref="Writable"/>; also for a read-only page when the guest's CR0.WP is clear).</summary>
    public bool SupervisorWritable { get; }

    /// <summary>CPL 3 may use the entry.</summary>
    public bool User { get; }

    /// <summary>The entry survives CR3 loads when CR4.PGE is set.</summary>
    public bool Global { get; }

    public bool IsFault { get; }

    /// <summary>#PF error code: bit 0 present, bit 1 write, bit 2 user.</summary>
    public uint ErrorCode { get; }

    public static PageTranslation Map(uint frame, bool writable, bool user, bool global = false, bool? supervisorWritable = null) =>
        new(frame & 0xFFFF_F000, writable, user, global, false, 0, supervisorWritable ?? writable);

    public static PageTranslation PageFault(uint errorCode) => new(0, false, false, false, true, errorCode, false);
}

/// <summary>
/// A page translation a hypervisor owns (shadow page tables, a nested two-stage walk). When
/// <see cref="Cpu.Paging"/> is set, the CPU asks it on every TLB miss, whether or not the guest
/// has enabled paging (a shadow-paging monitor runs an unpaged guest on identity tables); the
/// CPU's own walker is not used. The CPU checks the answer's rights against the access and caches
/// it in its TLB until INVLPG, a CR3 load or <see cref="Cpu.FlushTlbAll"/>.
/// </summary>
public interface IPageTranslation
{
    PageTranslation Translate(Cpu cpu, uint linear, PageAccess access, bool user);

    /// <summary>A debugger's or a diagnostic's look: no side effects, no events.</summary>
    bool TryTranslateNoSideEffects(Cpu cpu, uint linear, out uint physical);
}

/// <summary>One guest store into a watched physical page (<see cref="Cpu.WatchPage"/>).</summary>
public readonly struct WatchedStore
{
    public WatchedStore(uint physicalAddress, int size, uint oldValue, uint newValue, uint eip, int cpl)
    {
        PhysicalAddress = physicalAddress;
        Size = size;
        OldValue = oldValue;
        NewValue = newValue;
        Eip = eip;
        Cpl = cpl;
    }

    public uint PhysicalAddress { get; }

    /// <summary>1, 2 or 4 bytes. A store that crosses into another page is two events, one per page.</summary>
    public int Size { get; }

    public uint OldValue { get; }

    public uint NewValue { get; }

    /// <summary>The storing instruction's EIP (offset in CS), or of the interrupted one during event delivery.</summary>
    public uint Eip { get; }

    public int Cpl { get; }
}

/// <summary>Told of a guest store into a watched page before it lands; false vetoes it (the store is dropped and the instruction still completes).</summary>
public delegate bool StoreWatchHandler(in WatchedStore store);
