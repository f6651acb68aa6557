namespace Vmi.Machine.Boot;

/// <summary>
/// Free guest RAM as the multiboot loader sees it: conventional memory above the BIOS data area
/// and extended memory up to the end of RAM, minus every range taken so far (the kernel's
/// segments first, then each structure the loader places). Placement is first fit, so the same
/// kernel and inputs always give the same layout.
/// </summary>
/// <remarks>
/// A range can also be <em>avoided</em> rather than taken: the kernel's whole span, gaps between
/// its segments included. Kernels commonly treat everything from their first byte to their last
/// (<c>_end</c>) as their own, and QEMU and GRUB place nothing inside it either, so the loader
/// uses those gaps only when no other room is left.
/// </remarks>
internal sealed class GuestRamAllocator
{
    private readonly (ulong Start, ulong End)[] _usable;
    private readonly List<(ulong Start, ulong End, string Name)> _taken = [];
    private readonly List<(ulong Start, ulong End)> _avoided = [];

    public GuestRamAllocator(uint ramBytes)
    {
        // Below 0x500 are the IVT and BIOS data area, which real-mode code expects intact; the
        // EBDA and everything from the VGA hole to 1 MiB are not free RAM.
        _usable = [(GuestLayout.BdaEnd, GuestLayout.LowRamEnd), (GuestLayout.HighMemoryStart, ramBytes)];
    }

    public void Take(ulong start, ulong end, string name) => _taken.Add((start, end, name));

    /// <summary>Keeps placements out of [<paramref name="start"/>, <paramref name="end"/>) while there is room elsewhere.</summary>
    public void Avoid(ulong start, ulong end) => _avoided.Add((start, end));

    /// <summary>
    /// Takes room for <paramref name="size"/> bytes at a multiple of <paramref name="alignment"/>
    /// (a power of two) and returns its address: the lowest free one at or above the first of
    /// <paramref name="preferredFrom"/> that has room, else the lowest anywhere; outside the
    /// avoided ranges if at all possible. Throws, naming what took the RAM, when nothing fits.
    /// </summary>
    public uint Place(ulong size, uint alignment, string name, params ulong[] preferredFrom)
    {
        foreach (bool avoid in new[] { true, false })
        {
            foreach (ulong from in preferredFrom.Append(0UL))
            {
                if (Find(size, alignment, from, avoid) is uint at)
                {
                    Take(at, at + size, name);
                    return at;
                }
            }
        }
        string usable = string.Join(" and ", _usable.Select(u => $"[0x{u.Start:X8}, 0x{u.End:X8})"));
        string taken = string.Join(", ", _taken.OrderBy(t => t.Start).Select(t => $"{t.Name} [0x{t.Start:X8}, 0x{t.End:X8})"));
        throw new BootImageException(
            $"no room in RAM for {name} (0x{size:X} bytes, {alignment}-byte aligned): free RAM {usable} is taken by {(taken.Length > 0 ? taken : "nothing")}");
    }

    /// <summary>
    /// Takes room for <paramref name="size"/> bytes at a multiple of <paramref name="alignment"/>,
    /// as high as possible with its end at or below <paramref name="limit"/> (the Linux initrd's
    /// rule: as high as the kernel allows, clear of everything taken). Avoided ranges count as taken.
    /// Throws, naming what took the RAM, when nothing fits.
    /// </summary>
    public uint PlaceHighest(ulong size, uint alignment, string name, ulong limit)
    {
        ulong span = Math.Max(size, 1);
        var blockers = _taken.Select(t => (t.Start, t.End)).Concat(_avoided).Where(b => b.Start < b.End).ToList();
        foreach (var (start, end) in _usable.OrderByDescending(u => u.End))
        {
            ulong top = Math.Min(end, limit);
            while (top >= start + span)
            {
                ulong at = AlignDown(top - span, alignment);
                if (at < start)
                {
                    break;
                }
                var hit = blockers.Where(b => at < b.End && b.Start < at + span).ToList();
                if (hit.Count == 0)
                {
                    Take(at, at + size, name);
                    return (uint)at;
                }
                top = hit.Min(b => b.Start);
            }
        }
        string taken = string.Join(", ", _taken.OrderBy(t => t.Start).Select(t => $"{t.Name} [0x{t.Start:X8}, 0x{t.End:X8})"));
        throw new BootImageException(
            $"no room in RAM below 0x{limit:X8} for {name} (0x{size:X} bytes, {alignment}-byte aligned): the rest is taken by {(taken.Length > 0 ? taken : "nothing")}");
    }

    private static ulong AlignDown(ulong value, uint alignment) => value & ~(ulong)(alignment - 1);

    private uint? Find(ulong size, uint alignment, ulong from, bool avoid)
    {
        // An empty block still needs an address that is not inside anything else.
        ulong span = Math.Max(size, 1);
        var blockers = _taken.Select(t => (t.Start, t.End)).Concat(avoid ? _avoided : []).ToList();
        foreach (var (start, end) in _usable)
        {
            ulong at = AlignUp(Math.Max(start, from), alignment);
            while (at + span <= end)
            {
                ulong? blockedUntil = null;
                foreach (var (bStart, bEnd) in blockers)
                {
                    // An empty range (an empty module) holds no byte, so it blocks nothing.
                    if (bStart < bEnd && at < bEnd && bStart < at + span)
                        blockedUntil = Math.Max(blockedUntil ?? 0, bEnd);
                }
                if (blockedUntil is not ulong next)
                    return (uint)at;
                at = AlignUp(next, alignment);
            }
        }
        return null;
    }

    private static ulong AlignUp(ulong value, uint alignment) => (value + alignment - 1) & ~(ulong)(alignment - 1);
}
