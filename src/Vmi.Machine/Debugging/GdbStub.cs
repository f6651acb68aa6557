using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Vmi.Machine.Debugging;

/// <summary>
/// A GDB remote-serial-protocol server for one VM, like QEMU's <c>-gdb tcp::PORT -S</c>: it listens
/// on 127.0.0.1 only (a debugger can rewrite the guest, so it is never offered to the network),
/// accepts one connection and drives the VM from the calling thread while gdb is attached. The
/// guest does not run until gdb says so.
/// <para>
/// Breakpoints are kept here and compared with CS:EIP (linear) before each instruction rather than
/// written into guest memory, so the guest never sees them and code that checksums itself is not
/// disturbed. With breakpoints set, the CPU runs one instruction per turn of the VM's run loop;
/// without, it runs whole slices and the socket is polled between them for gdb's Ctrl-C. Either way
/// the loop is <see cref="Vm.RunSlice"/>, so timers and devices keep working as in a plain run.
/// </para>
/// <para>
/// Session ends: 'k'/vKill stops the VM (<see cref="VmExitReason.HypervisorStop"/>); 'D', or gdb
/// closing the connection, lets the guest run on to its own end without a debugger; the guest
/// ending (debug-exit port, halt, triple fault...) is reported to gdb as W/X and ends the session.
/// </para>
/// </summary>
public sealed class GdbStub : IDisposable
{
    /// <summary>The largest packet we accept (advertised in qSupported, in hex).</summary>
    public const int PacketSize = 0x4000;

    /// <summary>Most bytes one 'm' reply carries: two hex digits each, with room for the framing.</summary>
    private const int MaxMemoryTransfer = (PacketSize - 16) / 2;

    /// <summary>With breakpoints set the socket is checked for Ctrl-C only every this many steps: a poll is a system call.</summary>
    private const int StepsPerPoll = 4096;

    /// <summary>How long to wait for gdb's acknowledgement of a reply before carrying on (gdb always sends one in ack mode).</summary>
    private static readonly TimeSpan AckTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long an idle guest waiting for console input waits on gdb's socket per turn of the run loop.</summary>
    private static readonly TimeSpan IdleWait = TimeSpan.FromMilliseconds(50);

    // gdb's signal numbers (its own enumeration, equal to Linux's for these).
    private const int SigInt = 2, SigIll = 4, SigTrap = 5, SigKill = 9, SigSegv = 11, SigXcpu = 24;

    private readonly Vm vm;
    private readonly TcpListener listener;
    private readonly HashSet<uint> breakpoints = [];
    private readonly byte[] receiveBuffer = new byte[4096];
    private int receivePos, receiveLength;
    private volatile Socket? connection;
    private volatile bool closed;
    private int lastSignal = SigTrap;
    private bool interruptPending, connectionLost;

