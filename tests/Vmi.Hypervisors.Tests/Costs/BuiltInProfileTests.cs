using Vmi.Hypervisors.Costs;
using Vmi.Hypervisors.Events;

namespace Vmi.Hypervisors.Tests.Costs;

public class BuiltInProfileTests
{
    public static TheoryData<string> Names => [.. CostProfiles.BuiltInNames];

    [Fact]
    public void The_built_ins_are_the_three_documented_profiles()
    {
        Assert.Equal(["p4-2006", "core2-2008", "modern"], CostProfiles.BuiltInNames);
        Assert.Same(CostProfiles.Load("p4-2006"), CostProfiles.Default);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Loads_by_name_with_its_own_name(string name)
    {
        CostProfile profile = CostProfiles.Load(name);

        Assert.Equal(name, profile.Name);
        Assert.False(string.IsNullOrWhiteSpace(profile.Description));
        Assert.True(profile.ClockHz > 0);
        Assert.True(profile.CpiMilli > 0);
        Assert.False(string.IsNullOrWhiteSpace(profile.ClockSource));
        Assert.False(string.IsNullOrWhiteSpace(profile.CpiSource));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Has_a_cost_and_a_source_for_every_event_kind(string name)
    {
        CostProfile profile = CostProfiles.Load(name);

        foreach (EventKind kind in Enum.GetValues<EventKind>())
        {
            Assert.True(profile.CostOf(kind) >= 0, $"{name}: {kind}");
            Assert.False(string.IsNullOrWhiteSpace(profile.SourceOf(kind)), $"{name}: {kind} has no source");
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Every_cost_cites_the_figures_it_rests_on(string name)
    {
        CostProfile profile = CostProfiles.Load(name);
        string[] citations = ["Adams & Agesen 2006", "Linux kernel mailing list", "xen.git"];

        // Even a derived number or an estimate names the published figures it starts from.
        Assert.All(profile.Table(), r => Assert.True(citations.Any(r.Source.Contains), $"{name}: {r.Kind}: '{r.Source}' cites nothing"));

        // A clock or CPI the document does not give is an assumption, and must say so.
        foreach (string source in new[] { profile.ClockSource, profile.CpiSource })
        {
            Assert.True(citations.Any(source.Contains) || source.StartsWith("estimate:", StringComparison.Ordinal), $"{name}: '{source}'");
        }
    }

    [Fact]
    public void Names_resolve_case_insensitively() => Assert.Same(CostProfiles.Load("core2-2008"), CostProfiles.Load("CORE2-2008"));

    [Fact]
    public void The_table_lists_every_kind_in_enum_order()
    {
        IReadOnlyList<CostRow> rows = CostProfiles.Default.Table();

        Assert.Equal(Enum.GetValues<EventKind>(), rows.Select(r => r.Kind));
        Assert.All(rows, r => Assert.Equal(CostProfiles.Default.CostOf(r.Kind), r.Cycles));
        Assert.Equal(CostBasis.Published, rows.Single(r => r.Kind == EventKind.TrapAndEmulate).Basis);
        Assert.Equal(CostBasis.Derived, rows.Single(r => r.Kind == EventKind.ExitCpuid).Basis);
        Assert.Equal(CostBasis.Estimate, rows.Single(r => r.Kind == EventKind.TlbMiss).Basis);
    }
}
