using System.Globalization;
using System.Text;
using Vmi.Hypervisors.Events;

namespace Vmi.Cli.Commands.Bench;

/// <summary>
/// bench.csv: a header and one line per cell, per-iteration figures with every event kind as a
/// column (so every file has the same columns), numbers in invariant culture, empty when skipped.
/// </summary>
internal static class BenchCsv
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Write(BenchResults r)
    {
        EventKind[] kinds = Enum.GetValues<EventKind>();
        var csv = new StringBuilder();
        string[] header =
        [
            "cost_profile", "cpu_model", "backend", "mode", "workload", "status", "iters",
            "instructions_per_iter", "modelled_cycles_per_iter", "event_cycles_per_iter", "ratio_to_native_off", "rom",
            .. kinds.Select(k => $"events_per_iter_{k}"),
            "note",
        ];
        csv.Append(string.Join(',', header)).Append('\n');
        foreach (CellResult c in r.Cells)
        {
            BenchCell cell = c.Cell;
            var f = c.Figures;
            string[] fields =
            [
                cell.Group.Profile.Name, cell.Choice?.Model.Name ?? cell.Group.Cpu?.Name ?? "", cell.Backend, cell.Mode.Label(), cell.Workload, r.StatusOf(cell),
                r.Matrix.Iters.ToString(Inv),
                Number(f?.PerIteration(f.Instructions)), Number(f?.PerIteration(f.ModelledCycles)), Number(f?.PerIteration(f.EventCycles)), Number(r.Ratio(c)),
                cell.Rom?.Id ?? "",
                .. kinds.Select(k => Number(f?.PerIteration(f.EventCount(k)))),
                cell.Skipped ?? string.Join("; ", r.ProblemsOf(cell)),
            ];
            csv.Append(string.Join(',', fields.Select(Quote))).Append('\n');
        }
        return csv.ToString();
    }

    private static string Number(double? value) => value?.ToString("R", Inv) ?? "";

    /// <summary>RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.</summary>
    private static string Quote(string field) =>
        field.IndexOfAny([',', '"', '\n', '\r']) < 0 ? field : $"\"{field.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
}
