using System.Diagnostics;
using Vmi.Cpu;
using Vmi.Cpu.Memory;
using Vmi.Machine.Boot;
using Vmi.Machine.Time;

namespace Vmi.Machine;

/// <summary>Why a VM run ended.</summary>
public enum VmExitReason
{
    /// <summary>The guest wrote to the debug-exit port.</summary>
    DebugExit,

    /// <summary>HLT with interrupts disabled, or with nothing left that could wake the CPU.</summary>
    Halted,

    InstructionLimit,

    /// <summary>Guest time reached the limit set with <see cref="Vm.GuestTickLimit"/> (--max-guest-time).</summary>
    GuestTimeLimit,
    TripleFault,
    Unsupported,
    HypervisorStop,

    /// <summary>The host asked the run to stop (<see cref="Vm.RequestStop"/>: a signal, a UI).</summary>
    Interrupted,
}

/// <summary>Why the run ends, as one turn of the run loop found it (<see cref="Vm.RunSlice"/>).</summary>
public readonly record struct VmStop(VmExitReason Reason, string Detail);

/// <summary>The outcome of <see cref="Vm.Run"/>.</summary>
public sealed record VmRunResult(
    VmExitReason Reason,
    int? GuestExitCode,
    string Detail,
    long Instructions,
    double GuestSeconds,
    double HostSeconds,
    CpuCounters Counters)
{
    public double Mips => HostSeconds > 0 ? Instructions / HostSeconds / 1e6 : 0;
}

/// <summary>
/// A PC: memory with the read-only ROM window, the CPU, the board's devices, guest time, and
/// the run loop that interleaves CPU slices with timer events (deterministic: every event is
/// scheduled in guest ticks derived from retired instructions).
/// </summary>
public sealed partial class Vm
{
    private Vm(VmConfig config)
    {
        Config = config;
        Memory = new PhysicalMemory(config.MemoryBytes, config.HostMemoryBytes);
        Memory.SetReadOnly(GuestLayout.ReadOnlyWindowStart, GuestLayout.ReadOnlyWindowEnd - GuestLayout.ReadOnlyWindowStart);
        Cpu = new Vmi.Cpu.Cpu(Memory, config.CpuModel);
        Clock = new GuestClock(config.NominalHz, () => Cpu.InstructionsRetired);
        Timers = new TimerQueue();
        Board = new Board(Cpu, Clock, Timers, config.SerialOutput, config.RtcStart);
        // A device armed a timer while the CPU runs (a port write, which is first in its block so the
        // clock is exact): end the slice at its deadline, so it fires at that very instruction.
        Timers.DeadlineMovedEarlier = deadline => Cpu.EndRunAt(Cpu.InstructionsRetired + Math.Max(0, deadline - Clock.Ticks));
    }

    public VmConfig Config { get; }

    public PhysicalMemory Memory { get; }

    public Vmi.Cpu.Cpu Cpu { get; }

    public GuestClock Clock { get; }

    public TimerQueue Timers { get; }

    public Board Board { get; }

    /// <summary>Builds a VM and loads a multiboot kernel, leaving the CPU at its entry point as a multiboot loader would.</summary>
    public static Vm BootMultiboot(VmConfig config, ReadOnlySpan<byte> kernelImage)
    {
        CheckMemorySize(config);
        BootPlan plan;
        try
        {
            plan = MultibootLoader.Plan(MultibootImage.Parse(kernelImage), config.MemoryBytes, config.CommandLineBytes, config.Modules);
        }
        catch (BootImageException e)
        {
            throw new VmBuildException(e.Message, e);
        }
        var vm = new Vm(config);
        // Host-side loads: a read-only segment in the BIOS area lands there as QEMU leaves it (MultibootImage.ValidateFor).
        vm.LoadSegments(plan.Segments);
        foreach (PlacedModule m in plan.Modules)
        {
            vm.Memory.Load(m.Start, m.Module.Data);
        }
        vm.Memory.Load(plan.InfoAddress, plan.Info);
        if (config.OptionRom is byte[] rom)
        {
            vm.InstallOptionRom(rom, config.OptionRomBase);
        }
        vm.InstallBootGdt(plan.BootGdtAddress);
        // Multiboot machine state: flat 32-bit protected mode, paging off, IF clear,
        // EAX = magic, EBX = physical address of the information structure.
        vm.Cpu.EnterFlatProtectedMode(plan.EntryPoint, GuestLayout.BootCodeSelector, GuestLayout.BootDataSelector);
        vm.Cpu.Eax = MultibootInfoBuilder.BootloaderMagic;
        vm.Cpu.Ebx = plan.InfoAddress;
        vm.Cpu.Eflags = EFlags.Reserved1;
        return vm;
    }

