using Iced.Intel;
using Vmi.Cpu;
using Vmi.Cpu.Memory;

namespace Vmi.Rom.Tests;

/// <summary>
/// A BIOS far-calls offset 3 of every option ROM in real mode during POST. Ours must come back
/// with RETF and every register as it was, for every profile.
/// </summary>
public sealed class RealModeInitTests
{
    [Theory]
    [InlineData("native")]
    [InlineData("nop-demo")]
    public void InitEntryReturnsWithRetfAndLeavesRegistersIntact(string profile)
    {
        var memory = new PhysicalMemory(2u << 20);
        memory.Load(0xC0000, RomProfiles.Build(profile)!.Image);
        var a = new Assembler(16);
        a.call(0xC000, 0x0003); // call far C000:0003, as SeaBIOS's callrom does
        a.hlt();
        var writer = new BytesWriter();
        a.Assemble(writer, 0x1000);
        memory.Load(0x1000, writer.Bytes.ToArray());

        var cpu = new Vmi.Cpu.Cpu(memory, CpuModel.Plain);
        cpu.SetSegment(SegReg.Cs, new SegmentCache { Selector = 0, Base = 0, Limit = 0xFFFF, Attributes = 0x9B, Usable = true });
        cpu.SetSegment(SegReg.Ss, new SegmentCache { Selector = 0, Base = 0, Limit = 0xFFFF, Attributes = 0x93, Usable = true });
        cpu.Eip = 0x1000;
        cpu.Esp = 0x9000;
        uint[] before = [0x1111_1111, 0x2222_2222, 0x3333_3333, 0x4444_4444, 0x9000, 0x6666_6666, 0x7777_7777, 0x8888_8888];
        for (int r = 0; r < 8; r++)
        {
            if (r != Reg.Esp) cpu[r] = before[r];
        }
        uint flags = cpu.Eflags;

        CpuExit exit = cpu.Run(1000);

        Assert.False(cpu.ProtectedMode);
        Assert.Equal(CpuExitReason.Halted, exit.Reason);
        Assert.Equal(0x1000u + (uint)writer.Bytes.Count, cpu.Eip);
        for (int r = 0; r < 8; r++)
        {
            Assert.Equal(before[r], cpu[r]);
        }
        Assert.Equal(flags, cpu.Eflags);
        Assert.Equal(0, cpu.Segment(SegReg.Cs).Selector);
        Assert.Equal(4, cpu.InstructionsRetired); // call far, the jump at 0003, retf, hlt
    }

    private sealed class BytesWriter : CodeWriter
    {
        public List<byte> Bytes { get; } = [];

        public override void WriteByte(byte value) => Bytes.Add(value);
    }
}
