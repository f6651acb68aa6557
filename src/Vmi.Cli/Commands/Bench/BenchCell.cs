using Vmi.Cpu;
using Vmi.Hypervisors.Costs;

namespace Vmi.Cli.Commands.Bench;

/// <summary>
/// Whether the kernel uses the VMI ROM it finds: <see cref="Off"/> boots it with vmi=off (it keeps
/// every site native and ignores the ROM, which is mapped all the same), <see cref="Rom"/> without
/// (it patches its sites from the ROM's answers). The two differ only in the kernel's choice.
/// </summary>
internal enum VmiMode
{
    Off,
    Rom,
}

internal static class VmiModes
{
    public static IReadOnlyList<VmiMode> All { get; } = [VmiMode.Off, VmiMode.Rom];

    /// <summary>"off" or "rom", as the tables, files and JSON write the mode.</summary>
    public static string Label(this VmiMode mode) => mode == VmiMode.Off ? "off" : "rom";
}

/// <summary>
/// A cost profile with a CPU choice: the part of the matrix whose cells share one baseline (native
/// with vmi=off). <see cref="Cpu"/> null: each backend on its own default model.
/// </summary>
internal sealed record BenchGroup(CostProfile Profile, CpuModel? Cpu)
{
    public string CpuLabel => Cpu?.Name ?? "each backend's own";

    /// <summary>"p4-2006, each backend's own CPU" or "p4-2006, CPU opteron-2006".</summary>
    public string Title => Cpu is null ? $"{Profile.Name}, each backend's own CPU" : $"{Profile.Name}, CPU {Cpu.Name}";
}

/// <summary>
/// One cell of the matrix: a workload under a backend in a mode, in a group. It runs as
/// <see cref="Choice"/> with <see cref="Rom"/> mapped, unless the backend refused the group's CPU
/// model (<see cref="Skipped"/> says why; nothing runs).
/// </summary>
internal sealed record BenchCell(BenchGroup Group, string Backend, VmiMode Mode, string Workload, BackendChoice? Choice, PublishedRom? Rom, string? Skipped)
{
    /// <summary>"bt rom", the cell's column in the tables.</summary>
    public string Column => $"{Backend} {Mode.Label()}";

    /// <summary>"syscall on bt rom (p4-2006, pentium4-2006)", for messages.</summary>
    public string Name => $"{Workload} on {Column} ({Group.Profile.Name}, {Choice?.Model.Name ?? Group.CpuLabel})";
}
