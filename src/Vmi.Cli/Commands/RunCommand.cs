using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Vmi.Cpu;
using Vmi.Hypervisors;
using Vmi.Machine;
using Vmi.Machine.Boot;
using Vmi.Machine.Debugging;

namespace Vmi.Cli.Commands;

/// <summary>`vmi run KERNEL`: boots a multiboot kernel or a Linux bzImage on the machine and reports what happened.</summary>
public static class RunCommand
{
    public static Command Create()
    {
        var kernel = new Argument<FileInfo>("kernel") { Description = "kernel to boot: a multiboot ELF32 image, or a Linux bzImage (told apart by its setup header)" };
        var memory = new Option<string>("--memory", "-m") { Description = "guest RAM size (e.g. 64M, 256MiB)", DefaultValueFactory = _ => "64M" };
        var cmdline = new Option<string>(CmdlineNames[0], CmdlineNames[1]) { Description = "kernel command line, passed byte for byte (--append is a synonym, as in qemu)", DefaultValueFactory = _ => "" };
        var initrd = new Option<string?>("--initrd") { Description = "Linux: the initrd FILE; multiboot: modules, as qemu -initrd: \"FILE [ARGS][,FILE [ARGS]...]\" (',,' is a literal comma)" };
        var guestDecompress = new Option<bool>("--guest-decompress") { Description = "Linux: do not decompress the kernel on the host; boot the compressed image at code32_start and let the kernel decompress itself" };
        var cpu = new Option<string?>("--cpu") { Description = $"CPU model: {BackendChoice.CpuNames} (default {CpuModel.Pentium4.Name}, or the --hypervisor backend's own)" };
        var maxInstructions = new Option<long?>("--max-instructions") { Description = "stop after this many guest instructions" };
        var maxGuestTime = new Option<string?>("--max-guest-time") { Description = "stop when guest time reaches SECONDS (busy or idle)" };
        var serial = new Option<FileInfo?>("--serial") { Description = "write the guest's COM1 output to FILE instead of stdout" };
        var json = new Option<string?>("--json") { Description = "write the run summary as JSON to FILE ('-' for stdout)" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "no summary on stderr" };
        var rom = new Option<FileInfo?>("--rom") { Description = "option ROM image to map (e.g. from 'vmi rom build')" };
        var romProfile = new Option<string?>("--rom-profile") { Description = "build and map a ROM from a profile: " + RomSource.Names };
        var noRom = new Option<bool>("--no-rom") { Description = "with --hypervisor: do not map the backend's own ROM (by default its VMI ROM is published in the option-ROM window)" };
        var trace = new Option<FileInfo?>("--trace") { Description = "write every executed instruction (count, address, bytes, disassembly) to FILE" };
        var traceLimit = new Option<long>("--trace-limit") { Description = "stop tracing after this many instructions", DefaultValueFactory = _ => 1_000_000 };
        var gdb = new Option<int?>("--gdb") { Description = "wait for gdb on 127.0.0.1:PORT before the first instruction (0: any free port)" };
        var romBase = new Option<string?>("--rom-base") { Description = "physical address of the ROM (2 KiB aligned in 0xC0000-0xDFFFF, default 0xC0000)" };
        var hypervisor = new Option<string?>("--hypervisor") { Description = $"run under a hypervisor backend: {BackendChoice.BackendNames} (default: none, the bare machine)" };
        var costProfile = new Option<string?>("--cost-profile") { Description = $"cost profile pricing the backend's events: {string.Join(", ", Vmi.Hypervisors.Costs.CostProfiles.BuiltInNames)} or a FILE (default {BackendChoice.DefaultProfile}; needs --hypervisor)" };
        var events = new Option<bool>("--events") { Description = "after the run, print the backend's events with their modelled cycles (needs --hypervisor)" };
        var traceEvents = new Option<FileInfo?>("--trace-events") { Description = "write every hypervisor event to FILE as one JSON line (needs --hypervisor)" };
        var rtcBase = new Option<string?>("--rtc-base") { Description = "the CMOS clock at power-on: YYYY-MM-DD[THH:MM:SS] in UTC (default 2026-01-01T00:00:00), or 'now' for the host's clock (the run is then not reproducible)" };

        var command = new Command("run", "boot a multiboot kernel or a Linux bzImage and run it until it exits")
        {
            kernel, memory, cmdline, initrd, guestDecompress, cpu, maxInstructions, maxGuestTime, serial, json, quiet, rom, romProfile, noRom, romBase, trace, traceLimit, gdb,
            hypervisor, costProfile, events, traceEvents, rtcBase,
        };
        command.SetAction(parse => Execute(
            new BackendOptions(parse.GetValue(hypervisor), parse.GetValue(costProfile), parse.GetValue(events), parse.GetValue(traceEvents)),
            new RomChoice(parse.GetValue(rom), parse.GetValue(romProfile), parse.GetValue(romBase), parse.GetValue(noRom)),
            new TraceChoice(parse.GetValue(trace), parse.GetValue(traceLimit)),
            parse.GetValue(gdb),
            parse.GetValue(kernel)!,
            parse.GetValue(memory)!,
            parse.GetValue(cmdline) ?? "",
            new LinuxChoice(parse.GetValue(initrd), parse.GetValue(guestDecompress)),
            parse.GetValue(cpu),
            new Limits(parse.GetValue(maxInstructions), parse.GetValue(maxGuestTime)),
            parse.GetValue(serial),
            parse.GetValue(json),
            parse.GetValue(quiet),
            parse.GetValue(rtcBase)));
        return command;
    }

