using Vmi.Cpu;
using Vmi.Hypervisors.BinaryTranslation;
using Vmi.Hypervisors.Costs;
using Vmi.Hypervisors.HardwareAssisted;
using Vmi.Hypervisors.Native;
using Vmi.Hypervisors.NestedPaging;

namespace Vmi.Hypervisors;

/// <summary>The backends by name, and the CPU model each defaults to.</summary>
public static class HypervisorCatalog
{
    public static IReadOnlyList<string> Names { get; } = ["native", "bt", "vt", "vt-npt"];

    /// <summary>A backend by name, or null for an unknown one.</summary>
    public static Hypervisor? Create(string name, CostProfile profile) => name.ToLowerInvariant() switch
    {
        "native" => new NativeHypervisor(profile),
        "bt" => new BtHypervisor(profile),
        "vt" => new VtHypervisor(profile),
        "vt-npt" => new VtNptHypervisor(profile),
        _ => null,
    };

    /// <summary>The CPU model a backend runs on unless told otherwise: a 2006 VT-x part for vt, a nested-paging part for vt-npt.</summary>
    public static CpuModel DefaultCpuModel(string name) => name.ToLowerInvariant() switch
    {
        "vt-npt" => CpuModel.Barcelona,
        _ => CpuModel.Pentium4,
    };
}
