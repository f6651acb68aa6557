using Iced.Intel;
using Vmi.Machine.Tests.Boot;
using Vmi.Machine.Tests.Support;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Machine.Tests;

/// <summary>The option-ROM/BIOS window 0xC0000–0xFFFFF is read-only to the guest, as on a PC.</summary>
public sealed class RomWindowTests
{
    [Fact]
    public void GuestWritesToTheRomWindowAreIgnoredAndRamElsewhereIsWritable()
    {
        var a = new Assembler(32);
        a.mov(__dword_ptr[0xC8000], 0x1234_5678);  // option-ROM area
        a.mov(__dword_ptr[0xF0000], 0x1234_5678);  // BIOS area
        a.mov(__dword_ptr[0x9_0000], 0x1234_5678); // ordinary RAM
        a.mov(eax, __dword_ptr[0xC8000]);
        a.mov(ebx, __dword_ptr[0x9_0000]);
        a.cli();
        a.hlt();
        byte[] rom = new byte[2048];
        rom[0] = 0x55;
        rom[1] = 0xAA;
        var vm = Vm.BootMultiboot(new VmConfig { OptionRom = rom, OptionRomBase = 0xC8000 }, TinyKernel.Build(a));

        VmRunResult r = vm.Run(1000);

        Assert.Equal(VmExitReason.Halted, r.Reason);
        Assert.Equal(0xAA55u, vm.Cpu.Eax);            // the ROM's bytes, not the store
        Assert.Equal(0x1234_5678u, vm.Cpu.Ebx);
        Assert.Equal(0u, vm.Memory.Read32(0xF0000));
    }

    [Theory]
    [InlineData(0xC0400u)]  // not 2 KiB aligned
    [InlineData(0xE0000u)]  // outside the scanned window
    [InlineData(0xDFC00u)]  // unaligned, and would run past 0xDFFFF
    public void BadRomBasesAreRefused(uint romBase)
    {
        var elf = TestElfBuilder.Valid().Build();
        var e = Assert.Throws<VmBuildException>(() => Vm.BootMultiboot(new VmConfig { OptionRom = new byte[2048], OptionRomBase = romBase }, elf));
        Assert.Contains($"0x{romBase:X}", e.Message, StringComparison.Ordinal);
    }
}
