using System.Globalization;
using Spectre.Console;

namespace Vmi.Cli.Commands.Bench;

/// <summary>
/// The headline table of a group, for the terminal and for bench.md: a row per workload, native's
/// modelled cycles per iteration with vmi=off, then every other backend × mode as a multiple of it.
/// </summary>
internal static class BenchTable
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public const string Legend = "off: booted with vmi=off, the kernel ignores the ROM (mapped all the same); rom: the kernel patched its sites from the backend's ROM";

    public static string Title(BenchResults r, BenchGroup g) =>
        $"modelled cycles per iteration relative to native vmi=off ({g.Title}, iters={r.Matrix.Iters})";

    public static string[] Header(BenchResults r) =>
        [.. r.Matrix.Columns.Skip(1).Select(c => $"{c.Backend} {c.Mode.Label()}").Prepend("native off (cycles)").Prepend("workload")];

    public static IEnumerable<string[]> Rows(BenchResults r, BenchGroup g) =>
        r.Matrix.Workloads.Select(w => r.Matrix.Columns.Select((c, i) => Cell(r, r.Of(g, w, c.Backend, c.Mode), absolute: i == 0)).Prepend(w).ToArray());

    /// <summary>Native's own figure in cycles, the others as "19.3×"; "skipped" or "failed" instead of a number that is not one.</summary>
    private static string Cell(BenchResults r, CellResult c, bool absolute)
    {
        string status = r.StatusOf(c.Cell);
        if (status != "ok")
        {
            return status;
        }
        if (absolute)
        {
            return c.Figures!.PerIteration(c.Figures.ModelledCycles).ToString("N0", Inv);
        }
        return r.Ratio(c) is double ratio ? Times(ratio) : "-";
    }

    /// <summary>Three significant digits or the whole number: 0.97×, 19.3×, 1759×.</summary>
    public static string Times(double ratio) =>
        ratio.ToString(ratio >= 100 ? "F0" : ratio >= 10 ? "F1" : "F2", Inv) + "×";

    public static void Write(IAnsiConsole console, BenchResults r)
    {
        foreach (BenchGroup g in r.Matrix.Groups)
        {
            var table = new Table { Title = new TableTitle(Title(r, g)) };
            string[] header = Header(r);
            table.AddColumn(TableConsole.Label(header[0]));
            foreach (string column in header.Skip(1))
            {
                table.AddColumn(TableConsole.Number(column));
            }
            foreach (string[] row in Rows(r, g))
            {
                table.AddTextRow(row);
            }
            console.Write(table);
        }
        console.Write(new Text(Legend + "\n"));
    }

    /// <summary>bench.md: a section and a table per group, then what was skipped and what failed.</summary>
    public static string Markdown(BenchResults r)
    {
        var md = new System.Text.StringBuilder();
        md.Append("# vmi bench\n\n");
        md.Append($"Kernel `{Path.GetFileName(r.Matrix.Kernel)}`; each cell runs its workload with {r.Matrix.Iters} and {2 * r.Matrix.Iters} iterations ");
        md.Append("and takes the difference, so boot, printing and exit cancel. Modelled cycles per iteration, relative to native with vmi=off. ");
        md.Append(Legend).Append(".\n");
        foreach (BenchGroup g in r.Matrix.Groups)
        {
            md.Append($"\n## {g.Title}\n\n");
            string[] header = Header(r);
            md.Append("| ").Append(string.Join(" | ", header)).Append(" |\n");
            md.Append("|---").Append(string.Concat(header.Skip(1).Select(_ => "|---:"))).Append("|\n");
            foreach (string[] row in Rows(r, g))
            {
                md.Append("| ").Append(string.Join(" | ", row)).Append(" |\n");
            }
        }
        List<string> notes = [.. r.Matrix.SkipNotes()];
        List<string> problems = [.. r.Problems];
        if (notes.Count > 0)
        {
            md.Append("\n## Skipped\n\n").Append(string.Concat(notes.Select(n => $"- {n}\n")));
        }
        if (problems.Count > 0)
        {
            md.Append("\n## Failed checks\n\n").Append(string.Concat(problems.Select(p => $"- {p}\n")));
        }
        return md.ToString();
    }
}
