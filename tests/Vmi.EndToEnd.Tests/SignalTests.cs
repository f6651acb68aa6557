using Vmi.TestSupport;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Vmi.EndToEnd.Tests;

/// <summary>
/// SIGINT and SIGTERM on a running `vmi run`: the VM stops at an instruction boundary, everything
/// the guest wrote reaches its destination (the partial line after the last newline too), and
/// the summary says the run was interrupted. The guests print a full line first so the test
/// knows the run (and so the signal handler) has started before it signals.
/// </summary>
public sealed partial class SignalTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly string dir = Directory.CreateTempSubdirectory("vmi-signal-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    private const int SigInt = 2, SigTerm = 15;

    private string LoopingKernel() => FlatKernel.Write(dir, "loop.bin", a =>
    {
        FlatKernel.Print(a, "ready\npartial");
        var again = a.CreateLabel();
        a.Label(ref again);
        a.jmp(again);
    });

    [Theory]
    [InlineData(SigInt, "SIGINT", 130)]
    [InlineData(SigTerm, "SIGTERM", 143)]
    public void ASignalFlushesTheSerialFileAndSaysTheRunWasInterrupted(int signal, string name, int exitCode)
    {
        string serial = Path.Combine(dir, "serial.txt");
        using var vmi = Running.Start("run", LoopingKernel(), "--serial", serial);
        vmi.WaitUntil(() => ReadShared(serial).StartsWith("ready\n", StringComparison.Ordinal));

        Assert.Equal(0, Kill(vmi.Process.Id, signal));

        vmi.WaitForExit();
        Assert.Equal("ready\npartial", File.ReadAllText(serial));
        Assert.Contains($"vmi: interrupted by {name} at eip 0x", vmi.Stderr, StringComparison.Ordinal);
        Assert.Contains($"exit code {exitCode}", vmi.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", vmi.Stderr, StringComparison.Ordinal);
        Assert.Equal(exitCode, vmi.Process.ExitCode);
    }

    [Fact]
    public void ASignalFlushesStdout()
    {
        using var vmi = Running.Start("run", LoopingKernel(), "--json", Path.Combine(dir, "run.json"));
        vmi.WaitUntil(() => vmi.Stdout.StartsWith("ready\n", StringComparison.Ordinal));

        Assert.Equal(0, Kill(vmi.Process.Id, SigInt));

        vmi.WaitForExit();
        Assert.Equal("ready\npartial", vmi.Stdout);
        Assert.Equal(130, vmi.Process.ExitCode);
        Assert.Contains("\"exitReason\": \"Interrupted\"", File.ReadAllText(Path.Combine(dir, "run.json")), StringComparison.Ordinal);
    }

    [Fact]
    public void AGuestThatNeverRetiresAnInstructionStillStops()
    {
        string kernel = FlatKernel.Write(dir, "faultloop.bin", a =>
        {
            FlatKernel.Print(a, "ready\n");
            FlatKernel.FaultLoop(a);
        });
        using var vmi = Running.Start("run", kernel);
        vmi.WaitUntil(() => vmi.Stdout.StartsWith("ready\n", StringComparison.Ordinal));
        Thread.Sleep(200); // well inside the fault loop by now

        Assert.Equal(0, Kill(vmi.Process.Id, SigInt));

        vmi.WaitForExit();
        Assert.Contains("vmi: interrupted by SIGINT", vmi.Stderr, StringComparison.Ordinal);
        Assert.Equal(130, vmi.Process.ExitCode);
    }

    /// <summary>The file's text so far ("" if it does not exist yet), without locking out its writer.</summary>
    private static string ReadShared(string path)
    {
        if (!File.Exists(path))
        {
            return "";
        }
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(f);
        return reader.ReadToEnd();
    }

    /// <summary>vmi as a child process whose output is collected as it arrives.</summary>
    private sealed class Running : IDisposable
    {
        private readonly StringBuilder stdout = new(), stderr = new();
        private readonly Task readers;

        private Running(Process process)
        {
            Process = process;
            readers = Task.WhenAll(Pump(process.StandardOutput, stdout), Pump(process.StandardError, stderr));
        }

        public Process Process { get; }

        public string Stdout
        {
            get
            {
                lock (stdout)
                {
                    return stdout.ToString();
                }
            }
        }

        public string Stderr
        {
            get
            {
                lock (stderr)
                {
                    return stderr.ToString();
                }
            }
        }

        public static Running Start(params string[] args) => new(VmiRunner.Start(args));

        public void WaitUntil(Func<bool> condition)
        {
            var clock = Stopwatch.StartNew();
            while (!condition())
            {
                if (Process.HasExited)
                {
                    Assert.Fail($"vmi exited early ({Process.ExitCode}): {Stderr}");
                }
                Assert.True(clock.Elapsed < Timeout, $"timed out; stdout so far: {Stdout}; stderr: {Stderr}");
                Thread.Sleep(20);
            }
        }

        public void WaitForExit()
        {
            Assert.True(Process.WaitForExit(Timeout), $"vmi did not stop after the signal; stderr: {Stderr}");
            Assert.True(readers.Wait(Timeout));
        }

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
            }
            Process.Dispose();
        }

        private static async Task Pump(StreamReader reader, StringBuilder into)
        {
            var buffer = new char[4096];
            int n;
            while ((n = await reader.ReadAsync(buffer)) > 0)
            {
                lock (into)
                {
                    into.Append(buffer, 0, n);
                }
            }
        }
    }
}
