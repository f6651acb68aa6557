using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Machine.Tests.Boot;

/// <summary>
/// <c>ld -m elf_i386 -Ttext 0x100000</c> without a linker script puts the ELF and program headers
/// in a read-only PT_LOAD at 0xFF000, inside the BIOS area. QEMU boots such a kernel and leaves
/// the headers readable there, but not writable; so does vmi.
/// </summary>
public sealed class HeaderSegmentBootTests
{
    [Fact]
    public void HeadersInTheBiosArea_AreLoadedReadOnly()
    {
        var a = new Assembler(32);
        a.mov(eax, __dword_ptr[0xFF000]);
        a.mov(__dword_ptr[0xFF000], 0x5A5A_5A5A);
        a.mov(ebx, __dword_ptr[0xFF000]);
        a.mov(ecx, __dword_ptr[0xFF074]); // past the headers: nothing loaded there
        a.cli();
        a.hlt();
        var writer = new BytesWriter();
        a.Assemble(writer, 0x10_0000);
        byte[] headers = TestElfBuilder.Pattern(0x74, 0x10);
        headers[0] = 0x7F;
        headers[1] = (byte)'E';
        headers[2] = (byte)'L';
        headers[3] = (byte)'F';
        var elf = new TestElfBuilder { Entry = 0x10_0000 };
        elf.Segments.Add(new TestElfBuilder.Segment(0xF_F000, headers, 0x74, 0xF_F000, Flags: 4));
        elf.Segments.Add(new TestElfBuilder.Segment(0x10_0000, [.. writer.Bytes], (uint)writer.Bytes.Count, 0x10_0000, Flags: 5));
        var vm = Vm.BootMultiboot(new VmConfig(), elf.Build());

        VmRunResult r = vm.Run(100);

        Assert.Equal(VmExitReason.Halted, r.Reason);
        Assert.Equal(0x464C_457Fu, vm.Cpu.Eax);
        Assert.Equal(0x464C_457Fu, vm.Cpu.Ebx); // the guest's store was dropped
        Assert.Equal(0u, vm.Cpu.Ecx);
    }

    private sealed class BytesWriter : CodeWriter
    {
        public List<byte> Bytes { get; } = [];

        public override void WriteByte(byte value) => Bytes.Add(value);
    }
}
