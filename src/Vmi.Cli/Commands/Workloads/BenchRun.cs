using System.Text;
using Vmi.Hypervisors;
using Vmi.Hypervisors.Events;
using Vmi.Machine;

namespace Vmi.Cli.Commands.Workloads;

/// <summary>
/// One guest run of `vmi compare` or `vmi bench`: the kernel booted in-process with one workload
/// under one backend (<see cref="Spec"/>), and what came out: how it ended, its RESULT lines, its
/// guest instructions and its events. Everything here is deterministic; host time is left out on purpose.
/// </summary>
internal sealed record BenchRun(
    RunSpec Spec,
    VmRunResult Result,
    IReadOnlyList<string> Results,
    IReadOnlyDictionary<EventKind, long> Events,
    long ModelledCycles,
    long EventCycles)
{
    public string Backend => Spec.Backend.Name;

    public string CpuModel => Spec.Backend.Model.Name;

    public string Bench => Spec.Bench;

    public int Iters => Spec.Iters;

    public long Instructions => Result.Instructions;

    /// <summary>
    /// Whether the guest ended through the debug port having written 0, its "every self-check
    /// passed"; the port reports a written v as (v &lt;&lt; 1) | 1.
    /// </summary>
    public bool Passed => Result.Reason == VmExitReason.DebugExit && Result.GuestExitCode == 1;

    /// <summary>Boots <paramref name="kernel"/> as <paramref name="spec"/> says under a fresh backend and runs it to the end.</summary>
    public static BenchRun Run(byte[] kernel, RunSpec spec, long maxInstructions)
    {
        BackendChoice backend = spec.Backend;
        Hypervisor hypervisor = backend.Create();
        var serial = new MemoryStream();
        Vm vm = Vm.BootMultiboot(new VmConfig
        {
            CommandLineBytes = spec.CommandLine(),
            CpuModel = backend.Model,
            NominalHz = backend.Profile.TickHz,
            HostMemoryBytes = hypervisor.HostMemoryBytes,
            OptionRom = spec.OptionRom,
            SerialOutput = serial,
        }, kernel);
        hypervisor.Attach(vm);
        VmRunResult result = vm.Run(maxInstructions);
        return new BenchRun(spec, result, ResultLines(Encoding.ASCII.GetString(serial.ToArray())),
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

    /// <summary>
    /// Why this run's numbers cannot be trusted against <paramref name="expected"/>, the same
    /// workload's run on the baseline, or null: the guest did not report success, printed no RESULT
    /// line for its workload, or printed other RESULT lines. <paramref name="name"/> and
    /// <paramref name="expectedName"/> say which runs these are.
    /// </summary>
    public string? ProblemAgainst(BenchRun expected, string name, string expectedName)
    {
        if (!Passed)
        {
            return $"{name} (iters={Iters}): {RunCommand.Describe(Result)}";
        }
        if (!Results.Any(l => l.StartsWith($"RESULT bench={Bench} ", StringComparison.Ordinal)))
        {
            return $"{name}: the guest printed no RESULT line for bench={Bench}";
        }
        return Results.SequenceEqual(expected.Results) ? null
            : $"{name}: printed '{string.Join(" / ", Results)}' but {expectedName} printed '{string.Join(" / ", expected.Results)}'";
    }
}
