namespace Vmi.Cli.Commands.Bench;

/// <summary>
/// The files of --out DIR: the directory is created if missing and the four files are created
/// before any run starts, so a DIR that is a file or cannot be written is refused up front (exit 2).
/// </summary>
internal sealed class BenchOutputs : IDisposable
{
    public const string DefaultDirectory = "bench-out";

    private static readonly string[] FileNames = ["bench.json", "bench.csv", "bench.md", "bench.png"];

    private readonly Dictionary<string, OutputFile> files;

    private BenchOutputs(Dictionary<string, OutputFile> files)
    {
        this.files = files;
    }

    /// <summary>The directory and its files, or null with the problem naming --out and the path.</summary>
    public static BenchOutputs? TryCreate(string path, out string error)
    {
        error = "";
        string full = Path.GetFullPath(path);
        if (File.Exists(full))
        {
            error = $"--out {full}: not a directory";
            return null;
        }
        try
        {
            Directory.CreateDirectory(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"--out {full}: cannot create the directory: {e.Message}";
            return null;
        }
        var files = new Dictionary<string, OutputFile>();
        foreach (string name in FileNames)
        {
            if (OutputFile.TryCreate("--out", Path.Combine(full, name), out error) is not OutputFile file)
            {
                foreach (OutputFile opened in files.Values)
                {
                    opened.Dispose();
                }
                return null;
            }
            files[name] = file;
        }
        return new BenchOutputs(files);
    }

    /// <summary>Writes and closes every file; one line per file that lost bytes.</summary>
    public List<string> WriteAll(string json, string csv, string markdown, byte[] png)
    {
        Put("bench.json", System.Text.Encoding.UTF8.GetBytes(json));
        Put("bench.csv", System.Text.Encoding.UTF8.GetBytes(csv));
        Put("bench.md", System.Text.Encoding.UTF8.GetBytes(markdown));
        Put("bench.png", png);
        Dispose();
        return [.. FileNames.Select(n => files[n].Problem).OfType<string>()];
    }

    private void Put(string name, byte[] bytes) => files[name].Write(bytes);

    public void Dispose()
    {
        foreach (OutputFile file in files.Values)
        {
            file.Dispose();
        }
    }
}
