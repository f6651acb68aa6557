using Vmi.Cpu;
using Vmi.Machine.Boot;

namespace Vmi.Machine.Tests.Boot;

/// <summary>The machine <see cref="Vm.BootLinux"/> leaves at the kernel's entry: the 32-bit boot protocol's state and the plan's bytes in RAM.</summary>
public sealed class LinuxBootStateTests
{
    private static (Vm Vm, LinuxBootPlan Plan) Boot(byte[]? initrd = null)
    {
        LinuxBootPlan plan = LinuxLoader.Plan(new TestBzImage().Build(), VmConfig.DefaultMemoryBytes, "console=ttyS0"u8, initrd);
        return (Vm.BootLinux(new VmConfig(), plan), plan);
    }

    [Fact]
    public void Registers_AreTheProtocols()
    {
        var (vm, plan) = Boot();
        Vmi.Cpu.Cpu cpu = vm.Cpu;

        Assert.Equal(plan.EntryPoint, cpu.Eip);
        Assert.Equal(plan.ZeroPage.Address, cpu.Esi);
        Assert.Equal(0u, cpu.Ebx);
        Assert.Equal(0u, cpu.Ebp);
        Assert.Equal(0u, cpu.Edi);
        Assert.False(cpu.IF);
        Assert.Equal(Cr0Bits.PE, cpu.Cr0 & (Cr0Bits.PE | Cr0Bits.PG));
        Assert.Equal(0x10, cpu.Segment(SegReg.Cs).Selector);
        foreach (int s in new[] { SegReg.Ds, SegReg.Es, SegReg.Ss, SegReg.Fs, SegReg.Gs })
        {
            Assert.Equal(0x18, cpu.Segment(s).Selector);
            Assert.Equal(0xFFFF_FFFFu, cpu.Segment(s).Limit);
        }
        Assert.Equal(plan.Gdt.Address, cpu.Gdtr.Base);
        Assert.Equal(31u, (uint)cpu.Gdtr.Limit);
    }

    [Fact]
    public void Memory_HoldsEveryPieceOfThePlan()
    {
        byte[] initrd = TestElfBuilder.Pattern(5000, 3);
        var (vm, plan) = Boot(initrd);

        foreach (PlacedBlock block in new[] { plan.Gdt, plan.ZeroPage, plan.CommandLine, plan.Initrd! })
        {
            var inRam = new byte[block.Bytes.Length];
            vm.Memory.ReadBytes(block.Address, inRam);
            Assert.Equal(block.Bytes, inRam);
        }
        LoadSegment data = plan.Segments[1];
        var segment = new byte[data.MemorySize];
        vm.Memory.ReadBytes(data.PhysicalAddress, segment);
        Assert.Equal(data.FileBytes, segment[..data.FileBytes.Length]);
        Assert.All(segment[data.FileBytes.Length..], b => Assert.Equal(0, b)); // bss
    }
}
