using Vmi.Hypervisors.Events;

namespace Vmi.Hypervisors.Costs;

/// <summary>One line of a profile's cost table, for display (the CLI formats it; this is only data).</summary>
public sealed record CostRow(EventKind Kind, long Cycles, string Source)
{
    public CostBasis Basis => EventCost.CostBasisOf(Source);
}
