using System.Collections.Concurrent;
using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using Vmi.Cpu;
using Vmi.Machine;
using Vmi.Machine.Boot;
using Vmi.Machine.Debugging;

namespace Vmi.Cli.Commands;

/// <summary>`vmi run KERNEL.elf`: boots a multiboot kernel on the machine and reports what happened.</summary>
public static class RunCommand
{
    public static Command Create()
    {
        var kernel = new Argument<FileInfo>("kernel") { Description = "multiboot ELF32 kernel to boot" };
        var memory = new Option<string>("--memory", "-m") { Description = "guest RAM size (e.g. 64M, 256MiB)", DefaultValueFactory = _ => "64M" };
        var cmdline = new Option<string>("--cmdline") { Description = "kernel command line (multiboot cmdline), passed byte for byte", DefaultValueFactory = _ => "" };
        var initrd = new Option<string?>("--initrd") { Description = "multiboot modules, as qemu -initrd: \"FILE [ARGS][,FILE [ARGS]...]\" (',,' is a literal comma)" };
        var cpu = new Option<string>("--cpu") { Description = "CPU model: " + string.Join(", ", CpuModel.All.Select(m => m.Name)), DefaultValueFactory = _ => CpuModel.Pentium4.Name };
        var maxInstructions = new Option<long?>("--max-instructions") { Description = "stop after this many guest instructions" };
        var maxGuestTime = new Option<string?>("--max-guest-time") { Description = "stop when guest time reaches SECONDS (busy or idle)" };
        var serial = new Option<FileInfo?>("--serial") { Description = "write the guest's COM1 output to FILE instead of stdout" };
        var json = new Option<string?>("--json") { Description = "write the run summary as JSON to FILE ('-' for stdout)" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "no summary on stderr" };
        var rom = new Option<FileInfo?>("--rom") { Description = "option ROM image to map (e.g. from 'vmi rom build')" };
        var romProfile = new Option<string?>("--rom-profile") { Description = "build and map a ROM from a profile: " + string.Join(", ", Vmi.Rom.RomProfiles.Names) };
        var trace = new Option<FileInfo?>("--trace") { Description = "write every executed instruction (count, address, bytes, disassembly) to FILE" };
        var traceLimit = new Option<long>("--trace-limit") { Description = "stop tracing after this many instructions", DefaultValueFactory = _ => 1_000_000 };
        var gdb = new Option<int?>("--gdb") { Description = "wait for gdb on 127.0.0.1:PORT before the first instruction (0: any free port)" };
        var romBase = new Option<string?>("--rom-base") { Description = "physical address of the ROM (2 KiB aligned in 0xC0000-0xDFFFF, default 0xC0000)" };

        var command = new Command("run", "boot a multiboot kernel and run it until it exits")
        {
            kernel, memory, cmdline, initrd, cpu, maxInstructions, maxGuestTime, serial, json, quiet, rom, romProfile, romBase, trace, traceLimit, gdb,
        };
        command.SetAction(parse => Execute(
            new RomChoice(parse.GetValue(rom), parse.GetValue(romProfile), parse.GetValue(romBase)),
            new TraceChoice(parse.GetValue(trace), parse.GetValue(traceLimit)),
            parse.GetValue(gdb),
            parse.GetValue(kernel)!,
            parse.GetValue(memory)!,
            parse.GetValue(cmdline) ?? "",
            parse.GetValue(initrd),
            parse.GetValue(cpu)!,
            new Limits(parse.GetValue(maxInstructions), parse.GetValue(maxGuestTime)),
            parse.GetValue(serial),
            parse.GetValue(json),
            parse.GetValue(quiet)));
        return command;
    }

    private sealed record RomChoice(FileInfo? File, string? Profile, string? Base);

    private sealed record TraceChoice(FileInfo? File, long Limit);

    /// <summary>--max-instructions and --max-guest-time.</summary>
    private sealed record Limits(long? Instructions, string? GuestSeconds);

    /// <summary>Resolves --rom/--rom-profile/--rom-base into an image and address, or an error message.</summary>
    private static string? ResolveRom(RomChoice choice, out byte[]? image, out uint romBase)
    {
        image = null;
        romBase = VmConfig.DefaultOptionRomBase;
        if (choice.File is not null && choice.Profile is not null)
        {
            return "--rom and --rom-profile are mutually exclusive";
        }
        if (choice.Base is not null && !AddressParser.TryParse(choice.Base, out romBase))
        {
            return $"--rom-base: '{choice.Base}' is not an address";
        }
        if (choice.Profile is not null)
        {
            image = Vmi.Rom.RomProfiles.Build(choice.Profile)?.Image;
            if (image is null)
            {
                return $"--rom-profile: unknown profile '{choice.Profile}' (known: {string.Join(", ", Vmi.Rom.RomProfiles.Names)})";
            }
        }
        else if (choice.File is not null)
        {
            image = Rom.RomCommand.ReadRomFile(choice.File);
            if (image is null)
            {
                return $"--rom: cannot use '{choice.File.FullName}'";
            }
            // A ROM that breaks the rules is still mapped (a kernel must cope with one), but the user hears about it.
            var violations = Vmi.Abi.RomValidator.Validate(image);
            if (violations.Count > 0)
            {
                Console.Error.WriteLine($"vmi: warning: {choice.File.Name} breaks {violations.Count} VMI ROM rule(s), first: {violations[0]}");
            }
        }
        else if (choice.Base is not null)
        {
            return "--rom-base needs --rom or --rom-profile";
        }
        if (image is not null && Vmi.Machine.Roms.OptionRomWindow.PlacementError(romBase, image.Length) is string problem)
        {
            return $"--rom-base: {problem}";
        }
        return null;
    }

