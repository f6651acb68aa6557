using Spectre.Console;

namespace Vmi.Cli.Commands.Bench;

/// <summary>
/// Progress of the runs on stderr while they go: a Spectre.Console bar on a terminal; where
/// stderr is a file or a pipe, a plain line at each tenth done (a log has no use for a redrawn bar).
/// </summary>
internal static class BenchProgress
{
    /// <summary>
    /// Calls <paramref name="work"/> with an action it calls (from any thread) once per run finished;
    /// <paramref name="description"/> labels the bar.
    /// </summary>
    public static T Run<T>(string description, int total, Func<Action, T> work)
    {
        if (Console.IsErrorRedirected)
        {
            return work(PlainLines(total));
        }
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Console.Error),
            Ansi = AnsiSupport.Detect,
            ColorSystem = ColorSystemSupport.Detect,
            Interactive = InteractionSupport.Yes,
        });
        T result = default!;
        console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask(Markup.Escape(description), maxValue: total);
                result = work(() => task.Increment(1));
            });
        return result;
    }

    private static Action PlainLines(int total)
    {
        var gate = new object();
        int done = 0, tenthsShown = 0;
        return () =>
        {
            lock (gate)
            {
                done++;
                int tenths = done * 10 / Math.Max(total, 1);
                if (tenths > tenthsShown)
                {
                    tenthsShown = tenths;
                    Console.Error.WriteLine($"vmi: bench: {done}/{total} runs done");
                }
            }
        };
    }
}
