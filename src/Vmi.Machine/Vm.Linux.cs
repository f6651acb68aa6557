using Vmi.Cpu;
using Vmi.Machine.Boot;

namespace Vmi.Machine;

public sealed partial class Vm
{
    /// <summary>
    /// Builds a VM and loads a Linux kernel as <paramref name="plan"/> lays it out
    /// (<see cref="LinuxLoader.Plan"/>), leaving the CPU at the kernel's 32-bit entry in the state
    /// the 32-bit boot protocol gives it (see <see cref="LinuxLoader"/>).
    /// </summary>
    public static Vm BootLinux(VmConfig config, LinuxBootPlan plan)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(plan);
        CheckMemorySize(config);
        var vm = new Vm(config);
        vm.LoadSegments(plan.Segments);
        foreach (PlacedBlock block in new[] { plan.Gdt, plan.ZeroPage, plan.CommandLine }.Concat(plan.Initrd is { } i ? [i] : []))
        {
            vm.Memory.Load(block.Address, block.Bytes);
        }
        if (config.OptionRom is byte[] rom)
        {
            vm.InstallOptionRom(rom, config.OptionRomBase);
        }
        vm.Cpu.Gdtr = new TableRegister { Base = plan.Gdt.Address, Limit = LinuxLoader.BootGdtSize - 1 };
        vm.Cpu.EnterFlatProtectedMode(plan.EntryPoint, LinuxLoader.BootCodeSelector, LinuxLoader.BootDataSelector);
        vm.Cpu.Esi = plan.ZeroPage.Address;
        vm.Cpu.Ebp = 0;
        vm.Cpu.Edi = 0;
        vm.Cpu.Ebx = 0;
        vm.Cpu.Eflags = EFlags.Reserved1;
        return vm;
    }
}
