using System.Text.Json.Nodes;
using Vmi.Hypervisors;
using Vmi.Hypervisors.Events;
using Vmi.Hypervisors.NestedPaging;

namespace Vmi.Cli.Commands;

/// <summary>What `vmi run --json` adds when a backend was attached: its events, priced, and the modelled cycles.</summary>
internal static class HypervisorJson
{
    public static void AddTo(JsonObject summary, Hypervisor hypervisor, long instructions)
    {
        summary["hypervisor"] = hypervisor.Name;
        summary["costProfile"] = hypervisor.Profile.Name;
        var events = new JsonObject();
        foreach ((EventKind kind, long count) in hypervisor.Events.Counts)
        {
            events[kind.ToString()] = new JsonObject { ["count"] = count, ["cycles"] = count * hypervisor.Profile.CostOf(kind) };
        }
        summary["events"] = events;
        var byDetail = new JsonObject();
        foreach (var group in hypervisor.Events.CountsByDetail.GroupBy(d => d.Key.Kind).OrderBy(g => g.Key))
        {
            var details = new JsonObject();
            foreach (var d in group.OrderBy(d => d.Key.Detail, StringComparer.Ordinal))
            {
                details[d.Key.Detail] = d.Value;
            }
            byDetail[group.Key.ToString()] = details;
        }
        summary["eventsByDetail"] = byDetail;
        long modelled = hypervisor.ModelledCycles(instructions);
        summary["modelledCycles"] = modelled;
        summary["eventCycles"] = hypervisor.EventCycles;
        summary["modelledGuestSeconds"] = (double)modelled / hypervisor.Profile.ClockHz;
        if (hypervisor is VtNptHypervisor npt)
        {
            summary["walkReferencesByLevel"] = new JsonArray([.. npt.WalkReferencesByLevel.Select(n => (JsonNode?)n)]);
        }
    }
}
