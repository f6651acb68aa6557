namespace Vmi.Guest.Image;

/// <summary>Splits executable sections into <see cref="CodeRegion"/>s by their symbols and finds the region of an address.</summary>
internal static class CodeMap
{
    /// <summary>
    /// The regions of <paramref name="section"/>, in address order. A sized function covers its size
    /// (labels inside it are local labels, not regions); an unsized symbol runs to the next symbol or
    /// the section's end; bytes before the first symbol and between a sized function's end and the
    /// next symbol are padding or data and belong to no region. A section with no symbol at all is
    /// one nameless region (a stripped kernel is still decoded, linearly).
    /// </summary>
    public static List<CodeRegion> Build(CodeSection section, IEnumerable<CodeSymbol> symbols)
    {
        var groups = symbols
            .Where(s => s.Address >= section.Address && s.Address < section.End)
            .GroupBy(s => s.Address)
            .OrderBy(g => g.Key)
            .Select(g => g.OrderByDescending(s => s.IsFunction && s.Size > 0)
                .ThenByDescending(s => s.IsFunction)
                .ThenByDescending(s => s.IsGlobal)
                .ThenBy(s => s.Name.StartsWith('_'))
                .ThenBy(s => s.Name, StringComparer.Ordinal)
                .ToList())
            .ToList();
        var regions = new List<CodeRegion>();
        if (groups.Count == 0)
        {
            regions.Add(new CodeRegion(section, section.Address, (uint)Math.Min(section.End, uint.MaxValue), null, []));
            return regions;
        }
        ulong coveredUntil = 0;
        for (int i = 0; i < groups.Count; i++)
        {
            CodeSymbol best = groups[i][0];
            if (best.Address < coveredUntil)
            {
                continue;
            }
            ulong next = i + 1 < groups.Count ? groups[i + 1][0].Address : section.End;
            ulong end = best.IsFunction && best.Size > 0 ? Math.Min(best.Address + (ulong)best.Size, section.End) : next;
            coveredUntil = end;
            string[] aliases = groups[i].Select(s => s.Name).Distinct(StringComparer.Ordinal).ToArray();
            regions.Add(new CodeRegion(section, best.Address, (uint)Math.Min(end, uint.MaxValue), best.Name, aliases));
        }
        return regions;
    }

    /// <summary>The region holding <paramref name="address"/> in <paramref name="sorted"/> (regions in address order, not overlapping).</summary>
    public static CodeRegion? Find(IReadOnlyList<CodeRegion> sorted, uint address)
    {
        int lo = 0, hi = sorted.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            CodeRegion r = sorted[mid];
            if (address < r.Start)
            {
                hi = mid - 1;
            }
            else if (address >= r.End)
            {
                lo = mid + 1;
            }
            else
            {
                return r;
            }
        }
        return null;
    }
}
