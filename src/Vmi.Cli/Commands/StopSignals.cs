using System.Runtime.InteropServices;
using Vmi.Machine;

namespace Vmi.Cli.Commands;

/// <summary>
/// SIGINT and SIGTERM while `vmi run` runs a guest: the first asks the VM to stop at its next
/// instruction boundary (<see cref="Vm.RequestStop"/>), so the run ends the ordinary way, with
/// every output flushed and the summary written; a second one ends the process at once (the
/// default action), for a run that does not stop.
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly Vm vm;
    private readonly Action? onStop;
    private readonly PosixSignalRegistration[] registrations;
    private int received;

    /// <param name="onStop">Also called (on the signal's thread) when the first signal arrives: to wake
    /// whatever the VM thread may be blocked on that the VM itself cannot see (console input, gdb).</param>
    public StopSignals(Vm vm, Action? onStop)
    {
        this.vm = vm;
        this.onStop = onStop;
        registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, c => OnSignal(c, 2, "SIGINT")),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => OnSignal(c, 15, "SIGTERM")),
        ];
    }

    /// <summary>The signal number (2 or 15) that stopped the run, or null.</summary>
    public int? Signal => Volatile.Read(ref received) is int n and > 0 ? n : null;

    public void Dispose()
    {
        foreach (PosixSignalRegistration r in registrations)
        {
            r.Dispose();
        }
    }

    private void OnSignal(PosixSignalContext context, int number, string name)
    {
        if (Interlocked.CompareExchange(ref received, number, 0) != 0)
        {
            return; // the second signal: default action
        }
        context.Cancel = true;
        vm.RequestStop($"interrupted by {name}");
        onStop?.Invoke();
    }
}
