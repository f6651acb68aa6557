using Vmi.Hypervisors.Costs;

namespace Vmi.Hypervisors.Native;

/// <summary>No hypervisor: the kernel in ring 0 on the bare machine, no events. The baseline.</summary>
public sealed class NativeHypervisor(CostProfile profile) : Hypervisor(profile)
{
    public override string Name => "native";

    public override string Description => "no hypervisor: the kernel runs in ring 0 on the bare machine (the baseline)";

    protected override void OnAttach()
    {
        // Nothing to take over: the seam stays empty, so the CPU runs exactly as without a backend.
    }
}
