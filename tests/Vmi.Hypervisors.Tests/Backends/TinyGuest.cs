using Vmi.Hypervisors.Costs;
using Vmi.Machine;
using Vmi.TestSupport;

namespace Vmi.Hypervisors.Tests.Backends;

/// <summary>A flat multiboot kernel assembled in the test, booted under a backend: for mechanisms the C kernel cannot isolate.</summary>
internal static class TinyGuest
{
    public const uint Scratch = 0x1000;

    public static (Vm Vm, VmRunResult Result) Run(Hypervisor hv, string backend, Action<Iced.Intel.Assembler> code)
    {
        Vm vm = Vm.BootMultiboot(new VmConfig
        {
            CpuModel = HypervisorCatalog.DefaultCpuModel(backend),
            NominalHz = hv.Profile.TickHz,
            HostMemoryBytes = hv.HostMemoryBytes,
        }, FlatKernel.Build(code));
        hv.Attach(vm);
        return (vm, vm.Run(1_000_000));
    }

    public static CostProfile P4 => CostProfiles.Load("p4-2006");
}
