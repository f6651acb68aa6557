using ScottPlot;
using Vmi.Hypervisors;

namespace Vmi.Cli.Commands.Bench;

/// <summary>
/// bench.png: for each group, a grouped bar chart of modelled cycles per iteration relative to
/// native with vmi=off, a group of bars per workload and a bar per backend × mode, on a log scale
/// (ratios run from under 1 to thousands). ScottPlot has no log axis of its own: the bars are
/// log10 of the ratio with ticks labelled by the ratio. Several groups are stacked in one image.
/// </summary>
internal static class BenchChart
{
    public const int Width = 1600;
    public const int PanelHeight = 900;

    /// <summary>A panel's height when several are stacked: still readable, the image not too tall.</summary>
    private const int StackedPanelHeight = 700;

    /// <summary>A colour per backend (in catalog order); vmi=off is its lighter shade, the ROM mode the full colour.</summary>
    private static readonly Color[] BackendColors = [Color.FromHex("#6b6b6b"), Color.FromHex("#1f77b4"), Color.FromHex("#e4761b"), Color.FromHex("#2ca02c")];

    /// <summary>
    /// DejaVu Sans where it is installed (Debian's default fonts): ScottPlot's own choice of a sans
    /// font may be missing there, and SkiaSharp then falls back to a serif face.
    /// </summary>
    private static string SansFont =>
        SkiaSharp.SKFontManager.Default.FontFamilies.Contains("DejaVu Sans", StringComparer.Ordinal) ? "DejaVu Sans" : Fonts.Sans;

    /// <summary>Space between workload groups, in bar widths.</summary>
    private const double GroupGap = 2;

    public static byte[] Png(BenchResults r)
    {
        Plot[] panels = [.. r.Matrix.Groups.Select(g => Panel(r, g))];
        if (panels.Length == 1)
        {
            return panels[0].GetImageBytes(Width, PanelHeight, ImageFormat.Png);
        }
        var stack = new Multiplot(panels[0]);
        foreach (Plot panel in panels.Skip(1))
        {
            stack.AddPlot(panel);
        }
        using Image image = stack.Render(Width, StackedPanelHeight * panels.Length);
        return image.GetImageBytes(ImageFormat.Png, 100);
    }

    private static Plot Panel(BenchResults r, BenchGroup g)
    {
        BenchMatrix m = r.Matrix;
        var columns = m.Columns.ToArray();
        double[] ratios = [.. from w in m.Workloads from c in columns let ratio = r.Ratio(r.Of(g, w, c.Backend, c.Mode)) where ratio > 0 select ratio!.Value];
        double floor = NiceBelow(Math.Min(ratios.DefaultIfEmpty(1).Min(), 1) / 1.5);
        double top = NiceAbove(Math.Max(ratios.DefaultIfEmpty(1).Max(), 1) * 1.5);

        var plot = new Plot();
        plot.Font.Set(SansFont);
        for (int s = 0; s < columns.Length; s++)
        {
            (string backend, VmiMode mode) = columns[s];
            Color full = BackendColors[HypervisorCatalog.Names.ToList().IndexOf(backend) % BackendColors.Length];
            Color color = mode == VmiMode.Off ? full.Lighten(0.55) : full;
            var bars = new List<Bar>();
            for (int w = 0; w < m.Workloads.Count; w++)
            {
                CellResult cell = r.Of(g, m.Workloads[w], backend, mode);
                if (r.StatusOf(cell.Cell) == "ok" && r.Ratio(cell) is double ratio && ratio > 0)
                {
                    bars.Add(new Bar
                    {
                        Position = Position(w, s, columns.Length),
                        Value = Math.Log10(ratio),
                        ValueBase = Math.Log10(floor),
                        FillColor = color,
                        LineColor = full.Darken(0.3),
                        LineWidth = 1,
                        Size = 0.9,
                    });
                }
                else
                {
                    // No bar: say why rather than leave a gap that reads as "no overhead".
                    var why = plot.Add.Text(r.StatusOf(cell.Cell) == "ok" ? "no ratio" : r.StatusOf(cell.Cell), Position(w, s, columns.Length), Math.Log10(floor));
                    why.LabelRotation = -90;
                    why.LabelFontSize = 14;
                    why.LabelFontColor = full;
                    why.LabelAlignment = Alignment.MiddleLeft;
                    why.OffsetY = -6;
                }
            }
            var series = plot.Add.Bars(bars);
            series.LegendText = mode == VmiMode.Off ? $"{backend}, vmi=off" : $"{backend}, VMI ROM";
        }
        var native = plot.Add.HorizontalLine(0, 2, Colors.Black, LinePattern.Dashed);
        native.LegendText = "native, vmi=off (1×)";

        plot.Axes.Bottom.SetTicks(
            [.. m.Workloads.Select((_, w) => (Position(w, 0, columns.Length) + Position(w, columns.Length - 1, columns.Length)) / 2)],
            [.. m.Workloads]);
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.Bottom.TickLabelStyle.FontSize = 20;
        plot.Axes.Left.TickGenerator = LogTicks(floor, top);
        plot.Axes.Left.TickLabelStyle.FontSize = 16;
        plot.Axes.Left.Label.Text = "modelled cycles per iteration, × native vmi=off (log scale)";
        plot.Axes.Left.Label.FontSize = 18;
        plot.Axes.SetLimits(-1.5, Position(m.Workloads.Count - 1, columns.Length - 1, columns.Length) + 1.5, Math.Log10(floor), Math.Log10(top));
        plot.Grid.XAxisStyle.MajorLineStyle.Width = 0;
        plot.Title($"vmi bench: {g.Title}, iters={m.Iters}", 22);
        plot.Legend.FontSize = 16;
        // Outside the data area: a legend inside would hide the tallest bars.
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    private static double Position(int workload, int series, int seriesCount) => (workload * (seriesCount + GroupGap)) + series;

    /// <summary>Labelled ticks at 1, 2 and 5 times each power of ten (as "0.5×", "10×"), minor ticks at the other multiples.</summary>
    private static ScottPlot.TickGenerators.NumericManual LogTicks(double floor, double top)
    {
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int exponent = (int)Math.Floor(Math.Log10(floor)); Math.Pow(10, exponent) <= top; exponent++)
        {
            for (int multiple = 1; multiple <= 9; multiple++)
            {
                double value = multiple * Math.Pow(10, exponent);
                if (value < floor * 0.999 || value > top * 1.001)
                {
                    continue;
                }
                if (multiple is 1 or 2 or 5)
                {
                    ticks.AddMajor(Math.Log10(value), value.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) + "×");
                }
                else
                {
                    ticks.AddMinor(Math.Log10(value));
                }
            }
        }
        return ticks;
    }

    /// <summary>The largest of 1, 2, 5 × 10^k not above <paramref name="value"/>.</summary>
    private static double NiceBelow(double value) => Nice(value).Where(n => n <= value).Max();

    /// <summary>The smallest of 1, 2, 5 × 10^k not below <paramref name="value"/>.</summary>
    private static double NiceAbove(double value) => Nice(value).Where(n => n >= value).Min();

    private static IEnumerable<double> Nice(double near)
    {
        int e = (int)Math.Floor(Math.Log10(near));
        return from k in new[] { e - 1, e, e + 1 } from d in new[] { 1.0, 2, 5 } select d * Math.Pow(10, k);
    }
}
