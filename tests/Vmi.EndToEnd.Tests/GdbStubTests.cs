using Vmi.TestSupport;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Vmi.Machine;
using Vmi.Machine.Boot;
using Vmi.Machine.Debugging;
using Vmi.Machine.Diagnostics;

namespace Vmi.EndToEnd.Tests;

/// <summary>
/// The GDB remote stub: raw protocol exchanges against a stub over the test kernel, then a real gdb.
/// Every socket operation and wait is bounded (<see cref="Timeout"/>) so a broken stub fails a test
/// instead of hanging the run; each stub listens on a port the OS picks, so tests run in parallel.
/// </summary>
public sealed class GdbStubTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    // ---- framing helpers ----------------------------------------------------------------

    [Fact]
    public void PacketsAreFramedWithTheirChecksum()
    {
        Assert.Equal("$g#67", Encoding.ASCII.GetString(GdbPacket.Frame("g")));
        Assert.Equal("$#00", Encoding.ASCII.GetString(GdbPacket.Frame("")));
        Assert.Equal("$OK#9a", Encoding.ASCII.GetString(GdbPacket.Frame("OK")));
        Assert.True(GdbPacket.TryParseHex("0000000000100000", out uint padded));
        Assert.Equal(0x100000u, padded);
        Assert.False(GdbPacket.TryParseHex("100000000", out _));
        Assert.False(GdbPacket.TryParseHex("12g", out _));
        Assert.False(GdbPacket.TryParseHex("", out _));
        Assert.False(GdbPacket.TryParseAddressLength("100000", out _, out _));
    }

    // ---- raw protocol ---------------------------------------------------------------------

    [Fact]
    public void AnswersTheQueriesGdbStartsWithAndReportsTheEntryState()
    {
        using var s = StubSession.Start();
        Assert.Equal("S05", s.Gdb.Command("?"));
        Assert.Contains("PacketSize=4000", s.Gdb.Command("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386"), StringComparison.Ordinal);
        Assert.Equal("1", s.Gdb.Command("qAttached"));
        Assert.Equal("QC1", s.Gdb.Command("qC"));
        Assert.Equal("m1", s.Gdb.Command("qfThreadInfo"));
        Assert.Equal("l", s.Gdb.Command("qsThreadInfo"));
        Assert.Equal("OK", s.Gdb.Command("Hg0"));
        Assert.Equal("", s.Gdb.Command("vMustReplyEmpty"));
        Assert.Equal("", s.Gdb.Command("qNoSuchQuery"));
        Assert.Equal("", s.Gdb.Command("!"));

        string regs = s.Gdb.Command("g");
        Assert.Equal(16 * 8, regs.Length);
        Assert.Equal(MultibootInfoBuilder.BootloaderMagic, Register(regs, 0));
        Assert.Equal(Image.EntryPoint, Register(regs, 8));
        Assert.Equal(0x08u, Register(regs, 10));
        Assert.Equal(0x10u, Register(regs, 11));
        Assert.Equal(Le32(Image.EntryPoint), s.Gdb.Command("p8"));
        Assert.Equal("xxxxxxxx", s.Gdb.Command("p10"));
        Assert.Equal(0L, s.Vm.Cpu.InstructionsRetired);
    }

    [Fact]
    public void ReadsTheMultibootHeaderThroughLinearMemory()
    {
        (uint address, byte[] header) = MultibootHeader();
        using var s = StubSession.Start();
        Assert.Equal(Convert.ToHexString(header).ToLowerInvariant(), s.Gdb.Command($"m{address:x},{header.Length:x}"));
        // Beyond RAM nothing is mapped: EFAULT, and a read that runs off the end is cut short.
        Assert.Equal("E14", s.Gdb.Command("mf0000000,4"));
        uint ramEnd = s.Vm.Memory.RamSize;
        Assert.Equal(4, s.Gdb.Command($"m{ramEnd - 2:x},8").Length);
    }

    [Fact]
    public void WritesMemoryAndRegisters()
    {
        using var s = StubSession.Start();
        Assert.Equal("OK", s.Gdb.Command("M200000,4:78563412"));
        Assert.Equal("78563412", s.Gdb.Command("m200000,4"));
        Assert.Equal(0x12345678u, s.Vm.Memory.Read32(0x200000));
        Assert.Equal("OK", s.Gdb.Command("P0=efbeadde"));
        Assert.Equal("efbeadde", s.Gdb.Command("p0"));
        Assert.Equal(0xDEADBEEFu, s.Vm.Cpu.Eax);
        // Segment registers cannot be loaded through the stub; rewriting the same selector is fine.
        Assert.Equal("E22", s.Gdb.Command("Pa=1b000000"));
        Assert.Equal("OK", s.Gdb.Command("Pa=08000000"));
        string regs = s.Gdb.Command("g");
        Assert.Equal("OK", s.Gdb.Command("G" + regs));
        Assert.Equal(regs, s.Gdb.Command("g"));
    }

    [Fact]
    public void BreakpointAtKmainStopsThereAndTheGuestThenRunsToItsExit()
    {
        uint kmain = Symbol("kmain");
        using var s = StubSession.Start();
        Assert.Equal("OK", s.Gdb.Command($"Z0,{kmain:x},1"));
        Assert.Equal("S05", s.Gdb.Command("c"));
        Assert.Equal(kmain, Register(s.Gdb.Command("g"), 8));
        Assert.Equal(kmain, s.Vm.Cpu.Eip);
        // Continuing from the breakpoint leaves it (gdb need not remove it first), and nothing else stops the guest.
        Assert.Equal("W01", s.Gdb.Command("c"));
        VmRunResult r = s.WaitForServe();
        Assert.Equal(VmExitReason.DebugExit, r.Reason);
        Assert.Equal(1, r.GuestExitCode);
        Assert.Contains("done failures=0", s.Serial, StringComparison.Ordinal);
    }

    [Fact]
    public void RemovedBreakpointsNoLongerStop()
    {
        uint kmain = Symbol("kmain");
        using var s = StubSession.Start();
        Assert.Equal("OK", s.Gdb.Command($"Z1,{kmain:x},1"));
        Assert.Equal("OK", s.Gdb.Command($"z1,{kmain:x},1"));
        Assert.Equal("", s.Gdb.Command($"Z2,{kmain:x},4"));
        Assert.Empty(s.Stub.Breakpoints);
        Assert.Equal("W01", s.Gdb.Command("c"));
    }

    [Fact]
    public void StepRunsExactlyOneInstruction()
    {
        using var s = StubSession.Start();
        uint entry = Image.EntryPoint;
        Assert.Equal("S05", s.Gdb.Command("s"));
        Assert.Equal(1L, s.Vm.Cpu.InstructionsRetired);
        Assert.Equal(entry + 1, Register(s.Gdb.Command("g"), 8)); // cli
        Assert.Equal("S05", s.Gdb.Command("s"));
        Assert.Equal(2L, s.Vm.Cpu.InstructionsRetired);
        Assert.Equal(entry + 6, Register(s.Gdb.Command("g"), 8)); // mov $stack_top, %esp
    }

    [Fact]
    public void BadChecksumsAreRefusedAndMalformedPacketsGetErrors()
    {
        using var s = StubSession.Start();
        s.Gdb.SendRaw("$g#00");
        Assert.Equal('-', s.Gdb.ReadByte());
        s.Gdb.SendRaw("$g#zz");
        Assert.Equal('-', s.Gdb.ReadByte());
        // Noise between packets is ignored, and a '$' inside a packet starts a new one.
        s.Gdb.SendRaw("noise+-\u0003$gar$?#3f");
        Assert.Equal('+', s.Gdb.ReadByte());
        Assert.Equal("S05", s.Gdb.ReadReply());
        foreach (string bad in new[] { "m", "mzz,4", "m100000", "M100000,2:zz", "M100000,4:00", "Zq", "Z0,", "p1000", "pzz", "P8=zz", "P8", "Gxyz", "czz", "s100000000" })
        {
            Assert.Equal("E22", s.Gdb.Command(bad));
        }
        Assert.Equal("E22", s.Gdb.Command(new string('m', GdbStub.PacketSize + 10)));
        Assert.Equal("", s.Gdb.Command(""));
        Assert.Equal(0L, s.Vm.Cpu.InstructionsRetired);
        Assert.Equal(Image.EntryPoint, Register(s.Gdb.Command("g"), 8));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CtrlCStopsARunningGuestWithSigint(bool withBreakpoint)
    {
        using var s = StubSession.Start("bench=loop iters=100000000");
        if (withBreakpoint)
        {
            // A breakpoint that is never reached: the guest runs one instruction at a time and must still hear Ctrl-C.
            Assert.Equal("OK", s.Gdb.Command("Z0,ffff0,1"));
        }
        s.Gdb.Send("c");
        Thread.Sleep(200);
        s.Gdb.SendRaw("\u0003");
        Assert.Equal("S02", s.Gdb.ReadReply());
        Assert.True(s.Vm.Cpu.InstructionsRetired > 0);
        Assert.Equal("S02", s.Gdb.Command("?"));
        s.Gdb.Send("k");
        VmRunResult r = s.WaitForServe();
        Assert.Equal(VmExitReason.HypervisorStop, r.Reason);
        Assert.Contains("gdb killed", r.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void CtrlCReachesAGuestIdleUntilConsoleInput()
    {
        using var s = StubSession.Start();
        bool consoleWaited = false;
        Func<bool> console = () =>
        {
            // The CLI's console wait blocks until a key; under gdb the stub must not call it.
            consoleWaited = true;
            Thread.Sleep(Timeout);
            return false;
        };
        s.Vm.WaitForHostInput = console;
        // COM1's receive interrupt on and IRQ4 unmasked (the PICs power up masked), then sti; hlt; jmp
        // back to the hlt: idle with interrupts on and no timer, so only console input could wake it.
        s.Vm.Board.PortWrite(Board.Com1Port + 1, 1, 0x01);
        s.Vm.Board.PortWrite(0x21, 1, 0xEF);
        Assert.Equal("OK", s.Gdb.Command($"M{Image.EntryPoint:x},4:fbf4ebfd"));
        s.Gdb.Send("c");
        Thread.Sleep(200);
        s.Gdb.SendRaw("\u0003");
        Assert.Equal("S02", s.Gdb.ReadReply());
        Assert.False(consoleWaited);
        Assert.Same(console, s.Vm.WaitForHostInput);
        Assert.Equal(Image.EntryPoint + 2, s.Vm.Cpu.Eip);
    }

    [Fact]
    public void SteppingOverGdbTakesEveryInterruptAtTheSameInstruction()
    {
        // The ticks probe with a fast PIT (~2,500 instructions per tick): run freely, then step every
        // instruction over the gdb connection; the (instruction count, vector) of each interrupt is the same.
        const string args = "ticks=4000 divisor=3";
        var free = Vm.BootMultiboot(new VmConfig
        {
            CommandLine = MultibootInfoBuilder.QemuStyleCommandLine(VmiRunner.TestKernel, args),
        }, File.ReadAllBytes(VmiRunner.TestKernel));
        InterruptLog expected = InterruptLog.Attach(free.Cpu);
        VmRunResult freeRun = free.Run(10_000_000);
        Assert.Equal(VmExitReason.DebugExit, freeRun.Reason);
        Assert.True(expected.Delivered.Count >= 4, $"{expected.Delivered.Count} interrupts");

        using var s = StubSession.Start(args);
        InterruptLog stepped = InterruptLog.Attach(s.Vm.Cpu);
        string reply;
        int steps = 0;
        while ((reply = s.Gdb.Command("s")) == "S05")
        {
            steps++;
            Assert.True(steps <= freeRun.Instructions, "stepped past the end of the free run");
        }

        Assert.Equal("W01", reply); // the probe wrote 0 to the debug-exit port: status (0 << 1) | 1
        Assert.Equal(expected.Delivered, stepped.Delivered);
        Assert.Equal(freeRun.Instructions, s.WaitForServe().Instructions);
    }

    [Fact]
    public void TheGuestsOwnDebugExceptionsAreUntouchedByTheDebugger()
    {
        // The test kernel's self-tests use TF, DR0-DR3, DR6 and DR7 (singlestep, code, data and I/O
        // breakpoints). Under gdb, first stepped, then run one instruction per turn because a
        // breakpoint is set, the guest prints exactly what it prints alone and ends the same way.
        const string args = "hello";
        var serial = new MemoryStream();
        var free = Vm.BootMultiboot(new VmConfig
        {
            CommandLine = MultibootInfoBuilder.QemuStyleCommandLine(VmiRunner.TestKernel, args),
            SerialOutput = serial,
        }, File.ReadAllBytes(VmiRunner.TestKernel));
        VmRunResult freeRun = free.Run(100_000_000);
        string expected = Encoding.ASCII.GetString(serial.ToArray());
        Assert.Contains("ok singlestep 7", expected, StringComparison.Ordinal);

        using var s = StubSession.Start(args);
        for (int i = 0; i < 2000; i++)
        {
            Assert.Equal("S05", s.Gdb.Command("s"));
        }
        Assert.Equal("OK", s.Gdb.Command("Z0,3ff000,1")); // never reached: only forces stepping mode
        Assert.Equal("W01", s.Gdb.Command("c"));

        Assert.Equal(expected, s.Serial);
        Assert.Equal(freeRun.Instructions, s.WaitForServe().Instructions);
    }

    [Fact]
    public void AGuestThatCanNeverWakeExitsWithStatusZero()
    {
        using var s = StubSession.Start();
        Assert.Equal("OK", s.Gdb.Command($"M{Image.EntryPoint:x},4:fbf4ebfd"));
        Assert.Equal("W00", s.Gdb.Command("c"));
        Assert.Equal(VmExitReason.Halted, s.WaitForServe().Reason);
    }

    [Theory]
    [InlineData("s", true)]
    [InlineData("c", true)]
    [InlineData("c", false)]
    public void CtrlCAndKillReachAGuestThatNeverRetiresAnInstruction(string command, bool breakpointSet)
    {
        using var s = StubSession.Start();
        uint ud2 = WriteFaultLoop(s);
        Assert.Equal("OK", s.Gdb.Command($"Z0,{ud2:x},1"));
        Assert.Equal("S05", s.Gdb.Command("c"));
        Assert.Equal(ud2, s.Vm.Cpu.Eip);
        if (!breakpointSet)
        {
            Assert.Equal("OK", s.Gdb.Command($"z0,{ud2:x},1"));
        }
        long retired = s.Vm.Cpu.InstructionsRetired;
        s.Gdb.Send(command);
        Thread.Sleep(200);
        s.Gdb.SendRaw("\u0003");
        Assert.Equal("S02", s.Gdb.ReadReply());
        // Every #UD was delivered to the UD2 itself: nothing retired, and the guest is where it was.
        Assert.Equal(retired, s.Vm.Cpu.InstructionsRetired);
        Assert.True(s.Vm.Cpu.Counters.Exceptions > 1);
        Assert.Equal(ud2, s.Vm.Cpu.Eip);
        s.Gdb.Send("k");
        VmRunResult r = s.WaitForServe();
        Assert.Equal(VmExitReason.HypervisorStop, r.Reason);
        Assert.Contains("gdb killed", r.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void ADisconnectDuringAFaultLoopLetsTheStubStop()
    {
        using var s = StubSession.Start();
        WriteFaultLoop(s);
        s.Gdb.Send("c");
        Thread.Sleep(200);
        s.Gdb.Dispose();
        Thread.Sleep(200);
        // gdb is gone, so the guest runs on detached; closing the stub must still end the run.
        s.Stub.Dispose();
        VmRunResult r = s.WaitForServe();
        Assert.Equal(VmExitReason.HypervisorStop, r.Reason);
    }

    [Fact]
    public void RegisterWritesKeepTheReservedEflagsBits()
    {
        using var s = StubSession.Start();
        // Bit 1 always reads 1; bits 3, 5, 15 and 22-31 always read 0, whatever gdb writes; so do
        // VIF and VIP (19, 20), since this CPU has no VME/PVI (CPUID does not report them).
        Assert.Equal("OK", s.Gdb.Command("P9=ffffffff"));
        Assert.Equal(0x0027_7FD7u, Register(s.Gdb.Command("g"), 9));
        Assert.Equal(0x0027_7FD7u, s.Vm.Cpu.Eflags);
        string regs = s.Gdb.Command("g");
        Assert.Equal("OK", s.Gdb.Command("G" + regs[..(9 * 8)] + "00000000" + regs[(10 * 8)..]));
        Assert.Equal(0x2u, Register(s.Gdb.Command("g"), 9));
        Assert.Equal("OK", s.Gdb.Command("G" + regs[..(9 * 8)] + "28800000" + regs[(10 * 8)..]));
        Assert.Equal(0x2u, s.Vm.Cpu.Eflags);
    }

    /// <summary>Replaces the kernel's entry code with <see cref="FlatKernel.FaultLoop"/>; returns the UD2's address.</summary>
    private static uint WriteFaultLoop(StubSession s)
    {
        uint entry = Image.EntryPoint;
        byte[] code = FlatKernel.Assemble(entry, a => FlatKernel.FaultLoop(a));
        Assert.Equal("OK", s.Gdb.Command($"M{entry:x},{code.Length:x}:{Convert.ToHexString(code).ToLowerInvariant()}"));
        return FlatKernel.FaultLoopUd2;
    }

    [Fact]
    public void TheInstructionLimitEndsTheSessionWithSigxcpu()
    {
        using var s = StubSession.Start(maxInstructions: 1000);
        Assert.Equal("X18", s.Gdb.Command("c"));
        VmRunResult r = s.WaitForServe();
        Assert.Equal(VmExitReason.InstructionLimit, r.Reason);
        Assert.Equal(1000L, r.Instructions);
    }

    [Fact]
    public void DetachLetsTheGuestRunToItsEnd()
    {
        using var s = StubSession.Start();
        Assert.Equal("OK", s.Gdb.Command("D"));
        VmRunResult r = s.WaitForServe();
        Assert.Equal(VmExitReason.DebugExit, r.Reason);
        Assert.Contains("done failures=0", s.Serial, StringComparison.Ordinal);
    }

    [Fact]
    public void TheStubListensOnLoopbackOnly()
    {
        using var s = StubSession.Start();
        // The one connection is taken, so the stub stops listening: a second debugger is refused.
        // The stub's thread closes the listener right after accepting, which under load may be a
        // moment after our connect returned: wait for it, boundedly.
        System.Net.IPEndPoint[] Listeners() => System.Net.NetworkInformation.IPGlobalProperties.GetIPGlobalProperties().GetActiveTcpListeners()
            .Where(e => e.Port == s.Stub.Port).ToArray();
        var clock = Stopwatch.StartNew();
        while (Listeners().Length > 0 && clock.Elapsed < Timeout)
        {
            Thread.Sleep(10);
        }
        Assert.Empty(Listeners());
        using var second = new TcpClient();
        Assert.ThrowsAny<SocketException>(() => second.Connect("127.0.0.1", s.Stub.Port));
    }

    [Fact]
    public void TheListeningSocketIsBoundToLoopback()
    {
        string elf = VmiRunner.TestKernel;
        Vm vm = Vm.BootMultiboot(new VmConfig { SerialOutput = Stream.Null }, File.ReadAllBytes(elf));
        using var stub = new GdbStub(vm, 0);
        System.Net.IPEndPoint listening = Assert.Single(System.Net.NetworkInformation.IPGlobalProperties.GetIPGlobalProperties().GetActiveTcpListeners(),
            e => e.Port == stub.Port);
        Assert.Equal(System.Net.IPAddress.Loopback, listening.Address);
    }

    // ---- the CLI and a real gdb -----------------------------------------------------------

    [Theory]
    [InlineData("70000")]
    [InlineData("-1")]
    [InlineData("abc")]
    public void BadGdbPortIsAUsageError(string port)
    {
        var r = VmiRunner.Cli("run", VmiRunner.TestKernel, "--gdb", port);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--gdb", r.Stderr, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void RealGdbStopsAtKmain()
    {
        string? gdb = FindOnPath("gdb");
        Skip.If(gdb is null, "gdb is not installed (not on PATH)");
        string elf = VmiRunner.TestKernel;
        uint kmain = Symbol("kmain");

        string serialFile = Path.Combine(Path.GetTempPath(), $"vmi-gdb-{Guid.NewGuid():N}.txt");
        try
        {
            RunGdbAgainstCli(gdb!, elf, kmain, serialFile);
        }
        finally
        {
            File.Delete(serialFile);
        }
    }

    private static void RunGdbAgainstCli(string gdb, string elf, uint kmain, string serialFile)
    {
        using var vmi = VmiRunner.Start("run", elf, "--gdb", "0", "--serial", serialFile);
        var stderr = new StringBuilder();
        int port = WaitForPortLine(vmi, stderr);

        var psi = new ProcessStartInfo(gdb)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string a in new[]
        {
            "-batch", "-nx", elf,
            "-ex", "set architecture i386",
            "-ex", $"target remote 127.0.0.1:{port}",
            "-ex", "break kmain",
            "-ex", "continue",
            "-ex", "info registers eip",
            "-ex", "kill",
        })
        {
            psi.ArgumentList.Add(a);
        }
        using var g = Process.Start(psi)!;
        g.StandardInput.Close();
        Task<string> output = g.StandardOutput.ReadToEndAsync();
        Task<string> errors = g.StandardError.ReadToEndAsync();
        if (!g.WaitForExit(Timeout))
        {
            g.Kill(entireProcessTree: true);
            Assert.Fail($"gdb did not finish within {Timeout.TotalSeconds} s");
        }
        string text = output.Result + errors.Result;
        Assert.Matches(@"Breakpoint 1, 0x0*" + kmain.ToString("x", CultureInfo.InvariantCulture) + " in kmain", text);
        Assert.Matches(@"eip\s+0x" + kmain.ToString("x", CultureInfo.InvariantCulture) + @"\s", text);
        Assert.Contains("killed", text, StringComparison.Ordinal);

        Assert.True(vmi.WaitForExit(Timeout), "vmi did not exit after gdb killed the guest");
        vmi.WaitForExit();
        stderr.Append(vmi.StandardError.ReadToEnd());
        Assert.Equal(1, vmi.ExitCode);
        Assert.Contains("gdb killed the guest", stderr.ToString(), StringComparison.Ordinal);
    }

    // ---- helpers --------------------------------------------------------------------------

    private static MultibootImage Image => MultibootImage.Parse(File.ReadAllBytes(VmiRunner.TestKernel));

    private static uint Register(string gReply, int number) =>
        BitConverter.ToUInt32(Convert.FromHexString(gReply.Substring(number * 8, 8)));

    private static string Le32(uint v) => Convert.ToHexString(BitConverter.GetBytes(v)).ToLowerInvariant();

    /// <summary>The multiboot header's load address and bytes (magic, flags, checksum), found through the image's segments.</summary>
    private static (uint Address, byte[] Bytes) MultibootHeader()
    {
        byte[] file = File.ReadAllBytes(VmiRunner.TestKernel);
        MultibootImage image = MultibootImage.Parse(file);
        byte[] header = file.AsSpan((int)image.HeaderOffset, 12).ToArray();
        foreach (LoadSegment seg in image.Segments)
        {
            int at = seg.FileBytes.AsSpan().IndexOf(header);
            if (at >= 0)
            {
                return (seg.PhysicalAddress + (uint)at, header);
            }
        }
        throw new InvalidOperationException("the multiboot header is in no loaded segment");
    }

    /// <summary>A symbol's address from the kernel's ELF symbol table (binutils' nm, which the kernel build needs anyway).</summary>
    private static uint Symbol(string name)
    {
        var psi = new ProcessStartInfo("nm", [VmiRunner.TestKernel]) { RedirectStandardOutput = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        string text = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(Timeout), "nm did not finish");
        Match m = Regex.Match(text, @"^([0-9a-fA-F]+) [Tt] " + Regex.Escape(name) + "$", RegexOptions.Multiline);
        Assert.True(m.Success, $"no text symbol '{name}' in {VmiRunner.TestKernel}");
        return uint.Parse(m.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);


    /// <summary>Reads vmi's stderr up to its "waiting for gdb" line and returns the port it names.</summary>
    private static int WaitForPortLine(Process vmi, StringBuilder stderr)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < Timeout)
        {
            Task<string?> line = vmi.StandardError.ReadLineAsync();
            if (!line.Wait(Timeout - deadline.Elapsed) || line.Result is null)
            {
                break;
            }
            stderr.AppendLine(line.Result);
            Match m = Regex.Match(line.Result, @"^vmi: waiting for gdb on 127\.0\.0\.1:(\d+)$");
            if (m.Success)
            {
                return int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            }
        }
        vmi.Kill(entireProcessTree: true);
        Assert.Fail($"vmi never said which port it waits on; stderr so far:\n{stderr}");
        return 0;
    }

    /// <summary>A VM booting the test kernel, its stub serving on a background thread, and a raw client connected to it.</summary>
    private sealed class StubSession : IDisposable
    {
        private readonly MemoryStream serial = new();
        private readonly Task<VmRunResult> serve;

        private StubSession(string args, long maxInstructions)
        {
            string elf = VmiRunner.TestKernel;
            Vm = Vm.BootMultiboot(new VmConfig
            {
                CommandLine = MultibootInfoBuilder.QemuStyleCommandLine(elf, args),
                SerialOutput = serial,
            }, File.ReadAllBytes(elf));
            Stub = new GdbStub(Vm, 0);
            serve = Task.Factory.StartNew(() => Stub.Serve(maxInstructions), TaskCreationOptions.LongRunning);
            try
            {
                Gdb = new RawGdb(Stub.Port);
            }
            catch
            {
                Stub.Dispose();
                throw;
            }
        }

        public Vm Vm { get; }

        public GdbStub Stub { get; }

        public RawGdb Gdb { get; }

        /// <summary>What the guest printed; read it only once the guest stopped (the stub's thread writes it).</summary>
        public string Serial => Encoding.ASCII.GetString(serial.ToArray());

        /// <summary>Bounded by default so a test whose guest never ends still finishes.</summary>
        public static StubSession Start(string args = "", long maxInstructions = 20_000_000_000) => new(args, maxInstructions);

        public VmRunResult WaitForServe()
        {
            Assert.True(serve.Wait(Timeout), "the stub did not finish serving");
            return serve.Result;
        }

        public void Dispose()
        {
            // The stub first: were gdb to hang up first, the stub would let the guest run on detached.
            Stub.Dispose();
            Gdb.Dispose();
            // Disposing the stub makes Serve return promptly; a stub that does not is a bug worth failing on.
            Assert.True(serve.Wait(Timeout), "the stub did not stop after being disposed");
        }
    }

    /// <summary>The client side of the protocol, byte by byte, with ack handling and timeouts.</summary>
    private sealed class RawGdb : IDisposable
    {
        private readonly NetworkStream stream;

        public RawGdb(int port)
        {
            // Like gdb itself: no Nagle delay, or each ack-then-packet exchange waits for a delayed ACK.
            Client = new TcpClient { NoDelay = true, ReceiveTimeout = (int)Timeout.TotalMilliseconds, SendTimeout = (int)Timeout.TotalMilliseconds };
            using var cts = new CancellationTokenSource(Timeout);
            Client.ConnectAsync("127.0.0.1", port, cts.Token).AsTask().Wait(Timeout);
            Assert.True(Client.Connected, $"could not connect to the stub on port {port}");
            stream = Client.GetStream();
        }

        public TcpClient Client { get; }

        public void SendRaw(string text) => stream.Write(Encoding.ASCII.GetBytes(text));

        public char ReadByte()
        {
            int b = stream.ReadByte();
            Assert.True(b >= 0, "the stub closed the connection");
            return (char)b;
        }

        /// <summary>Sends a packet and expects the stub's '+'.</summary>
        public void Send(string body)
        {
            stream.Write(GdbPacket.Frame(body));
            Assert.Equal('+', ReadByte());
        }

        /// <summary>Reads one reply packet, checks its checksum and acknowledges it.</summary>
        public string ReadReply()
        {
            char c;
            while ((c = ReadByte()) != '$')
            {
                Assert.True(c is '+' or '-', $"unexpected byte 0x{(int)c:x2} before a reply");
            }
            var body = new StringBuilder();
            while ((c = ReadByte()) != '#')
            {
                body.Append(c);
            }
            string sum = $"{ReadByte()}{ReadByte()}";
            Assert.Equal(GdbPacket.Checksum(Encoding.ASCII.GetBytes(body.ToString())), byte.Parse(sum, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            SendRaw("+");
            return body.ToString();
        }

        public string Command(string body)
        {
            Send(body);
            return ReadReply();
        }

        public void Dispose() => Client.Dispose();
    }
}