    /// <summary>--cmdline and its synonym --append (qemu's name for a Linux command line).</summary>
    private static readonly string[] CmdlineNames = ["--cmdline", "--append"];

    /// <summary>--initrd (modules for multiboot, the initrd for Linux) and --guest-decompress.</summary>
    private sealed record LinuxChoice(string? Initrd, bool GuestDecompress);

    private sealed record RomChoice(FileInfo? File, string? Profile, string? Base, bool None = false);

    private sealed record TraceChoice(FileInfo? File, long Limit);

    /// <summary>--hypervisor, --cost-profile, --events and --trace-events, as given.</summary>
    private sealed record BackendOptions(string? Name, string? CostProfile, bool Events, FileInfo? TraceEvents);

    /// <summary>--max-instructions and --max-guest-time.</summary>
    private sealed record Limits(long? Instructions, string? GuestSeconds);

    /// <summary>Resolves --rom/--rom-profile/--rom-base into an image and address, or an error message.</summary>
    private static string? ResolveRom(RomChoice choice, Hypervisor? backend, CpuModel model, out byte[]? image, out uint romBase)
    {
        image = null;
        romBase = VmConfig.DefaultOptionRomBase;
        if (choice.File is not null && choice.Profile is not null)
        {
            return "--rom and --rom-profile are mutually exclusive";
        }
        if (choice.None && (choice.File is not null || choice.Profile is not null))
        {
            return "--no-rom and --rom/--rom-profile are mutually exclusive";
        }
        if (choice.None && backend is null)
        {
            return "--no-rom needs --hypervisor (without a backend no ROM is mapped unless asked for)";
        }
        if (choice.Base is not null && !AddressParser.TryParse(choice.Base, out romBase))
        {
            return $"--rom-base: '{choice.Base}' is not an address";
        }
        if (choice.Profile is not null)
        {
            Vmi.Hypervisors.Costs.CostProfile costs = backend?.Profile ?? Vmi.Hypervisors.Costs.CostProfiles.Default;
            if (RomSource.TryBuild("--rom-profile", choice.Profile, model, costs, out Vmi.Rom.VmiRom? rom, out _) is string romError)
            {
                return romError;
            }
            image = rom!.Image;
        }
        else if (choice.File is not null)
        {
            if (!Rom.RomCommand.TryReadRomFile(choice.File, out byte[] bytes, out string readError))
            {
                return $"--rom {readError}";
            }
            image = bytes;
            // A ROM that breaks the rules is still mapped (a kernel must cope with one), but the user hears about it.
            var violations = Vmi.Abi.RomValidator.Validate(image);
            if (violations.Count > 0)
            {
                Console.Error.WriteLine($"vmi: warning: {choice.File.Name} breaks {violations.Count} VMI ROM rule(s), first: {violations[0]}");
            }
        }
        else if (backend is not null && !choice.None)
        {
            // The backend publishes its own ROM, as a hypervisor does: the kernel finds it in the option-ROM window.
            image = backend.BuildRom(model).Image;
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

    private static int Execute(BackendOptions backendOptions, RomChoice romChoice, TraceChoice traceChoice, int? gdbPort, FileInfo kernel, string memoryText, string cmdline, LinuxChoice linuxChoice, string? cpuName, Limits limits,
        FileInfo? serialFile, string? jsonPath, bool quiet, string? rtcBase)
    {
        long? maxInstructions = limits.Instructions;
        string? initrd = linuxChoice.Initrd;
        if (!SizeParser.TryParse(memoryText, out ulong memoryBytes, out string sizeError))
        {
            return UsageError($"--memory: {sizeError}");
        }
        if (memoryBytes > uint.MaxValue)
        {
            return UsageError($"--memory: {memoryText} is more than a 32-bit machine can address");
        }
        if (Vm.MemorySizeProblem(memoryBytes) is string memoryProblem)
        {
            // Before the kernel is read: a Linux image would otherwise be planned for RAM the machine cannot have.
            return UsageError($"--memory: {memoryText}: {memoryProblem}");
        }
        if (BackendChoice.Resolve(backendOptions.Name, backendOptions.CostProfile, cpuName, out BackendChoice? backend, out CpuModel model) is string backendError)
        {
            return UsageError(backendError);
        }
        if (backend is null && (backendOptions.Events || backendOptions.TraceEvents is not null))
        {
            return UsageError($"{(backendOptions.Events ? "--events" : "--trace-events")} needs --hypervisor (without a backend there are no events)");
        }
        // A backend's profile sets the guest clock: one tick per ordinary instruction at its CPI.
        long nominalHz = backend?.Profile.TickHz ?? VmConfig.DefaultNominalHz;
        if (maxInstructions is <= 0)
        {
            return UsageError("--max-instructions must be positive");
        }
        // Guest time is counted in ticks (one per instruction at nominalHz): at most 2^63 of them.
        double? guestSeconds = null;
        if (limits.GuestSeconds is string text)
        {
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) || !(seconds > 0 && seconds * nominalHz < long.MaxValue))
            {
                return UsageError($"--max-guest-time: '{text}' is not a positive number of seconds");
            }
            guestSeconds = seconds;
        }
        if (traceChoice.Limit <= 0)
        {
            return UsageError("--trace-limit must be positive");
        }
        DateTime rtcStart = VmConfig.DefaultRtcStart;
        if (rtcBase is not null && !RtcBaseParser.TryParse(rtcBase, out rtcStart, out string rtcError))
        {
            return UsageError(rtcError);
        }
        if (gdbPort is < 0 or > 65535)
        {
            return UsageError($"--gdb: {gdbPort} is not a TCP port (0-65535; 0 picks a free one)");
        }
        // One backend for the whole run: it publishes the ROM, sizes its own memory, and is attached.
        Hypervisor? hv = backend?.Create();
        if (ResolveRom(romChoice, hv, model, out byte[]? romImage, out uint romAddress) is string romError)
        {
            return UsageError(romError);
        }
        if (!InputFile.TryRead(kernel, InputLimit.Kernel, out byte[] image, out string readError))
        {
            return UsageError($"kernel {readError}");
        }
        bool linux = KernelImageDetector.Detect(image) == KernelImageKind.Linux;
        if (!linux && linuxChoice.GuestDecompress)
        {
            return UsageError($"--guest-decompress is for Linux kernels; {kernel.Name} is not one (no setup header)");
        }
        byte[] commandLine = RawArguments.OptionValue(CmdlineNames, cmdline);
        IReadOnlyList<MultibootModule> modules = [];
        LinuxBootPlan? linuxPlan = null;
        if (linux)
        {
            linuxPlan = LinuxKernelInput.TryPlan(image, kernel.Name, memoryBytes, commandLine, initrd, linuxChoice.GuestDecompress, quiet, out string linuxError);
            if (linuxPlan is null)
            {
                return UsageError(linuxError);
            }
        }
        else if (ReadModules(initrd, memoryBytes, out modules) is string moduleError)
        {
            return UsageError($"--initrd: {moduleError}");
        }
        RunOutputs? opened = RunOutputs.TryOpen(serialFile, traceChoice.File, backendOptions.TraceEvents, jsonPath, out string outputError);
        if (opened is null)
        {
            return UsageError(outputError);
        }

        using (RunOutputs outputs = opened)
        {
            Vm vm;
            try
            {
                var config = new VmConfig
                {
                    MemoryBytes = (uint)memoryBytes,
                    CommandLineBytes = commandLine,
                    Modules = modules,
                    CpuModel = model,
                    NominalHz = nominalHz,
                    HostMemoryBytes = hv?.HostMemoryBytes ?? 0,
                    SerialOutput = outputs.Console,
                    OptionRom = romImage,
                    OptionRomBase = romAddress,
                    RtcStart = rtcStart,
                };
                vm = linuxPlan is null ? Vm.BootMultiboot(config, image) : Vm.BootLinux(config, linuxPlan);
            }
            catch (VmBuildException e)
            {
                return UsageError($"{kernel.Name}: {e.Message}");
            }
            // Before the first instruction, the tracer and the gdb stub: the backend owns the run from the entry point.
            if (hv is not null)
            {
                if (outputs.TraceEvents is not null)
                {
                    hv.Events.Trace = new EventTraceWriter(outputs.TraceEvents).Write;
                }
                try
                {
                    hv.Attach(vm);
                }
                catch (HypervisorException e)
                {
                    return UsageError($"--hypervisor {hv.Name}: {e.Message}");
                }
            }
            if (guestSeconds is double limit)
            {
                vm.GuestTickLimit = (long)Math.Round(limit * vm.Clock.NominalHz);
            }
            ConsoleInput? consoleInput = ConsoleInput.Attach(vm);
            if (outputs.TraceWriter is not null)
            {
                _ = new Vmi.Machine.Diagnostics.InstructionTracer(vm.Cpu, outputs.TraceWriter, traceChoice.Limit);
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
                    return UsageError($"--gdb: cannot listen on 127.0.0.1:{port}: {e.Message}");
                }
                // Like qemu -s -S: the guest waits at its entry point until gdb connects and continues.
                Console.Error.WriteLine($"vmi: waiting for gdb on 127.0.0.1:{gdbStub.Port}");
            }
            VmRunResult result;
            int? signal;
            using (gdbStub)
            {
                // The stub is closed on a signal too: a gdb session waiting for its next packet cannot see the VM's stop request.
                using var signals = new StopSignals(vm, () =>
                {
                    consoleInput?.Wake();
                    gdbStub?.Dispose();
                });
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
                signal = signals.Signal;
            }
            return Report(new RunReport(result, signal, model, hv, backendOptions.Events, linuxPlan?.Describe()), outputs, quiet, kernel.FullName, cmdline);
        }
    }

    /// <summary>What a run produced, for <see cref="Report"/>: the result, the signal that stopped it, the CPU model, the backend (if any) and, for a Linux kernel, what was loaded.</summary>
    private sealed record RunReport(VmRunResult Result, int? Signal, CpuModel Model, Hypervisor? Hypervisor, bool Events, string? LinuxBoot = null);

    /// <summary>
    /// Closes the outputs and reports the run: the exit code, the summary (stderr), the JSON, and one
    /// line per output that lost bytes. Lost output makes the exit code 1 whatever the guest did,
    /// since a script must not take a run whose results are incomplete for a good one; the summary
    /// still says how the guest ended.
    /// </summary>
    private static int Report(RunReport run, RunOutputs outputs, bool quiet, string kernel, string cmdline)
    {
        VmRunResult result = run.Result;
        List<string> problems = outputs.CloseRunOutputs();
        int exitCode = problems.Count > 0 ? (int)ExitCode.Failure : ExitCodeFor(result, run.Signal);
        if (outputs.WriteJson(JsonSummary(run, exitCode, kernel, cmdline)) is string jsonProblem)
        {
            problems.Add(jsonProblem);
            exitCode = (int)ExitCode.Failure;
        }
        if (!quiet)
        {
            WriteSummary(Console.Error, run, exitCode);
        }
        if (run.Events && run.Hypervisor is not null)
        {
            // Asked for explicitly, so shown even with --quiet; on stderr with the summary, since stdout may carry the guest or the JSON.
            EventTable.Write(TableConsole.Create(toStderr: true), run.Hypervisor, result.Instructions);
        }
        foreach (string problem in problems)
        {
            Console.Error.WriteLine($"vmi: {problem}");
        }
        return exitCode;
    }

    /// <summary>
    /// Reads the --initrd modules (null: none) with the same size cap as every input: no module can
    /// be larger than the guest's RAM, so /dev/zero or a huge file is refused, not read whole.
    /// </summary>
    private static string? ReadModules(string? initrd, ulong ramBytes, out IReadOnlyList<MultibootModule> modules)
    {
        modules = [];
        if (initrd is null)
        {
            return null;
        }
        var limit = new InputLimit((long)ramBytes, "a multiboot module", $"the guest's RAM, {ramBytes >> 20} MiB");
        try
        {
            // Bytes, not the parsed text: module strings reach the kernel unchanged, as with QEMU.
            modules = ModuleList.Load(RawArguments.OptionValue("--initrd", initrd), path =>
            {
                var file = new FileInfo(path);
                if (InputFile.TryRead(file, limit, out byte[] bytes, out string error))
                {
                    return bytes;
                }
                throw new IOException(error.StartsWith(file.FullName + ": ", StringComparison.Ordinal) ? error[(file.FullName.Length + 2)..] : error);
            });
        }
        catch (BootImageException e)
        {
            return e.Message;
        }
        return null;
    }

    /// <summary>
    /// The guest's debug-exit status passes through ((v &lt;&lt; 1) | 1, as QEMU's isa-debug-exit); a clean
    /// halt is 0; a run a signal interrupted exits 128 + the signal's number, as a shell reports a
    /// command the signal killed (130 for SIGINT, 143 for SIGTERM), so scripts can tell it apart.
    /// </summary>
    public static int ExitCodeFor(VmRunResult r, int? signal = null) => r.Reason switch
    {
        VmExitReason.DebugExit => r.GuestExitCode ?? (int)ExitCode.Failure,
        VmExitReason.Halted => (int)ExitCode.Success,
        VmExitReason.Interrupted when signal is int n => 128 + n,
        _ => (int)ExitCode.Failure,
    };

    private static void WriteSummary(TextWriter w, RunReport run, int exitCode)
    {
        var inv = CultureInfo.InvariantCulture;
        VmRunResult r = run.Result;
        string under = run.Hypervisor is Hypervisor hv ? $" under {hv.Name} (cost profile {hv.Profile.Name})" : "";
        w.WriteLine($"vmi: {Describe(r)}");
        w.WriteLine(string.Format(inv, "vmi: {0:N0} instructions on {1}{2}, guest time {3:F6} s, host time {4:F3} s, {5:F1} MIPS, exit code {6}",
            r.Instructions, run.Model.Name, under, r.GuestSeconds, r.HostSeconds, r.Mips, exitCode));
    }

    /// <summary>How a run ended, in words: the summary's first line, and `vmi compare`'s report of a run that failed.</summary>
    internal static string Describe(VmRunResult r) => r.Reason switch
    {
        VmExitReason.DebugExit => $"guest exit through the debug port: status {r.GuestExitCode} ({r.Detail})",
        VmExitReason.Halted or VmExitReason.Interrupted or VmExitReason.GuestTimeLimit => r.Detail,
        _ => $"{r.Reason}: {r.Detail}",
    };

    private static string JsonSummary(RunReport run, int exitCode, string kernel, string cmdline)
    {
        VmRunResult r = run.Result;
        var summary = new
        {
            kernel,
            cmdline,
            linuxBoot = run.LinuxBoot,
            cpu = run.Model.Name,
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
                FirstUserInstruction = r.Counters.ReachedUserMode ? r.Counters.FirstUserInstruction : (long?)null,
            },
        };
        var indented = new JsonSerializerOptions { WriteIndented = true };
        if (run.Hypervisor is null)
        {
            return JsonSerializer.Serialize(summary, indented);
        }
        JsonObject node = JsonSerializer.SerializeToNode(summary)!.AsObject();
        HypervisorJson.AddTo(node, run.Hypervisor, r.Instructions);
        return node.ToJsonString(indented);
    }

    private static int UsageError(string message)
    {
        Console.Error.WriteLine($"vmi: {message}");
        return (int)ExitCode.Usage;
    }
}
