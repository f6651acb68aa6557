using Spectre.Console;

namespace Vmi.Cli.Commands;

/// <summary>A Spectre.Console console over one of the process's text streams, for the commands' tables.</summary>
internal static class TableConsole
{
    /// <summary>
    /// Width when the stream is not a terminal: wide enough that a table with a column pair per
    /// backend is not wrapped in a file or a pipe (Spectre would assume 80 columns). Tables do not
    /// expand, so a narrow table stays narrow.
    /// </summary>
    private const int RedirectedWidth = 160;

    /// <summary>A console writing to stderr (<paramref name="toStderr"/>) or stdout; colour only on a terminal.</summary>
    public static IAnsiConsole Create(bool toStderr)
    {
        bool redirected = toStderr ? Console.IsErrorRedirected : Console.IsOutputRedirected;
        TextWriter writer = toStderr ? Console.Error : Console.Out;
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = redirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = redirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = InteractionSupport.No,
        });
        if (redirected)
        {
            console.Profile.Width = RedirectedWidth;
        }
        return console;
    }

    /// <summary>A right-aligned column, for numbers.</summary>
    public static TableColumn Number(string header) => new TableColumn(new Text(header)).RightAligned();

    /// <summary>A left-aligned column whose header is plain text (no markup).</summary>
    public static TableColumn Label(string header) => new(new Text(header));

    /// <summary>A row of plain-text cells: event details and file names may contain '[' which markup would parse.</summary>
    public static void AddTextRow(this Table table, params string[] cells) => table.AddRow(cells.Select(c => (Spectre.Console.Rendering.IRenderable)new Text(c)));
}
