using System.Text.Json;
using System.Text.Json.Nodes;
using Vmi.Cli.Commands.Workloads;
using Vmi.Hypervisors.Events;

namespace Vmi.Cli.Commands.Bench;

/// <summary>
/// bench.json: every cell with both runs, the figures over N iterations and per iteration, its
/// ratio, its CPU model and its ROM; the ROMs themselves (every call's relocation type) once each.
/// Nothing in it depends on the host or on the order runs finished in, so the same command writes
/// the same bytes.
/// </summary>
internal static class BenchJson
{
    public static string Write(BenchResults r)
    {
        BenchMatrix m = r.Matrix;
        var doc = new JsonObject
        {
            ["kernel"] = m.Kernel,
            ["iters"] = m.Iters,
            ["method"] = "per N iterations: the run with 2N iterations less the run with N; ratios to native with vmi=off in the same cost profile and CPU choice",
            ["modes"] = new JsonObject
            {
                ["off"] = "kernel vmi=off quiet bench=W iters=N: the kernel ignores the ROM (mapped all the same) and keeps its sites native",
                ["rom"] = "kernel quiet bench=W iters=N: the kernel patches its sites from the ROM's answers",
            },
            ["costProfiles"] = Array(m.Groups.Select(g => g.Profile.Name).Distinct()),
            ["cpu"] = Array(m.Groups.Select(g => g.CpuLabel).Distinct()),
            ["backends"] = Array(m.Backends),
            ["workloads"] = Array(m.Workloads),
            ["ok"] = !r.Problems.Any(),
            ["problems"] = Array(r.Problems),
            ["skipped"] = Array(m.SkipNotes()),
            ["roms"] = new JsonObject(m.Roms.Select(rom => KeyValuePair.Create(rom.Id, (JsonNode?)Rom(rom)))),
            ["cells"] = new JsonArray([.. r.Cells.Select(c => (JsonNode?)Cell(r, c))]),
        };
        // Relaxed escaping: the file is read by people and by JSON parsers, not embedded in HTML.
        return doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    }

    private static JsonObject Rom(PublishedRom rom) => new()
    {
        ["profile"] = rom.Rom.Profile,
        ["product"] = rom.Product,
        ["bytes"] = rom.Image.Length,
        ["sha256"] = rom.Sha256,
        ["types"] = TypeCounts(rom),
        ["calls"] = new JsonObject(rom.Calls().Select(c => KeyValuePair.Create(c.Call, (JsonNode?)c.Type))),
    };

    private static JsonObject TypeCounts(PublishedRom rom) => new(rom.TypeCounts().Select(t => KeyValuePair.Create(t.Type, (JsonNode?)t.Calls)));

    private static JsonObject Cell(BenchResults r, CellResult c)
    {
        BenchCell cell = c.Cell;
        var o = new JsonObject
        {
            ["costProfile"] = cell.Group.Profile.Name,
            ["cpuModel"] = cell.Choice?.Model.Name ?? cell.Group.Cpu?.Name,
            ["backend"] = cell.Backend,
            ["mode"] = cell.Mode.Label(),
            ["workload"] = cell.Workload,
            ["status"] = r.StatusOf(cell),
        };
        if (cell.Skipped is not null)
        {
            o["skipped"] = cell.Skipped;
            return o;
        }
        o["problems"] = Array(r.ProblemsOf(cell));
        // The call→type map is under "roms" by this id; the counts by type show the gist here.
        o["rom"] = new JsonObject { ["id"] = cell.Rom!.Id, ["profile"] = cell.Rom.Rom.Profile, ["types"] = TypeCounts(cell.Rom) };
        o["runs"] = new JsonArray(Run(c.Single!), Run(c.Doubled!));
        WorkloadFigures f = c.Figures!;
        o["instructions"] = f.Instructions;
        o["modelledCycles"] = f.ModelledCycles;
        o["eventCycles"] = f.EventCycles;
        o["events"] = Events(f.Events, n => n);
        o["perIteration"] = new JsonObject
        {
            ["instructions"] = f.PerIteration(f.Instructions),
            ["modelledCycles"] = f.PerIteration(f.ModelledCycles),
            ["eventCycles"] = f.PerIteration(f.EventCycles),
            ["events"] = Events(f.Events, f.PerIteration),
        };
        o["ratioToNativeOff"] = r.Ratio(c);
        return o;
    }

    private static JsonObject Run(BenchRun run) => new()
    {
        ["iters"] = run.Iters,
        ["commandLine"] = System.Text.Encoding.ASCII.GetString(run.Spec.CommandLine()),
        ["passed"] = run.Passed,
        ["end"] = RunCommand.Describe(run.Result),
        ["results"] = Array(run.Results),
        ["instructions"] = run.Instructions,
        ["modelledCycles"] = run.ModelledCycles,
        ["eventCycles"] = run.EventCycles,
        ["events"] = Events(run.Events, n => n),
    };

    private static JsonObject Events<T>(IReadOnlyDictionary<EventKind, long> events, Func<long, T> value) =>
        new(events.Where(e => e.Value != 0).OrderBy(e => e.Key).Select(e => KeyValuePair.Create(e.Key.ToString(), (JsonNode?)JsonValue.Create(value(e.Value)))));

    private static JsonArray Array(IEnumerable<string> items) => new([.. items.Select(i => (JsonNode?)i)]);
}
