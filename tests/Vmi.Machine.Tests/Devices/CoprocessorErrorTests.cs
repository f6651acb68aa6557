using Iced.Intel;
using Vmi.Cpu;
using Vmi.Cpu.Memory;
using Vmi.Machine.Time;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Machine.Tests.Devices;

/// <summary>
/// x87 errors the PC/AT way (CR0.NE = 0): FERR# requests IRQ 13 at the PIC, a write to port 0xF0
/// withdraws the request and asserts IGNNE#, and clearing the error lowers FERR# (and IGNNE#).
/// </summary>
public sealed class CoprocessorErrorTests
{
    [Fact]
    public void Ferr_requests_irq13_and_port_f0_withdraws_it()
    {
        var memory = new PhysicalMemory(1 << 20);
        var cpu = new Vmi.Cpu.Cpu(memory, CpuModel.Pentium4);
        var board = new Board(cpu, new GuestClock(1_000_000_000, () => cpu.InstructionsRetired), new TimerQueue(), Stream.Null);
        var a = new Assembler(32);
        a.fninit();
        a.mov(__word_ptr[0x8000], 0x037B);  // divide-by-zero unmasked
        a.fldcw(__word_ptr[0x8000]);
        a.fld1();
        a.fldz();
        a.fdivp(st1, st0);
        a.hlt();
        var writer = new Bytes();
        a.Assemble(writer, 0x1000);
        memory.Load(0x1000, writer.ToArray());
        cpu.EnterFlatProtectedMode(0x1000);
        // Unmask IRQ 13 at the slave and the cascade at the master (the PIC comes up with all masked after ICWs).
        InitializePics(board);

        cpu.Run(100);

        Assert.True(cpu.Halted);
        Assert.True(board.Pic.HasPendingInterrupt);
        Assert.False(cpu.IgnoreNumericErrors);
        board.PortWrite(0xF0, 1, 0);
        Assert.False(board.Pic.HasPendingInterrupt);
        Assert.True(cpu.IgnoreNumericErrors);
    }

    private static void InitializePics(Board board)
    {
        foreach ((ushort port, byte offset, byte cascade) in new[] { ((ushort)0x20, (byte)0x20, (byte)0x04), ((ushort)0xA0, (byte)0x28, (byte)0x02) })
        {
            board.PortWrite(port, 1, 0x11);
            board.PortWrite((ushort)(port + 1), 1, offset);
            board.PortWrite((ushort)(port + 1), 1, cascade);
            board.PortWrite((ushort)(port + 1), 1, 0x01);
            board.PortWrite((ushort)(port + 1), 1, 0x00);
        }
    }

    private sealed class Bytes : CodeWriter
    {
        private readonly List<byte> bytes = [];

        public override void WriteByte(byte value) => bytes.Add(value);

        public byte[] ToArray() => [.. bytes];
    }
}