    private static int Execute(RomChoice romChoice, TraceChoice traceChoice, int? gdbPort, FileInfo kernel, string memoryText, string cmdline, string? initrd, string cpuName, Limits limits,
        FileInfo? serialFile, string? jsonPath, bool quiet)
    {
        long? maxInstructions = limits.Instructions;
        if (!SizeParser.TryParse(memoryText, out ulong memoryBytes, out string sizeError))
        {
            return UsageError($"--memory: {sizeError}");
        }
        if (memoryBytes > uint.MaxValue)
        {
            return UsageError($"--memory: {memoryText} is more than a 32-bit machine can address");
        }
        CpuModel? model = CpuModel.Find(cpuName);
        if (model is null)
        {
            return UsageError($"--cpu: unknown model '{cpuName}' (known: {string.Join(", ", CpuModel.All.Select(m => m.Name))})");
        }
        if (maxInstructions is <= 0)
        {
            return UsageError("--max-instructions must be positive");
        }
        // Guest time is counted in nanoseconds (one tick per instruction at 1 GHz): at most ~292 years.
        double? guestSeconds = null;
        if (limits.GuestSeconds is string text)
        {
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) || !(seconds > 0 && seconds * VmConfig.DefaultNominalHz < long.MaxValue))
            {
                return UsageError($"--max-guest-time: '{text}' is not a positive number of seconds");
            }
            guestSeconds = seconds;
        }
        if (traceChoice.Limit <= 0)
        {
            return UsageError("--trace-limit must be positive");
        }
        if (gdbPort is < 0 or > 65535)
        {
            return UsageError($"--gdb: {gdbPort} is not a TCP port (0-65535; 0 picks a free one)");
        }
        if (ResolveRom(romChoice, out byte[]? romImage, out uint romAddress) is string romError)
        {
            return UsageError(romError);
        }
        byte[] image;
        try
        {
            image = File.ReadAllBytes(kernel.FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return UsageError($"cannot read kernel '{kernel.FullName}': {e.Message}");
        }
        IReadOnlyList<MultibootModule> modules;
        try
        {
            // Bytes, not the parsed text: module strings reach the kernel unchanged, as with QEMU.
            modules = initrd is null ? [] : ModuleList.Load(RawArguments.OptionValue("--initrd", initrd));
        }
        catch (BootImageException e)
        {
            return UsageError($"--initrd: {e.Message}");
        }

        Stream serialStream;
        try
        {
            serialStream = serialFile is null ? Console.OpenStandardOutput() : File.Create(serialFile.FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return UsageError($"--serial: cannot create '{serialFile!.FullName}': {e.Message}");
        }

        using (serialStream)
        {
            Vm vm;
            try
            {
                vm = Vm.BootMultiboot(new VmConfig
                {
                    MemoryBytes = (uint)memoryBytes,
                    CommandLineBytes = RawArguments.OptionValue("--cmdline", cmdline),
                    Modules = modules,
                    CpuModel = model,
                    SerialOutput = serialStream,
                    OptionRom = romImage,
                    OptionRomBase = romAddress,
                }, image);
            }
            catch (VmBuildException e)
            {
                return UsageError($"{kernel.Name}: {e.Message}");
            }
            if (guestSeconds is double limit)
            {
                vm.GuestTickLimit = (long)Math.Round(limit * vm.Clock.NominalHz);
            }
            AttachConsoleInput(vm);
            StreamWriter? traceWriter = null;
            if (traceChoice.File is not null)
            {
                try
                {
                    traceWriter = new StreamWriter(traceChoice.File.FullName);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    return UsageError($"--trace: cannot create '{traceChoice.File.FullName}': {e.Message}");
                }
                _ = new Vmi.Machine.Diagnostics.InstructionTracer(vm.Cpu, traceWriter, traceChoice.Limit);
            }
            GdbStub? gdbStub = null;
            if (gdbPort is int port)
            {
                try
                {
                    gdbStub = new GdbStub(vm, port);
                }
                catch (SocketException e)
                {
                    traceWriter?.Dispose();
                    return UsageError($"--gdb: cannot listen on 127.0.0.1:{port}: {e.Message}");
                }
                // Like qemu -s -S: the guest waits at its entry point until gdb connects and continues.
                Console.Error.WriteLine($"vmi: waiting for gdb on 127.0.0.1:{gdbStub.Port}");
            }
            VmRunResult result;
            using (gdbStub)
            using (traceWriter)
            {
                try
                {
                    result = gdbStub?.Serve(maxInstructions ?? long.MaxValue) ?? vm.Run(maxInstructions ?? long.MaxValue);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // Whatever the guest does ends as a guest event or a VM stop; an exception here is a
                    // bug in vmi. Report it with the machine state instead of a bare stack trace.
                    vm.Board.Uart.Flush();
                    Console.Error.WriteLine($"vmi: internal error (a bug in vmi, not in the guest): {e.GetType().Name}: {e.Message}");
                    Console.Error.WriteLine(vm.Cpu.DescribeState());
                    return (int)ExitCode.Failure;
                }
            }
            int exitCode = ExitCodeFor(result);
            if (!quiet)
            {
                WriteSummary(Console.Error, result, model, exitCode);
            }
            if (jsonPath is not null)
            {
                WriteJson(jsonPath, result, model, exitCode, kernel.FullName, cmdline);
            }
            return exitCode;
        }
    }

    /// <summary>The guest's debug-exit status passes through ((v &lt;&lt; 1) | 1, as QEMU's isa-debug-exit); a clean halt is 0.</summary>
    public static int ExitCodeFor(VmRunResult r) => r.Reason switch
    {
        VmExitReason.DebugExit => r.GuestExitCode ?? (int)ExitCode.Failure,
        VmExitReason.Halted => (int)ExitCode.Success,
        _ => (int)ExitCode.Failure,
    };

    private static void AttachConsoleInput(Vm vm)
    {
        if (Console.IsInputRedirected)
        {
            return;
        }
        var queue = new ConcurrentQueue<byte[]>();
        var arrived = new SemaphoreSlim(0);
        bool closed = false;
        var reader = new Thread(() =>
        {
            using Stream stdin = Console.OpenStandardInput();
            var buffer = new byte[256];
            int n;
            while ((n = stdin.Read(buffer, 0, buffer.Length)) > 0)
            {
                queue.Enqueue(buffer[..n]);
                arrived.Release();
            }
            Volatile.Write(ref closed, true);
            arrived.Release();
        })
        { IsBackground = true, Name = "vmi-stdin" };
        reader.Start();
        // Host input reaches the UART only between CPU slices, on the guest thread.
        vm.BetweenSlices = () =>
        {
            while (queue.TryDequeue(out byte[]? chunk))
            {
                vm.Board.Uart.EnqueueInput(chunk);
            }
        };
        // A guest idle with nothing but the console to wake it waits for a key, as on real hardware.
        vm.WaitForHostInput = () =>
        {
            if (queue.IsEmpty && !Volatile.Read(ref closed))
            {
                arrived.Wait();
            }
            return !queue.IsEmpty;
        };
    }

    private static void WriteSummary(TextWriter w, VmRunResult r, CpuModel model, int exitCode)
    {
        var inv = CultureInfo.InvariantCulture;
        w.WriteLine($"vmi: {Describe(r)}");
        w.WriteLine(string.Format(inv, "vmi: {0:N0} instructions on {1}, guest time {2:F6} s, host time {3:F3} s, {4:F1} MIPS, exit code {5}",
            r.Instructions, model.Name, r.GuestSeconds, r.HostSeconds, r.Mips, exitCode));
    }

    private static string Describe(VmRunResult r) => r.Reason switch
    {
        VmExitReason.DebugExit => $"guest exit through the debug port: status {r.GuestExitCode} ({r.Detail})",
        VmExitReason.Halted => r.Detail,
        _ => $"{r.Reason}: {r.Detail}",
    };

    private static void WriteJson(string path, VmRunResult r, CpuModel model, int exitCode, string kernel, string cmdline)
    {
        var summary = new
        {
            kernel,
            cmdline,
            cpu = model.Name,
            exitReason = r.Reason.ToString(),
            guestExitCode = r.GuestExitCode,
            exitCode,
            detail = r.Detail,
            instructions = r.Instructions,
            guestSeconds = r.GuestSeconds,
            hostSeconds = r.HostSeconds,
            mips = r.Mips,
            counters = new
            {
                r.Counters.BlocksDecoded,
                r.Counters.InstructionsDecoded,
                r.Counters.TlbMisses,
                r.Counters.PageWalks,
                r.Counters.Exceptions,
                r.Counters.ExternalInterrupts,
                r.Counters.SoftwareInterrupts,
                r.Counters.PortReads,
                r.Counters.PortWrites,
                r.Counters.SelfModifyingWrites,
            },
        };
        string text = JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true });
        if (path == "-")
        {
            Console.Out.WriteLine(text);
        }
        else
        {
            File.WriteAllText(path, text + Environment.NewLine);
        }
    }

    private static int UsageError(string message)
    {
        Console.Error.WriteLine($"vmi: {message}");
        return (int)ExitCode.Usage;
    }
}