    /// <summary>Starts listening on 127.0.0.1:<paramref name="port"/> (0: any free port, see <see cref="Port"/>).</summary>
    /// <exception cref="SocketException">The port cannot be bound (in use, not permitted).</exception>
    public GdbStub(Vm vm, int port)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, IPEndPoint.MaxPort);
        this.vm = vm;
        listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start(1);
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The port actually listened on.</summary>
    public int Port { get; }

    /// <summary>If set, every packet received ("&lt;- ") and sent ("-&gt; ") is written here (protocol debugging).</summary>
    public TextWriter? Log { get; set; }

    /// <summary>The software and hardware breakpoints currently set (linear addresses).</summary>
    public IReadOnlyCollection<uint> Breakpoints => breakpoints;

    /// <summary>
    /// Waits for gdb, serves it, and returns when the run is over: the guest ended (while attached
    /// or after a detach), gdb killed it, <paramref name="maxInstructions"/> retired, or the stub
    /// was disposed from another thread.
    /// </summary>
    public VmRunResult Serve(long maxInstructions = long.MaxValue)
    {
        var sw = Stopwatch.StartNew();
        long start = vm.Cpu.InstructionsRetired;
        long limit = maxInstructions == long.MaxValue ? long.MaxValue : start + maxInstructions;
        Socket socket;
        try
        {
            socket = listener.AcceptSocket();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
        {
            VmStop closedEarly = vm.RequestedStop ?? new VmStop(VmExitReason.HypervisorStop, "the gdb stub was closed before a debugger attached");
            return vm.Finish(closedEarly.Reason, closedEarly.Detail, sw, start);
        }
        // One debugger per VM: a second gdb is refused rather than queued behind the first.
        listener.Stop();
        socket.NoDelay = true;
        connection = socket;
        if (closed)
        {
            // Disposed while the connection was being accepted: Dispose could not see it to close it.
            CloseConnection();
        }
        VmStop? end = Session(limit);
        CloseConnection();
        end ??= RunDetached(limit);
        string detail = end.Value.Reason == VmExitReason.InstructionLimit
            ? $"instruction limit of {maxInstructions} reached at eip 0x{vm.Cpu.Eip:X8}"
            : end.Value.Detail;
        return vm.Finish(end.Value.Reason, detail, sw, start);
    }

    /// <summary>Stops listening and drops the connection; a <see cref="Serve"/> in progress on another thread returns soon after.</summary>
    public void Dispose()
    {
        closed = true;
        listener.Stop();
        CloseConnection();
    }

    private void CloseConnection()
    {
        Socket? s = connection;
        if (s is null)
        {
            return;
        }
        try
        {
            s.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already gone: nothing left to flush.
        }
        s.Dispose();
    }

    /// <summary>What a packet asks of the session loop.</summary>
    private enum Next
    {
        Reply,
        Continue,
        Step,
        Kill,
        Detach,
    }

    /// <summary>Packets until the session ends: the guest's end, or null when gdb detached or went away (the guest runs on).</summary>
    private VmStop? Session(long limit)
    {
        VmStop? ended = null;
        try
        {
            while (true)
            {
                string? packet = ReadPacket(out bool tooLong);
                if (packet is null)
                {
                    return null;
                }
                Log?.WriteLine($"<- {packet}");
                if (tooLong)
                {
                    SendPacket("E22");
                    continue;
                }
                Next next = Dispatch(packet, out string reply);
                switch (next)
                {
                    case Next.Reply:
                        SendPacket(reply);
                        break;
                    case Next.Kill:
                        ended = new VmStop(VmExitReason.HypervisorStop, $"gdb killed the guest at eip 0x{vm.Cpu.Eip:X8}");
                        if (reply.Length > 0)
                        {
                            SendPacket(reply);
                        }
                        return ended;
                    case Next.Detach:
                        SendPacket(reply);
                        return null;
                    default:
                        ended = Execute(next == Next.Step, limit, out int signal, out bool lost);
                        if (ended is { } stop)
                        {
                            SendPacket(ExitReply(stop));
                            return stop;
                        }
                        if (lost)
                        {
                            return null;
                        }
                        lastSignal = signal;
                        SendPacket($"S{signal:x2}");
                        break;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            // gdb went away mid-conversation: like a detach, unless the guest had already ended.
            Log?.WriteLine($"-- connection lost: {e.Message}");
            return ended;
        }
    }

    /// <summary>The guest's end as gdb understands it: W with the exit status for a real exit, X with a signal otherwise.</summary>
    private string ExitReply(VmStop stop) => stop.Reason switch
    {
        VmExitReason.DebugExit => $"W{(vm.Board.GuestExitCode ?? 1) & 0xFF:x2}",
        VmExitReason.Halted => "W00",
        VmExitReason.TripleFault => $"X{SigSegv:x2}",
        VmExitReason.Unsupported => $"X{SigIll:x2}",
        VmExitReason.InstructionLimit => $"X{SigXcpu:x2}",
        _ => $"X{SigKill:x2}",
    };

    /// <summary>
    /// Runs the guest for 'c' or 's'. Null when it stopped for gdb (<paramref name="signal"/> says
    /// why, or <paramref name="lost"/> that gdb went away); otherwise the end of the run.
    /// </summary>
    private VmStop? Execute(bool step, long limit, out int signal, out bool lost)
    {
        Vmi.Cpu.Cpu cpu = vm.Cpu;
        long resumedAt = cpu.InstructionsRetired;
        Func<bool>? consoleWait = vm.WaitForHostInput;
        if (consoleWait is not null)
        {
            vm.WaitForHostInput = WaitForHostInputOrGdb;
        }
        try
        {
            for (int turn = 1; ; turn++)
            {
                long turnStart = cpu.InstructionsRetired;
                VmStop? stop;
                if (step)
                {
                    // A turn may retire nothing (a halted CPU waiting for its timer), so step until one instruction did.
                    if (cpu.InstructionsRetired != resumedAt)
                    {
                        break;
                    }
                    stop = vm.RunSlice(Math.Min(1L, limit - cpu.InstructionsRetired));
                }
                else if (breakpoints.Count > 0)
                {
                    // Not on the instruction we resume at: gdb continues from a breakpoint expecting to leave it.
                    if (cpu.InstructionsRetired != resumedAt && breakpoints.Contains(cpu.LinearEip))
                    {
                        break;
                    }
                    stop = vm.RunSlice(Math.Min(1L, limit - cpu.InstructionsRetired));
                }
                else
                {
                    stop = vm.RunSlice(limit - cpu.InstructionsRetired);
                }
                if (stop is not null)
                {
                    signal = SigTrap;
                    lost = false;
                    return stop;
                }
                // A turn that retired nothing (a fault loop, a CPU idle until a timer the PIC masks) may
                // repeat forever: look for Ctrl-C after each one, or gdb could never stop the guest.
                if (cpu.InstructionsRetired == turnStart || (!step && (breakpoints.Count == 0 || turn % StepsPerPoll == 0)))
                {
                    PollWhileRunning();
                }
                if (interruptPending || connectionLost)
                {
                    break;
                }
            }
        }
        finally
        {
            vm.WaitForHostInput = consoleWait;
        }
        lost = connectionLost;
        signal = interruptPending ? SigInt : SigTrap;
        interruptPending = false;
        return null;
    }

    /// <summary>
    /// Stands in for the console's wait while gdb is attached: a guest idle until a key arrives must
    /// not park the VM thread where gdb's Ctrl-C goes unheard. It waits on the socket in short
    /// steps instead and says "go on"; typed input still reaches the guest through BetweenSlices on
    /// the next turn of the run loop.
    /// </summary>
    private bool WaitForHostInputOrGdb()
    {
        try
        {
            if (connection!.Poll(IdleWait, SelectMode.SelectRead))
            {
                PollWhileRunning();
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            connectionLost = true;
        }
        return true;
    }

    /// <summary>
    /// Looks at what gdb sent while the guest runs, without blocking, and notes an interrupt request
    /// or a closed connection. In all-stop mode gdb sends nothing then but the interrupt byte, so
    /// anything else is dropped.
    /// </summary>
    private void PollWhileRunning()
    {
        Socket socket = connection!;
        if (receiveBuffer.AsSpan(receivePos, receiveLength - receivePos).Contains(GdbPacket.InterruptByte))
        {
            interruptPending = true;
        }
        receivePos = receiveLength = 0;
        try
        {
            if (!socket.Poll(TimeSpan.Zero, SelectMode.SelectRead))
            {
                return;
            }
            int n = socket.Receive(receiveBuffer);
            if (n == 0)
            {
                connectionLost = true;
            }
            else if (receiveBuffer.AsSpan(0, n).Contains(GdbPacket.InterruptByte))
            {
                interruptPending = true;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            connectionLost = true;
        }
    }

    /// <summary>After a detach (or a lost gdb): the rest of the run, as <see cref="Vm.Run"/> would do it.</summary>
    private VmStop RunDetached(long limit)
    {
        while (!closed)
        {
            if (vm.RunSlice(limit - vm.Cpu.InstructionsRetired) is { } stop)
            {
                return stop;
            }
        }
        // Closed because the host asked the VM to stop (a signal): that is the reason to report.
        return vm.RequestedStop ?? new VmStop(VmExitReason.HypervisorStop, $"the gdb stub was closed at eip 0x{vm.Cpu.Eip:X8}");
    }

    // ---- packets ------------------------------------------------------------------------

    private Next Dispatch(string packet, out string reply)
    {
        reply = "";
        if (packet.Length == 0)
        {
            return Next.Reply;
        }
        ReadOnlySpan<char> args = packet.AsSpan(1);
        Vmi.Cpu.Cpu cpu = vm.Cpu;
        switch (packet[0])
        {
            case '?':
                reply = $"S{lastSignal:x2}";
                return Next.Reply;
            case 'g':
                reply = GdbRegisters.ReadAll(cpu);
                return Next.Reply;
            case 'G':
                reply = GdbRegisters.TryWriteAll(cpu, args) ? "OK" : "E22";
                return Next.Reply;
            case 'p':
                reply = ReadRegister(args);
                return Next.Reply;
            case 'P':
                reply = WriteRegister(args);
                return Next.Reply;
            case 'm':
                reply = ReadMemory(args);
                return Next.Reply;
            case 'M':
                reply = WriteMemory(args);
                return Next.Reply;
            case 'c' or 's':
                // An optional address to resume at (gdb rarely sends one): EIP, as in QEMU.
                if (args.Length > 0)
                {
                    if (!GdbPacket.TryParseHex(args, out uint resumeAt))
                    {
                        reply = "E22";
                        return Next.Reply;
                    }
                    cpu.Eip = resumeAt;
                }
                return packet[0] == 's' ? Next.Step : Next.Continue;
            case 'Z' or 'z':
                reply = Breakpoint(packet[0] == 'Z', args);
                return Next.Reply;
            case 'k':
                // No reply: gdb does not wait for one.
                return Next.Kill;
            case 'D':
                reply = "OK";
                return Next.Detach;
            case 'H' or 'T':
                // One CPU is one thread: any thread selection or liveness question is about it.
                reply = "OK";
                return Next.Reply;
            case 'q':
                reply = Query(packet);
                return Next.Reply;
            case 'v':
                if (packet.StartsWith("vKill", StringComparison.Ordinal))
                {
                    reply = "OK";
                    return Next.Kill;
                }
                // vCont?, vMustReplyEmpty and the rest: unsupported, so gdb uses the plain packets.
                return Next.Reply;
            default:
                return Next.Reply;
        }
    }

    private static string Query(string packet)
    {
        string name = packet.Split(':', 2)[0];
        return name switch
        {
            "qSupported" => $"PacketSize={PacketSize:x}",
            // "Attached to an existing process": quitting gdb then detaches instead of killing the VM.
            "qAttached" => "1",
            "qC" => "QC1",
            "qfThreadInfo" => "m1",
            "qsThreadInfo" => "l",
            "qSymbol" => "OK",
            _ => "",
        };
    }

    private string ReadRegister(ReadOnlySpan<char> args)
    {
        if (!GdbPacket.TryParseHex(args, out uint number) || number > GdbRegisters.LastDescribed)
        {
            return "E22";
        }
        if (number >= GdbRegisters.Count)
        {
            // An x87/SSE register of gdb's default description: "unavailable" (gdb reads only the first 'x').
            return "xxxxxxxx";
        }
        var sb = new StringBuilder(8);
        GdbPacket.AppendLittleEndian32(sb, GdbRegisters.Read(vm.Cpu, (int)number));
        return sb.ToString();
    }

    private string WriteRegister(ReadOnlySpan<char> args)
    {
        int eq = args.IndexOf('=');
        if (eq <= 0
            || !GdbPacket.TryParseHex(args[..eq], out uint number)
            || number >= GdbRegisters.Count
            || !GdbPacket.TryParseLittleEndian32(args[(eq + 1)..], out uint value))
        {
            return "E22";
        }
        return GdbRegisters.TryWrite(vm.Cpu, (int)number, value) ? "OK" : "E22";
    }

    /// <summary>
    /// Guest linear memory through the CPU's page tables as they are now, without touching
    /// accessed/dirty bits or the TLB. A read stops at the first byte that is not mapped to RAM
    /// (gdb accepts a short reply); E14 (EFAULT) if not even the first one is.
    /// </summary>
    private string ReadMemory(ReadOnlySpan<char> args)
    {
        if (!GdbPacket.TryParseAddressLength(args, out uint address, out uint length))
        {
            return "E22";
        }
        length = Math.Min(length, MaxMemoryTransfer);
        var sb = new StringBuilder((int)length * 2);
        Span<byte> one = stackalloc byte[1];
        for (uint i = 0; i < length; i++)
        {
            if (!TryTranslate(address + i, out uint physical))
            {
                break;
            }
            one[0] = vm.Memory.Read8(physical);
            GdbPacket.AppendHex(sb, one);
        }
        return sb.Length == 0 && length > 0 ? "E14" : sb.ToString();
    }

    /// <summary>
    /// Writes guest linear memory: all or nothing (every byte is translated first). Writes go in
    /// as the loader's do, so they reach read-only ROM too and invalidate decoded code.
    /// </summary>
    private string WriteMemory(ReadOnlySpan<char> args)
    {
        int colon = args.IndexOf(':');
        if (colon <= 0
            || !GdbPacket.TryParseAddressLength(args[..colon], out uint address, out uint length)
            || length > PacketSize
            || args.Length - colon - 1 != length * 2)
        {
            return "E22";
        }
        byte[] data = new byte[length];
        if (!GdbPacket.TryDecodeHex(args[(colon + 1)..], data))
        {
            return "E22";
        }
        uint[] physical = new uint[length];
        for (uint i = 0; i < length; i++)
        {
            if (!TryTranslate(address + i, out physical[i]))
            {
                return "E14";
            }
        }
        for (int i = 0; i < data.Length; i++)
        {
            vm.Memory.Load(physical[i], data.AsSpan(i, 1));
        }
        return "OK";
    }

    private bool TryTranslate(uint linear, out uint physical) =>
        vm.Cpu.TryTranslateNoSideEffects(linear, out physical) && vm.Memory.IsRam(physical, 1);

    /// <summary>Z/z types 0 (software) and 1 (hardware) are the same thing here; watchpoints (2-4) are unsupported.</summary>
    private string Breakpoint(bool insert, ReadOnlySpan<char> args)
    {
        int comma = args.IndexOf(',');
        if (comma != 1 || !GdbPacket.TryParseAddressLength(args[2..], out uint address, out _))
        {
            return "E22";
        }
        if (args[0] is not ('0' or '1'))
        {
            return "";
        }
        if (insert)
        {
            breakpoints.Add(address);
        }
        else
        {
            breakpoints.Remove(address);
        }
        return "OK";
    }

    // ---- framing ------------------------------------------------------------------------

    /// <summary>
    /// The next well-formed packet's body, acknowledged; null when the connection closed. Bad
    /// checksums are refused with '-' (gdb resends); acks, interrupt bytes and noise between
    /// packets are skipped; a '$' inside a packet starts over (the earlier one was cut short).
    /// Bodies longer than <see cref="PacketSize"/> are acknowledged but flagged, to be refused.
    /// </summary>
    private string? ReadPacket(out bool tooLong)
    {
        var body = new StringBuilder();
        while (true)
        {
            tooLong = false;
            int b = ReadByte(null);
            if (b < 0)
            {
                return null;
            }
            if (b != '$')
            {
                continue;
            }
            body.Clear();
            byte sum = 0;
            while ((b = ReadByte(null)) != '#')
            {
                if (b < 0)
                {
                    return null;
                }
                if (b == '$')
                {
                    body.Clear();
                    sum = 0;
                    tooLong = false;
                    continue;
                }
                sum += (byte)b;
                if (body.Length < PacketSize)
                {
                    body.Append((char)b);
                }
                else
                {
                    tooLong = true;
                }
            }
            int hi = ReadByte(null);
            int lo = hi < 0 ? -1 : ReadByte(null);
            if (lo < 0)
            {
                return null;
            }
            int high = GdbPacket.HexValue(hi), low = GdbPacket.HexValue(lo);
            if (high < 0 || low < 0 || ((high << 4) | low) != sum)
            {
                Log?.WriteLine($"<- bad checksum on {body}");
                SendRaw((byte)'-');
                continue;
            }
            SendRaw((byte)'+');
            return body.ToString();
        }
    }

    /// <summary>Sends a reply and waits for its ack, resending on '-' a few times.</summary>
    private void SendPacket(string body)
    {
        Log?.WriteLine($"-> {body}");
        byte[] frame = GdbPacket.Frame(body);
        for (int attempt = 0; attempt < 5; attempt++)
        {
            connection!.Send(frame);
            while (true)
            {
                int b = ReadByte(AckTimeout);
                if (b == '+' || b == -2)
                {
                    // Acknowledged, or no answer in time: carry on rather than hang the VM on a quiet peer.
                    return;
                }
                if (b == -1)
                {
                    throw new IOException("gdb closed the connection");
                }
                if (b == '$')
                {
                    // A new packet without an ack: take it as one, and leave the packet to be read.
                    receivePos--;
                    return;
                }
                if (b == '-')
                {
                    break;
                }
            }
        }
    }

    private void SendRaw(byte b)
    {
        Span<byte> one = [b];
        connection!.Send(one);
    }

    /// <summary>The next byte from gdb; -1 when the connection closed, -2 when <paramref name="timeout"/> passed first.</summary>
    private int ReadByte(TimeSpan? timeout)
    {
        if (receivePos < receiveLength)
        {
            return receiveBuffer[receivePos++];
        }
        Socket socket = connection!;
        if (timeout is { } t && !socket.Poll(t, SelectMode.SelectRead))
        {
            return -2;
        }
        int n = socket.Receive(receiveBuffer);
        if (n == 0)
        {
            return -1;
        }
        receivePos = 1;
        receiveLength = n;
        return receiveBuffer[0];
    }
}
