using System.Runtime.CompilerServices;

namespace Vmi.Cpu;

/// <summary>
/// The software TLB: one entry per 4 KiB virtual page (v86's flat layout, no tag compare). An entry
/// holds the physical frame and which accesses may take the fast path. Entries are only created
/// for pages wholly inside RAM, so a fast-path access can never leave the RAM block. Like a real
/// TLB it is a cache: entries stay until INVLPG, a CR3 load or a paging-mode change removes them.
/// </summary>
public sealed unsafe partial class Cpu
{
    internal const int TlbEntries = 1 << 20;
    internal const uint TlbReadSuper = 1 << 0, TlbReadUser = 1 << 1, TlbWriteSuper = 1 << 2, TlbWriteUser = 1 << 3;
    internal const uint TlbGlobal = 1 << 4, TlbValid = 1 << 5;
    private const int TlbFillListCapacity = 1 << 14;

    internal readonly uint* tlb;
    private readonly int[] tlbFilled;
    private int tlbFilledCount;
    private bool tlbFillOverflow;
    internal uint tlbReadMask = TlbReadSuper, tlbWriteMask = TlbWriteSuper;

    private void TlbFill(uint page, uint entry)
    {
        if (dataBreakpoints != 0 && IsDataBreakpointPage(page))
        {
            return; // every access to it must reach the slow path, which checks the breakpoint
        }
        if (tlb[page] == 0)
        {
            if (tlbFilledCount < tlbFilled.Length)
            {
                tlbFilled[tlbFilledCount++] = (int)page;
            }
            else
            {
                tlbFillOverflow = true;
            }
        }
        tlb[page] = entry | TlbValid;
    }

    public void FlushTlbAll() => FlushTlb(keepGlobal: false);

    /// <summary>CR3 load: global entries survive when CR4.PGE is set.</summary>
    public void FlushTlb(bool keepGlobal)
    {
        keepGlobal &= (Cr4Value & Cr4Bits.PGE) != 0;
        if (tlbFillOverflow)
        {
            for (int p = 0; p < TlbEntries; p++)
            {
                if (!keepGlobal || (tlb[p] & TlbGlobal) == 0)
                {
                    tlb[p] = 0;
                }
            }
            tlbFillOverflow = false;
            tlbFilledCount = 0;
            if (keepGlobal)
            {
                for (int p = 0; p < TlbEntries && tlbFilledCount < tlbFilled.Length; p++)
                {
                    if (tlb[p] != 0)
                    {
                        tlbFilled[tlbFilledCount++] = p;
                    }
                }
            }
            return;
        }
        int kept = 0;
        for (int i = 0; i < tlbFilledCount; i++)
        {
            int p = tlbFilled[i];
            if (keepGlobal && (tlb[p] & TlbGlobal) != 0)
            {
                tlbFilled[kept++] = p;
            }
            else
            {
                tlb[p] = 0;
            }
        }
        tlbFilledCount = kept;
    }

    /// <summary>4 MiB regions whose entries came from a large page (the TLB holds them as 1024 small entries).</summary>
    private readonly bool[] largePageRegions = new bool[1024];

    internal void NoteLargePageFill(uint linear) => largePageRegions[linear >> 22] = true;

    /// <summary>
    /// INVLPG: drops the entry for one page, global or not. For an address inside a 4 MiB page the
    /// whole large-page translation goes, as on hardware, so all 1024 small entries it was cached as.
    /// </summary>
    public void InvalidatePage(uint linear)
    {
        tlb[linear >> 12] = 0;
        if (largePageRegions[linear >> 22])
        {
            largePageRegions[linear >> 22] = false;
            uint first = linear >> 22 << 10;
            for (uint p = first; p < first + 1024; p++)
            {
                tlb[p] = 0;
            }
        }
    }

    /// <summary>True if the TLB holds a translation for the page of <paramref name="linear"/> (tests, debugging).</summary>
    public bool TlbHasEntry(uint linear) => tlb[linear >> 12] != 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool SameFastPage(uint linear, int size) => (linear & 0xFFF) <= 0x1000 - (uint)size;
}
