using System.Text;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Machine.Tests.Boot;

/// <summary>
/// Kernels linked low in conventional memory boot: the loader's boot GDT and information block
/// go wherever the kernel is not, instead of at fixed addresses on top of it.
/// </summary>
public sealed class LowKernelBootTests
{
    /// <summary>
    /// A kernel at <paramref name="address"/> that reloads DS/ES/SS from the boot GDT (a clobbered
    /// GDT faults), prints the multiboot command line on COM1 and exits through the debug port.
    /// Its one segment is <paramref name="memorySize"/> bytes long.
    /// </summary>
    private static byte[] KernelAt(uint address, uint memorySize)
    {
        var a = new Assembler(32);
        Label loop = a.CreateLabel(), done = a.CreateLabel();
        a.mov(ax, 0x10);
        a.mov(ds, ax);
        a.mov(es, ax);
        a.mov(ss, ax);
        a.mov(esi, __dword_ptr[ebx + 16]); // multiboot_info.cmdline
        a.mov(edx, 0x3F8);
        a.Label(ref loop);
        a.lodsb();
        a.test(al, al);
        a.jz(done);
        a.@out(dx, al);
        a.jmp(loop);
        a.Label(ref done);
        a.mov(edx, 0xF4);
        a.mov(al, 0);
        a.@out(dx, al);
        a.hlt();
        var writer = new BytesWriter();
        a.Assemble(writer, address);
        var elf = new TestElfBuilder { Entry = address };
        elf.Segments.Add(new TestElfBuilder.Segment(address, writer.Bytes.ToArray(), memorySize, address, Flags: 7));
        return elf.Build();
    }

    private static (VmRunResult Run, string Serial, Vm Vm) Boot(byte[] kernel)
    {
        var serial = new MemoryStream();
        var vm = Vm.BootMultiboot(new VmConfig { CommandLine = "hello from the loader", SerialOutput = serial }, kernel);
        VmRunResult r = vm.Run(100_000);
        return (r, Encoding.ASCII.GetString(serial.ToArray()), vm);
    }

    [Fact]
    public void KernelAt0x500_IsNotOverwrittenByTheBootGdt()
    {
        var (run, serial, vm) = Boot(KernelAt(0x500, 0x100));

        Assert.Equal(VmExitReason.DebugExit, run.Reason);
        Assert.Equal("hello from the loader", serial);
        Assert.False(vm.Cpu.Gdtr.Base is >= 0x500 and < 0x600, $"boot GDT at 0x{vm.Cpu.Gdtr.Base:X} lies on the kernel");
    }

    [Fact]
    public void KernelOver0x9000_BootsWithItsInformationElsewhere()
    {
        var (run, serial, vm) = Boot(KernelAt(0x8000, 0x3000));

        Assert.Equal(VmExitReason.DebugExit, run.Reason);
        Assert.Equal("hello from the loader", serial);
        Assert.False(vm.Cpu.Ebx is >= 0x8000 and < 0xB000, $"multiboot information at 0x{vm.Cpu.Ebx:X} lies on the kernel");
    }

    private sealed class BytesWriter : CodeWriter
    {
        public List<byte> Bytes { get; } = [];

        public override void WriteByte(byte value) => Bytes.Add(value);
    }
}
