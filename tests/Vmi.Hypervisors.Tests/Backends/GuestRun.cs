using System.Text;
using Vmi.Hypervisors.Costs;
using Vmi.Machine;
using Vmi.TestSupport;

namespace Vmi.Hypervisors.Tests.Backends;

/// <summary>Boots the guest kernel (built from source once) under a backend and captures what it prints.</summary>
internal sealed record GuestRun(Hypervisor Hypervisor, Vm Vm, VmRunResult Result, string Output)
{
    private static readonly Lazy<byte[]> Kernel = new(() => File.ReadAllBytes(QemuRunner.BuildGuestKernel()));

    public static byte[] KernelImage => Kernel.Value;

    public static GuestRun Boot(string backend, string commandLine, string profile = "p4-2006", long maxInstructions = 2_000_000_000, Action<Hypervisor>? configure = null, Hypervisor? hypervisor = null, byte[]? optionRom = null, bool publishRom = false)
    {
        CostProfile costs = CostProfiles.Load(profile);
        Hypervisor hv = hypervisor ?? HypervisorCatalog.Create(backend, costs)!;
        configure?.Invoke(hv);
        if (publishRom)
        {
            optionRom = hv.BuildRom(HypervisorCatalog.DefaultCpuModel(backend)).Image;
        }
        var serial = new MemoryStream();
        Vm vm = Vm.BootMultiboot(new VmConfig
        {
            SerialOutput = serial,
            CommandLine = "kernel " + commandLine, // the first word is the kernel's name, as a loader passes it
            CpuModel = HypervisorCatalog.DefaultCpuModel(backend),
            NominalHz = costs.TickHz,
            HostMemoryBytes = hv.HostMemoryBytes,
            OptionRom = optionRom,
        }, KernelImage);
        hv.Attach(vm);
        VmRunResult result = vm.Run(maxInstructions);
        return new GuestRun(hv, vm, result, Encoding.ASCII.GetString(serial.ToArray()));
    }

    /// <summary>The RESULT lines with the guest-cycle field (which differs by design) removed.</summary>
    public IReadOnlyList<string> Results => Output.Split('\n')
        .Where(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
        .Select(l => string.Join(' ', l.Trim().Split(' ').Where(f => f.StartsWith("bench=", StringComparison.Ordinal) || f.StartsWith("iters=", StringComparison.Ordinal) || f.StartsWith("check=", StringComparison.Ordinal))))
        .ToList();
}
