using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Vmi.Cpu.Tests.Fpu;

/// <summary>
/// The host CPU's x87, through <c>x87_oracle.c</c>: compiled once with the host gcc into the test's
/// output directory (keyed by a hash of the source), then run as a child process that answers a
/// batch of <see cref="X87Case"/> records. A separate process keeps any host-side surprise (a
/// SIGFPE, say) away from the test runner.
/// </summary>
public static class X87Oracle
{
    private const string SourceName = "x87_oracle.c";
    private static readonly Lazy<string> Binary = new(Build);
    private static readonly Lock Gate = new();

    /// <summary>Why the oracle cannot run here, or null when it can.</summary>
    public static string? UnavailableReason { get; } = FindUnavailableReason();

    private static string? FindUnavailableReason()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return "The x87 oracle runs instructions on the host CPU: it needs x86-64 Linux.";
        if (Environment.GetEnvironmentVariable("VMI_NO_NATIVE_ORACLE") == "1")
            return "VMI_NO_NATIVE_ORACLE=1 turns the native oracles off.";
        if (FindGcc() is null)
            return "The x87 oracle is a C program compiled by the host gcc, and no gcc is on PATH.";
        return null;
    }

    private static string? FindGcc()
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, "gcc");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static string Build()
    {
        string source = Path.Combine(AppContext.BaseDirectory, "Fpu", SourceName);
        string hash = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(source)))[..12];
        string binary = Path.Combine(AppContext.BaseDirectory, "Fpu", $"x87_oracle-{hash}");
        if (File.Exists(binary)) return binary;
        string temporary = binary + $".{Environment.ProcessId}.tmp";
        var psi = new ProcessStartInfo(FindGcc()!, ["-O1", "-mno-red-zone", "-Wall", "-o", temporary, source])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using Process gcc = Process.Start(psi)!;
        string errors = gcc.StandardError.ReadToEnd();
        gcc.WaitForExit();
        if (gcc.ExitCode != 0) throw new InvalidOperationException($"gcc failed on {SourceName}:\n{errors}");
        File.Move(temporary, binary, overwrite: true);
        return binary;
    }

    /// <summary>Runs every case natively; the results come back in order.</summary>
    public static X87Result[] Run(IReadOnlyList<X87Case> cases)
    {
        if (UnavailableReason is { } reason) throw new InvalidOperationException(reason);
        string binary;
        lock (Gate) binary = Binary.Value;
        var psi = new ProcessStartInfo(binary) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using Process process = Process.Start(psi)!;
        var writer = Task.Run(() =>
        {
            using Stream input = process.StandardInput.BaseStream;
            byte[] record = new byte[X87Case.RecordSize];
            foreach (X87Case c in cases)
            {
                c.WriteRecord(record);
                input.Write(record);
            }
        });
        var results = new X87Result[cases.Count];
        Stream output = process.StandardOutput.BaseStream;
        byte[] buffer = new byte[X87Result.RecordSize];
        for (int i = 0; i < cases.Count; i++)
        {
            output.ReadExactly(buffer);
            results[i] = X87Result.FromRecord(buffer);
        }
        writer.GetAwaiter().GetResult();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"x87 oracle exited with {process.ExitCode}: {process.StandardError.ReadToEnd()}");
        return results;
    }
}

/// <summary>A fact that needs the x87 oracle; skipped with the reason where it cannot run.</summary>
public sealed class X87OracleFactAttribute : FactAttribute
{
    public X87OracleFactAttribute()
    {
        if (X87Oracle.UnavailableReason is { } reason) Skip = reason;
    }
}

/// <summary>A theory that needs the x87 oracle; skipped with the reason where it cannot run.</summary>
public sealed class X87OracleTheoryAttribute : TheoryAttribute
{
    public X87OracleTheoryAttribute()
    {
        if (X87Oracle.UnavailableReason is { } reason) Skip = reason;
    }
}
