namespace Vmi.Hypervisors.Costs;

/// <summary>
/// How a number in a profile was obtained, read from its source string's prefix, so a report can
/// show at a glance which numbers are measurements and which are ours.
/// </summary>
public enum CostBasis
{
    /// <summary>The source cites the figure itself (no "derived:" or "estimate:" prefix).</summary>
    Published,

    /// <summary>"derived: …": arithmetic on published figures, the arithmetic spelled out.</summary>
    Derived,

    /// <summary>"estimate: …": rests on a judgement the published figures do not settle.</summary>
    Estimate,
}
