using System.Collections.Concurrent;
using Vmi.Machine;

namespace Vmi.Cli.Commands;

/// <summary>
/// The terminal as COM1's input: a thread reads stdin, and the bytes reach the UART between CPU
/// slices, on the guest thread. Only when stdin is a terminal: redirected input would be a file
/// the guest never asked for.
/// </summary>
internal sealed class ConsoleInput
{
    private readonly ConcurrentQueue<byte[]> queue = new();
    private readonly SemaphoreSlim arrived = new(0);
    private volatile bool closed;
    private volatile bool woken;

    private ConsoleInput()
    {
    }

    /// <summary>Feeds stdin to <paramref name="vm"/>'s UART; null (nothing attached) when stdin is redirected.</summary>
    public static ConsoleInput? Attach(Vm vm)
    {
        if (Console.IsInputRedirected)
        {
            return null;
        }
        var input = new ConsoleInput();
        var reader = new Thread(input.ReadStdin) { IsBackground = true, Name = "vmi-stdin" };
        reader.Start();
        // Host input reaches the UART only between CPU slices, on the guest thread.
        vm.BetweenSlices = () =>
        {
            while (input.queue.TryDequeue(out byte[]? chunk))
            {
                vm.Board.Uart.EnqueueInput(chunk);
            }
        };
        vm.WaitForHostInput = input.WaitForKey;
        return input;
    }

    /// <summary>
    /// Ends a wait for a key (from any thread): the VM goes on to its next slice, where it sees the
    /// stop it was asked for (a signal), instead of ending as a guest that nothing can wake.
    /// </summary>
    public void Wake()
    {
        woken = true;
        arrived.Release();
    }

    /// <summary>A guest idle with nothing but the console to wake it waits for a key, as on real hardware.</summary>
    private bool WaitForKey()
    {
        if (queue.IsEmpty && !closed && !woken)
        {
            arrived.Wait();
        }
        return !queue.IsEmpty || woken;
    }

    private void ReadStdin()
    {
        using Stream stdin = Console.OpenStandardInput();
        var buffer = new byte[256];
        int n;
        while ((n = stdin.Read(buffer, 0, buffer.Length)) > 0)
        {
            queue.Enqueue(buffer[..n]);
            arrived.Release();
        }
        closed = true;
        arrived.Release();
    }
}