    /// <summary>An ELF's loadable segments into RAM: the file bytes, then the rest of each segment zeroed (bss).</summary>
    private void LoadSegments(IEnumerable<LoadSegment> segments)
    {
        foreach (LoadSegment s in segments)
        {
            Memory.Load(s.PhysicalAddress, s.FileBytes);
            uint bss = s.MemorySize - (uint)s.FileBytes.Length;
            if (bss > 0)
            {
                Memory.Fill(s.PhysicalAddress + (uint)s.FileBytes.Length, bss, 0);
            }
        }
    }

    private static void CheckMemorySize(VmConfig config)
    {
        if (MemorySizeProblem(config.MemoryBytes) is string problem)
        {
            throw new VmBuildException(problem);
        }
    }

    /// <summary>Why a machine cannot have <paramref name="bytes"/> of RAM, or null when it can (a front end checks before loading anything).</summary>
    public static string? MemorySizeProblem(ulong bytes) =>
        bytes < GuestLayout.MinimumRamBytes || bytes % 4096 != 0 || bytes > 2040u << 20
            ? $"memory size {bytes} bytes is not usable: it must be a multiple of 4 KiB between {GuestLayout.MinimumRamBytes >> 20} MiB and 2040 MiB"
            : null;

    /// <summary>
    /// Places an option ROM as a BIOS would have copied it: at a 2 KiB boundary of the option-ROM
    /// window, read-only to the guest. The image is not validated here (a kernel must cope with
    /// a bad ROM, and tests rely on offering it one); only where it goes is checked.
    /// </summary>
    private void InstallOptionRom(byte[] rom, uint romBase)
    {
        if (Roms.OptionRomWindow.PlacementError(romBase, rom.Length) is string problem)
        {
            throw new VmBuildException($"option ROM: {problem}");
        }
        if (Memory.RamSize < GuestLayout.OptionRomEnd)
        {
            throw new VmBuildException("the machine has too little RAM to back the option-ROM window");
        }
        Memory.Load(romBase, rom);
    }

    /// <summary>Writes the flat boot GDT at <paramref name="address"/>, which the loader chose clear of the kernel.</summary>
    private void InstallBootGdt(uint address)
    {
        Span<byte> gdt = stackalloc byte[MultibootLoader.BootGdtSize];
        BitConverter.TryWriteBytes(gdt[8..], 0x0000_FFFFu);
        BitConverter.TryWriteBytes(gdt[12..], 0x00CF_9B00u);
        BitConverter.TryWriteBytes(gdt[16..], 0x0000_FFFFu);
        BitConverter.TryWriteBytes(gdt[20..], 0x00CF_9300u);
        Memory.Load(address, gdt);
        Cpu.Gdtr = new TableRegister { Base = address, Limit = MultibootLoader.BootGdtSize - 1 };
    }

    /// <summary>
    /// Charges <paramref name="ticks"/> of hypervisor overhead to guest time. If that carries guest
    /// time past the next timer deadline, the running slice ends after the current instruction, so
    /// the timer fires as close to its time as the modelled cost allows (deterministically).
    /// </summary>
    public void ChargeGuestTime(long ticks)
    {
        if (ticks <= 0)
        {
            return;
        }
        Clock.AddOverhead(ticks);
        if (Clock.Ticks >= Timers.NextDeadline)
        {
            Cpu.EndRunAt(Cpu.InstructionsRetired + 1);
        }
    }

    /// <summary>How many instructions the CPU runs at most between two looks at host-side input.</summary>
    public const long SliceInstructions = 1_000_000;

    /// <summary>Guest time (in ticks of <see cref="GuestClock"/>) at which the run stops (--max-guest-time); long.MaxValue: none.</summary>
    public long GuestTickLimit { get; set; } = long.MaxValue;

    /// <summary>Called between CPU slices on the guest thread (host input, UI); must not touch guest state except through devices.</summary>
    public Action? BetweenSlices { get; set; }

    /// <summary>
    /// Called when the guest halted with interrupts enabled and no timer armed, so only host input
    /// can wake it (an interactive console). Returns true when input may have arrived (the run
    /// goes on), false when none ever will (the run ends). Null: end the run at once.
    /// </summary>
    public Func<bool>? WaitForHostInput { get; set; }

    private volatile string? stopRequest;

    /// <summary>
    /// Asks the run to end at the next turn of the run loop (an instruction boundary; a slice is at
    /// most <see cref="SliceInstructions"/> long) as <see cref="VmExitReason.Interrupted"/> with
    /// <paramref name="reason"/>. Safe from any thread (a signal handler); the request stays, so the
    /// VM does not run again.
    /// </summary>
    public void RequestStop(string reason) => stopRequest = reason;

    /// <summary>The stop <see cref="RequestStop"/> asked for, or null.</summary>
    public VmStop? RequestedStop => stopRequest is { } reason ? new VmStop(VmExitReason.Interrupted, $"{reason} at eip 0x{Cpu.Eip:X8}") : null;

