using System.Diagnostics;

namespace Vmi.Machine.Tests.Boot;

/// <summary>The xz command-line tool (xz-utils), the reference for the xz container and the x86 BCJ filter.</summary>
internal static class XzTool
{
    public static bool Installed { get; } = Find() is not null;

    public const string Missing = "the xz command-line tool (xz-utils) is not installed";

    /// <summary>Runs xz with <paramref name="arguments"/>, <paramref name="input"/> on stdin; returns stdout.</summary>
    public static byte[] Run(byte[] input, params string[] arguments)
    {
        var psi = new ProcessStartInfo(Find() ?? throw new InvalidOperationException(Missing))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in arguments)
        {
            psi.ArgumentList.Add(a);
        }
        using Process p = Process.Start(psi)!;
        var output = new MemoryStream();
        Task copy = p.StandardOutput.BaseStream.CopyToAsync(output);
        Task<string> error = p.StandardError.ReadToEndAsync();
        try
        {
            p.StandardInput.BaseStream.Write(input);
            p.StandardInput.Close();
        }
        catch (IOException)
        {
            // xz stopped reading (a bad option): its exit code and message say why, below.
        }
        copy.Wait();
        p.WaitForExit();
        return p.ExitCode == 0 ? output.ToArray() : throw new InvalidOperationException($"xz {string.Join(' ', arguments)} failed: {error.Result}");
    }

    private static string? Find() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "xz")).FirstOrDefault(File.Exists);
}
