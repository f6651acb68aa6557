using System.Text;
using Vmi.Hypervisors;
using Vmi.Hypervisors.Events;
using Vmi.Machine;

namespace Vmi.Cli.Commands.Compare;

/// <summary>
/// One guest run of `vmi compare`: the kernel booted in-process with one workload (or none, the
/// baseline) under one backend, and what came out: how it ended, its RESULT lines, its guest
/// instructions and its events. Everything here is deterministic; host time is left out on purpose.
/// </summary>
internal sealed record BenchRun(
    string Backend,
    string CpuModel,
    string Bench,
    int Iters,
    VmRunResult Result,
    IReadOnlyList<string> Results,
    IReadOnlyDictionary<EventKind, long> Events,
    long ModelledCycles,
    long EventCycles)
{
    public long Instructions => Result.Instructions;

    /// <summary>
    /// Whether the guest ended through the debug port having written 0, its "every self-check
    /// passed"; the port reports a written v as (v &lt;&lt; 1) | 1.
    /// </summary>
    public bool Passed => Result.Reason == VmExitReason.DebugExit && Result.GuestExitCode == 1;

    /// <summary>Boots <paramref name="kernel"/> with "kernel vmi=off quiet bench=BENCH iters=N EXTRA" under a fresh backend and runs it to the end.</summary>
    public static BenchRun Run(byte[] kernel, BackendChoice backend, string bench, int iters, byte[] extra, long maxInstructions)
    {
        // The first word is the kernel's name, as a boot loader passes it (the guest skips it).
        byte[] prefix = Encoding.ASCII.GetBytes($"kernel vmi=off quiet bench={bench} iters={iters}");
        byte[] commandLine = extra.Length == 0 ? prefix : [.. prefix, (byte)' ', .. extra];
        var serial = new MemoryStream();
        Vm vm = Vm.BootMultiboot(new VmConfig
        {
            CommandLineBytes = commandLine,
            CpuModel = backend.Model,
            NominalHz = backend.Profile.TickHz,
            HostMemoryBytes = backend.HostMemoryBytes,
            SerialOutput = serial,
        }, kernel);
        Hypervisor hypervisor = backend.Create();
        hypervisor.Attach(vm);
        VmRunResult result = vm.Run(maxInstructions);
        return new BenchRun(backend.Name, backend.Model.Name, bench, iters, result, ResultLines(Encoding.ASCII.GetString(serial.ToArray())),
            hypervisor.Events.Counts, hypervisor.ModelledCycles(result.Instructions), hypervisor.EventCycles);
    }

    /// <summary>
    /// The guest's "RESULT bench=… iters=… check=…" lines reduced to those three fields, which must
    /// not depend on the backend (any other field is free to, like the guest's own cycle count).
    /// </summary>
    public static IReadOnlyList<string> ResultLines(string output) =>
        [.. output.Split('\n')
            .Where(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
            .Select(l => "RESULT " + string.Join(' ', l.Trim().Split(' ').Where(IsComparedField)))];

    private static bool IsComparedField(string field) =>
        field.StartsWith("bench=", StringComparison.Ordinal) || field.StartsWith("iters=", StringComparison.Ordinal) || field.StartsWith("check=", StringComparison.Ordinal);
}
