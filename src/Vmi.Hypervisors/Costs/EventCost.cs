namespace Vmi.Hypervisors.Costs;

/// <summary>The price of one event kind in a profile: whole cycles, and where that number comes from.</summary>
/// <param name="Cycles">Cycles charged per occurrence (never negative).</param>
/// <param name="Source">A citation of the published figure, or "derived: …" / "estimate: …" saying how it was obtained.</param>
public readonly record struct EventCost(long Cycles, string Source)
{
    /// <summary>Whether <see cref="Source"/> cites a figure, derives one, or estimates one.</summary>
    public CostBasis Basis => CostBasisOf(Source);

    internal static CostBasis CostBasisOf(string source) =>
        source.StartsWith("derived:", StringComparison.OrdinalIgnoreCase) ? CostBasis.Derived
        : source.StartsWith("estimate:", StringComparison.OrdinalIgnoreCase) ? CostBasis.Estimate
        : CostBasis.Published;
}
