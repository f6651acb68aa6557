namespace Vmi.Cli.Commands;

/// <summary>
/// Where `vmi run` writes: the guest's console (--serial FILE, else stdout), the instruction trace
/// (--trace FILE), the hypervisor event trace (--trace-events FILE) and the JSON summary (--json
/// FILE, or '-' for stdout). Every file is created
/// before the VM is built, so an unusable path is refused before anything runs; a write that
/// fails later loses that output only, never the run (see <see cref="OutputFile"/>).
/// <para>
/// `--json -` gives stdout to the JSON alone and moves the console to stderr (unless --serial
/// names a file): '-' means stdout by convention, and a pipe into a JSON reader (`| jq`) must
/// not receive the guest's text as well. The guest's console stays visible on the terminal.
/// </para>
/// </summary>
internal sealed class RunOutputs : IDisposable
{
    private RunOutputs(OutputFile console, OutputFile? trace, OutputFile? traceEvents, OutputFile? json)
    {
        Console = console;
        Trace = trace;
        TraceWriter = trace is null ? null : new StreamWriter(trace);
        TraceEvents = traceEvents;
        Json = json;
    }

    /// <summary>COM1's output.</summary>
    public OutputFile Console { get; }

    public OutputFile? Trace { get; }

    public StreamWriter? TraceWriter { get; }

    /// <summary>--trace-events: one JSON line per hypervisor event.</summary>
    public OutputFile? TraceEvents { get; }

    public OutputFile? Json { get; }

    /// <summary>Opens every output, or none with the one-line reason the first one cannot be written.</summary>
    public static RunOutputs? TryOpen(FileInfo? serial, FileInfo? trace, FileInfo? traceEvents, string? json, out string error)
    {
        error = "";
        bool jsonToStdout = json == "-";
        OutputFile? console = serial is null
            ? Standard(jsonToStdout ? "stderr" : "stdout")
            : OutputFile.TryCreate("--serial", serial.FullName, out error);
        if (console is null)
        {
            return null;
        }
        OutputFile? traceFile = null;
        if (trace is not null && (traceFile = OutputFile.TryCreate("--trace", trace.FullName, out error)) is null)
        {
            console.Dispose();
            return null;
        }
        OutputFile? eventsFile = null;
        if (traceEvents is not null && (eventsFile = OutputFile.TryCreate("--trace-events", traceEvents.FullName, out error)) is null)
        {
            traceFile?.Dispose();
            console.Dispose();
            return null;
        }
        OutputFile? jsonFile = null;
        if (json is not null && (jsonFile = jsonToStdout ? Standard("stdout") : OutputFile.TryCreate("--json", json, out error)) is null)
        {
            eventsFile?.Dispose();
            traceFile?.Dispose();
            console.Dispose();
            return null;
        }
        return new RunOutputs(console, traceFile, eventsFile, jsonFile);
    }

    private static OutputFile Standard(string name) =>
        OutputFile.ForConsole(name, name == "stderr" ? System.Console.OpenStandardError() : System.Console.OpenStandardOutput());

    /// <summary>Flushes and closes the console and the traces; the one-line problems of those that lost bytes.</summary>
    public List<string> CloseRunOutputs()
    {
        TraceWriter?.Dispose();
        Trace?.Dispose();
        TraceEvents?.Dispose();
        Console.Dispose();
        return [.. new[] { Console.Problem, Trace?.Problem, TraceEvents?.Problem }.OfType<string>()];
    }

    /// <summary>Writes the JSON summary and closes its output; the problem if it was not all written.</summary>
    public string? WriteJson(string text)
    {
        if (Json is null)
        {
            return null;
        }
        Json.Write(System.Text.Encoding.UTF8.GetBytes(text + Environment.NewLine));
        Json.Dispose();
        return Json.Problem;
    }

    public void Dispose()
    {
        TraceWriter?.Dispose();
        Trace?.Dispose();
        TraceEvents?.Dispose();
        Console.Dispose();
        Json?.Dispose();
    }
}
