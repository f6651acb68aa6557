using Vmi.Cpu;
using Vmi.Hypervisors.Costs;
using Vmi.Hypervisors.Events;
using Vmi.Hypervisors.HardwareAssisted;
using Vmi.Hypervisors.Paging;

namespace Vmi.Hypervisors.NestedPaging;

/// <summary>
/// Hardware assistance with nested paging (AMD NPT, Intel EPT): the guest owns its page tables,
/// so page faults, CR3 loads and INVLPG never exit; each TLB miss pays a two-dimensional walk
/// (<see cref="NestedMmu"/>). Only the common exits remain (CPUID, HLT, I/O, MSRs).
/// </summary>
public sealed class VtNptHypervisor : HardwareAssistedHypervisor
{
    private NestedMmu? mmu;

    public VtNptHypervisor(CostProfile profile)
        : base(profile)
    {
    }

    public override string Name => "vt-npt";

    public override string Description => "hardware assistance with nested paging (NPT/EPT): kernel in ring 0 of guest mode, the guest owns its page tables, TLB misses walk two dimensions";

    /// <summary>References per level of the two-dimensional walks so far (nested directory, nested table, guest directory, guest table).</summary>
    public IReadOnlyList<long> WalkReferencesByLevel => mmu?.ReferencesByLevel ?? [];

    /// <summary>The ROM follows the model: built for one without nested paging, it answers as vt's would.</summary>
    protected override bool NestedPagingFor(CpuModel model) => model.NestedPaging;

    public override string? RefuseCpuModel(CpuModel model) => model.NestedPaging
        ? null
        : $"vt-npt needs a CPU model with nested paging (AMD NPT or Intel EPT); {model.Name} has none (try barcelona-2007 or modern)";

    private protected override ShadowMmu? AttachPaging()
    {
        mmu = new NestedMmu(Cpu.Memory.RamSize, references =>
        {
            Count(EventKind.NestedTlbMiss, "2-D walk");
            Count(EventKind.NestedWalkReference, "walk reference", references);
        });
        Cpu.Paging = mmu;
        return null;
    }
}
