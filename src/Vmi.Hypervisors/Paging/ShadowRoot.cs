namespace Vmi.Hypervisors.Paging;

/// <summary>
/// The shadow of one guest page directory: per directory index, a shadow page table (host memory,
/// never guest RAM) whose entries the monitor filled from the guest's tables, and which guest
/// page-table page it was derived from.
/// </summary>
internal sealed class ShadowRoot(uint guestDirectoryPage)
{
    public uint GuestDirectoryPage { get; } = guestDirectoryPage;

    public uint[]?[] Tables { get; } = new uint[]?[1024];

    /// <summary>The guest page-table page each shadow table came from (uint.MaxValue: a 4 MiB guest page, no table).</summary>
    public uint[] SourcePages { get; } = new uint[1024];

    public long LastUse { get; set; }
}