    /// <summary>Runs until the guest exits, stops, or <paramref name="maxInstructions"/> retire.</summary>
    public VmRunResult Run(long maxInstructions = long.MaxValue)
    {
        var sw = Stopwatch.StartNew();
        long start = Cpu.InstructionsRetired;
        long limit = maxInstructions == long.MaxValue ? long.MaxValue : start + maxInstructions;
        while (true)
        {
            if (RunSlice(limit - Cpu.InstructionsRetired) is { } stop)
            {
                string detail = stop.Reason == VmExitReason.InstructionLimit
                    ? $"instruction limit of {maxInstructions} reached at eip 0x{Cpu.Eip:X8}"
                    : stop.Detail;
                return Finish(stop.Reason, detail, sw, start);
            }
        }
    }

    /// <summary>
    /// One turn of the run loop: a stop the host asked for (<see cref="RequestStop"/>), timer events
    /// that are due, host input (<see cref="BetweenSlices"/>),
    /// then up to <paramref name="maxInstructions"/> guest instructions (fewer when a timer falls due
    /// sooner, at most <see cref="SliceInstructions"/>). Null while the guest can go on; otherwise why
    /// the run ends (a budget of zero or less is <see cref="VmExitReason.InstructionLimit"/>).
    /// <see cref="Run"/> is a loop over this; a debugger drives it one instruction at a time, so
    /// timers and devices behave the same under both: every timer fires at its exact tick (a slice
    /// ends there, and one armed mid-slice shortens it), and the CPU takes interrupts at instruction
    /// boundaries, so the instruction at which each interrupt lands does not depend on the slice size.
    /// </summary>
    public VmStop? RunSlice(long maxInstructions)
    {
        if (RequestedStop is { } requested)
        {
            return requested;
        }
        Timers.RunDue(Clock.Ticks);
        BetweenSlices?.Invoke();
        if (maxInstructions <= 0)
        {
            return new VmStop(VmExitReason.InstructionLimit, $"instruction limit reached at eip 0x{Cpu.Eip:X8}");
        }
        if (Clock.Ticks >= GuestTickLimit)
        {
            Board.Uart.Flush();
            return new VmStop(VmExitReason.GuestTimeLimit,
                string.Format(System.Globalization.CultureInfo.InvariantCulture, "guest time limit of {0:F6} s reached at eip 0x{1:X8}", (double)GuestTickLimit / Clock.NominalHz, Cpu.Eip));
        }
        long untilTimer = Timers.NextDeadline == long.MaxValue ? long.MaxValue : Math.Max(1, Timers.NextDeadline - Clock.Ticks);
        long slice = Math.Min(Math.Min(maxInstructions, untilTimer), Math.Min(SliceInstructions, GuestTickLimit - Clock.Ticks));
        CpuExit exit = Cpu.Run(slice);
        switch (exit.Reason)
        {
            case CpuExitReason.InstructionLimit:
                return null;
            case CpuExitReason.Halted:
                return Idle();
            case CpuExitReason.StopRequested:
                return new VmStop(VmExitReason.DebugExit, exit.Detail ?? "stop requested");
            case CpuExitReason.TripleFault:
                return new VmStop(VmExitReason.TripleFault, exit.Detail ?? "triple fault");
            case CpuExitReason.Unsupported:
                return new VmStop(VmExitReason.Unsupported, exit.Detail ?? "unsupported");
            default:
                return new VmStop(VmExitReason.HypervisorStop, exit.Detail ?? "stopped by the hypervisor");
        }
    }

    /// <summary>
    /// The CPU is in HLT. With IF = 0 nothing but NMI (which this PC lacks) could wake it: the run
    /// ends. With IF = 1, guest time jumps to the next timer event if that event can interrupt the
    /// CPU (no host time is spent waiting); otherwise host input is the only hope, and if that cannot
    /// interrupt either, the run ends with the reason instead of spinning forever.
    /// </summary>
    private VmStop? Idle()
    {
        if (!Cpu.IF)
        {
            Board.Uart.Flush();
            return new VmStop(VmExitReason.Halted, $"the guest halted with interrupts disabled at eip 0x{Cpu.Eip:X8}");
        }
        if (Cpu.InterruptLine)
        {
            return null; // taken at the start of the next slice
        }
        if (Board.TimerCanWake)
        {
            Clock.SkipIdleTo(Math.Min(Timers.NextDeadline, GuestTickLimit));
            return null;
        }
        if (Board.HostInputCanWake && WaitForHostInput?.Invoke() == true)
        {
            return null;
        }
        Board.Uart.Flush();
        return new VmStop(VmExitReason.Halted, $"the guest halted at eip 0x{Cpu.Eip:X8} with interrupts enabled, but nothing can wake it: {Board.WhyNothingCanWake()}");
    }

    /// <summary>The run summary, for <see cref="Run"/> and for drivers built on <see cref="RunSlice"/>.</summary>
    internal VmRunResult Finish(VmExitReason reason, string detail, Stopwatch sw, long start)
    {
        Board.Uart.Flush();
        return new VmRunResult(reason, Board.GuestExitCode, detail, Cpu.InstructionsRetired - start, Clock.Seconds, sw.Elapsed.TotalSeconds, Cpu.Counters);
    }
}
