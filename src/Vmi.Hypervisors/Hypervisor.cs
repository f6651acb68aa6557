using Vmi.Cpu;
using Vmi.Hypervisors.Costs;
using Vmi.Hypervisors.Events;
using Vmi.Machine;


namespace Vmi.Hypervisors;

/// <summary>
/// A hypervisor backend over the machine: it chooses the ring the guest kernel runs in, receives
/// every event that would leave guest mode through the CPU's public seam (<see cref="ICpuIntercepts"/>,
/// the page translation, page watching, decoded blocks), handles it in ordinary C#, and counts it
/// by kind. Each event's cost in the <see cref="Profile"/> is charged to guest time as it happens,
/// so the guest's own clock (TSC, PIT) sees the overhead; everything stays deterministic.
/// </summary>
public abstract class Hypervisor : ICpuIntercepts
{
    private long chargedCycles;
    private long chargedTicks;
    private Vm? vm;

    protected Hypervisor(CostProfile profile)
    {
        Profile = profile;
    }

    /// <summary>The backend's name on the command line (native, bt, vt, vt-npt).</summary>
    public abstract string Name { get; }

    /// <summary>A sentence for tables and --help.</summary>
    public abstract string Description { get; }

    /// <summary>The ring the guest kernel runs in (0, or 1 for a de-privileging monitor).</summary>
    public virtual int KernelRing => 0;

    public CostProfile Profile { get; }

    public EventLedger Events { get; } = new();

    /// <summary>Cycles charged for events so far (the overhead part of modelled cycles).</summary>
    public long EventCycles => chargedCycles;

    protected Vm Vm => vm ?? throw new InvalidOperationException($"the {Name} hypervisor is not attached to a VM");

    protected Vmi.Cpu.Cpu Cpu => Vm.Cpu;

    /// <summary>Memory the backend keeps for itself beyond guest RAM (<see cref="VmConfig.HostMemoryBytes"/> must be at least this).</summary>
    public virtual uint HostMemoryBytes => 0;

    /// <summary>
    /// The VMI ROM this backend publishes for a VM on <paramref name="model"/>: mapped in the
    /// option-ROM window when the VM is built (VmConfig.OptionRom), where the kernel finds it as on
    /// a PC. Derived from the model and this backend's costs.
    /// </summary>
    public Vmi.Rom.VmiRom BuildRom(CpuModel model) => Planner(model)?.Build() ?? Vmi.Rom.RomProfiles.Native();

    /// <summary>Why each call of <see cref="BuildRom"/>'s ROM is what it is (the costs compared); empty for a fixed ROM.</summary>
    public IReadOnlyList<Paravirtual.CallDecision> ExplainRom(CpuModel model)
    {
        Paravirtual.RomPlanner? planner = Planner(model);
        planner?.Build();
        return planner?.Decisions ?? [];
    }

    /// <summary>How this backend derives its ROM for <paramref name="model"/>; null: it publishes the native ROM.</summary>
    internal virtual Paravirtual.RomPlanner? Planner(CpuModel model) => null;

    /// <summary>Why this backend cannot run on <paramref name="model"/>, or null if it can.</summary>
    public virtual string? RefuseCpuModel(CpuModel model) => null;

    /// <summary>
    /// Takes over a freshly booted VM (the CPU at the kernel's entry point). Guest time must be set
    /// up with this profile's clock (<see cref="CostProfile.TickHz"/>) when the VM is built.
    /// </summary>
    public void Attach(Vm machine)
    {
        if (vm is not null)
        {
            throw new InvalidOperationException($"the {Name} hypervisor is already attached");
        }
        if (RefuseCpuModel(machine.Config.CpuModel) is string why)
        {
            throw new HypervisorException(why);
        }
        if (machine.Memory.HostSize < HostMemoryBytes)
        {
            throw new HypervisorException($"{Name} keeps 0x{HostMemoryBytes:X} bytes of its own beyond guest RAM, but the VM was built with 0x{machine.Memory.HostSize:X} (set VmConfig.HostMemoryBytes)");
        }
        vm = machine;
        OnAttach();
    }

    protected abstract void OnAttach();

    /// <summary>Counts an event and charges its cost to guest time. <paramref name="detail"/> must be a constant string.</summary>
    protected void Count(EventKind kind, string detail, long count = 1, in SensitiveEvent? instruction = null)
    {
        Events.Add(kind, detail, count, Cpu.InstructionsRetired, Cpu.Eip, instruction);
        chargedCycles += Profile.CostOf(kind) * count;
        long ticks = Profile.TicksForCycles(chargedCycles);
        Vm.ChargeGuestTime(ticks - chargedTicks);
        chargedTicks = ticks;
    }

    /// <summary>Modelled cycles for a run of <paramref name="instructions"/>: instructions × CPI + Σ events × cost.</summary>
    public long ModelledCycles(long instructions) => Profile.ModelledCycles(instructions, Events.Counts);

    public virtual InterceptAction OnInstruction(Vmi.Cpu.Cpu cpu, in SensitiveEvent e) => InterceptAction.Default;

    public virtual InterceptAction OnException(Vmi.Cpu.Cpu cpu, ref ExceptionEvent e) => InterceptAction.Default;

    public virtual InterceptAction OnExternalInterrupt(Vmi.Cpu.Cpu cpu) => InterceptAction.Default;

    /// <summary>Stops the VM with a diagnostic naming the instruction this backend cannot handle.</summary>
    protected InterceptAction Unsupported(in SensitiveEvent e, string why)
    {
        Cpu.RequestStop(CpuExitReason.InterceptStop, $"{Name}: {why}: {e}");
        return InterceptAction.Stop;
    }
}

/// <summary>A backend refused the configuration (e.g. a CPU model without the features it needs).</summary>
public sealed class HypervisorException(string message) : Exception(message);
