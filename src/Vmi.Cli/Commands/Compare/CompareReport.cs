using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using Vmi.Cli.Commands.Workloads;
using Vmi.Hypervisors.Events;

namespace Vmi.Cli.Commands.Compare;

/// <summary>
/// What `vmi compare` shows: modelled cycles per iteration by workload and backend with the ratio
/// to native, then for each workload the event kinds that cost the most, per iteration; and the
/// same numbers (and the whole-run ones) as JSON. Nothing here depends on the host.
/// </summary>
internal static class CompareReport
{
    /// <summary>How many of a backend's most expensive event kinds a workload's table shows (their union over the backends).</summary>
    private const int DominantKinds = 3;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void WriteTables(IAnsiConsole console, Comparison c)
    {
        var cycles = new Table
        {
            Title = new TableTitle($"modelled cycles per iteration ({c.Profile.Name}, iters={c.Iters})"),
        };
        cycles.AddColumn(TableConsole.Label("workload"));
        foreach (string backend in c.Backends)
        {
            cycles.AddColumn(TableConsole.Number(backend));
            if (c.HasNative && backend != Comparison.Native)
            {
                cycles.AddColumn(TableConsole.Number("x native"));
            }
        }
        foreach (string workload in c.Workloads)
        {
            var row = new List<string> { workload };
            foreach (string backend in c.Backends)
            {
                WorkloadFigures f = c.Figures(workload, backend);
                row.Add(f.PerIteration(f.ModelledCycles).ToString("N0", Inv));
                if (c.HasNative && backend != Comparison.Native)
                {
                    row.Add(c.RatioToNative(workload, backend) is double ratio ? ratio.ToString("F2", Inv) : "-");
                }
            }
            cycles.AddTextRow([.. row]);
        }
        console.Write(cycles);

        foreach (string workload in c.Workloads)
        {
            console.WriteLine();
            console.Write(EventsTable(c, workload));
        }
    }

    /// <summary>A workload's guest instructions and dominant event kinds per iteration, one column per backend.</summary>
    private static Table EventsTable(Comparison c, string workload)
    {
        Dictionary<string, WorkloadFigures> figures = c.Backends.ToDictionary(b => b, b => c.Figures(workload, b));
        long CyclesOf(WorkloadFigures f, EventKind k) => f.EventCount(k) * c.Profile.CostOf(k);
        List<EventKind> kinds = [.. figures.Values
            .SelectMany(f => f.Events.Keys.Where(k => CyclesOf(f, k) > 0).OrderByDescending(k => CyclesOf(f, k)).ThenBy(k => k).Take(DominantKinds))
            .Distinct()
            .OrderByDescending(k => figures.Values.Max(f => CyclesOf(f, k)))
            .ThenBy(k => k)];

        var table = new Table { Title = new TableTitle($"{workload}: dominant events per iteration") };
        table.AddColumn(TableConsole.Label("per iteration"));
        foreach (string backend in c.Backends)
        {
            table.AddColumn(TableConsole.Number(backend));
        }
        table.AddTextRow([.. c.Backends.Select(b => figures[b].PerIteration(figures[b].Instructions).ToString("N1", Inv)).Prepend("guest instructions")]);
        foreach (EventKind kind in kinds)
        {
            table.AddTextRow([.. c.Backends.Select(b => Count(figures[b].PerIteration(figures[b].EventCount(kind)))).Prepend(kind.ToString())]);
        }
        return table;
    }

    /// <summary>Three decimals, so that an event once in 1000 iterations still shows (0.001); "-" for none.</summary>
    private static string Count(double perIteration) => perIteration == 0 ? "-" : perIteration.ToString("N3", Inv);

    public static string Json(Comparison c)
    {
        var workloads = new JsonArray();
        foreach (string workload in c.Workloads)
        {
            var byBackend = new JsonObject();
            foreach (string backend in c.Backends)
            {
                WorkloadFigures f = c.Figures(workload, backend);
                JsonObject figures = Totals(f.Instructions, f.ModelledCycles, f.EventCycles, f.Events);
                figures["perIteration"] = new JsonObject
                {
                    ["instructions"] = f.PerIteration(f.Instructions),
                    ["modelledCycles"] = f.PerIteration(f.ModelledCycles),
                    ["eventCycles"] = f.PerIteration(f.EventCycles),
                    ["events"] = Events(f.Events, n => f.PerIteration(n)),
                };
                figures["ratioToNative"] = c.RatioToNative(workload, backend);
                byBackend[backend] = figures;
            }
            workloads.Add(new JsonObject
            {
                ["name"] = workload,
                ["results"] = new JsonArray([.. c.Run(workload, c.Backends[0]).Results.Select(r => (JsonNode?)r)]),
                ["backends"] = byBackend,
            });
        }
        var doc = new JsonObject
        {
            ["kernel"] = c.Kernel,
            ["iters"] = c.Iters,
            ["costProfile"] = c.Profile.Name,
            ["append"] = c.Append,
            ["backends"] = new JsonArray([.. c.Backends.Select(b => (JsonNode?)b)]),
            ["cpuModels"] = new JsonObject(c.Backends.Select(b => KeyValuePair.Create(b, (JsonNode?)c.Run(c.Workloads[0], b).CpuModel))),
            ["method"] = "per N iterations: the run with 2N iterations less the run with N",
            ["workloads"] = workloads,
        };
        return doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static JsonObject Totals(long instructions, long modelled, long eventCycles, IReadOnlyDictionary<EventKind, long> events) => new()
    {
        ["instructions"] = instructions,
        ["modelledCycles"] = modelled,
        ["eventCycles"] = eventCycles,
        ["events"] = Events(events, n => n),
    };

    private static JsonObject Events<T>(IReadOnlyDictionary<EventKind, long> events, Func<long, T> value) =>
        new(events.OrderBy(e => e.Key).Select(e => KeyValuePair.Create(e.Key.ToString(), (JsonNode?)JsonValue.Create(value(e.Value)))));
}
