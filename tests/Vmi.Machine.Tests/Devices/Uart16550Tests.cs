using System.Text;
using Vmi.Machine.Devices;

namespace Vmi.Machine.Tests.Devices;

public sealed class Uart16550Tests
{
    private const ushort Base = 0x3F8;
    private const ushort Data = Base + 0;
    private const ushort Ier = Base + 1;
    private const ushort Iir = Base + 2;
    private const ushort Fcr = Base + 2;
    private const ushort Lcr = Base + 3;
    private const ushort Mcr = Base + 4;
    private const ushort Lsr = Base + 5;
    private const ushort Msr = Base + 6;
    private const ushort Scr = Base + 7;

    private readonly IoBus _bus = new();
    private readonly FlushCountingStream _output = new();
    private readonly RecordingLine _irq = new();
    private readonly Uart16550 _uart;

    public Uart16550Tests()
    {
        _uart = new Uart16550(_output, _irq);
        _bus.Register(Base, 8, _uart);
    }

    [Fact]
    public void Bytes_written_to_THR_appear_on_the_stream_which_is_flushed_at_newline()
    {
        foreach (char ch in "hi\nyo")
        {
            Out(Data, ch);
        }

        Assert.Equal("hi\nyo", Encoding.ASCII.GetString(_output.ToArray()));
        Assert.Equal(5, _uart.BytesWritten);
        Assert.Equal(1, _output.FlushCount);
        _uart.Flush();
        Assert.Equal(2, _output.FlushCount);
    }

    [Fact]
    public void LSR_reports_transmitter_empty_and_data_ready()
    {
        Assert.Equal(0x60, In(Lsr)); // THRE | TEMT, no data
        Out(Data, 'a');
        Assert.Equal(0x60, In(Lsr)); // transmission is instantaneous

        _uart.EnqueueInput("z"u8);
        Assert.Equal(0x61, In(Lsr));
        Assert.Equal('z', In(Data));
        Assert.Equal(0x60, In(Lsr));
    }

    [Fact]
    public void DLAB_maps_the_divisor_latch_over_data_and_IER()
    {
        Out(Ier, 0x05);
        Out(Lcr, 0x83); // DLAB + 8N1
        Out(Data, 0x01);
        Out(Ier, 0x02);

        Assert.Equal(0x01, In(Data));
        Assert.Equal(0x02, In(Ier));
        Assert.Equal((ushort)0x0201, _uart.Divisor);
        Assert.Empty(_output.ToArray()); // the DLL write did not transmit

        Out(Lcr, 0x03);
        Assert.Equal(0x05, In(Ier));
        Out(Data, 'k');
        Assert.Equal("k", Encoding.ASCII.GetString(_output.ToArray()));
        Assert.Equal((ushort)0x0201, _uart.Divisor);
    }

    [Fact]
    public void Scratch_register_holds_a_byte()
    {
        Out(Scr, 0x5A);
        Assert.Equal(0x5A, In(Scr));
    }

    [Fact]
    public void Received_bytes_raise_the_RX_interrupt_until_the_FIFO_is_drained()
    {
        Out(Ier, 0x01);
        Assert.False(_irq.Level);
        Assert.Equal(0x01, In(Iir));

        _uart.EnqueueInput("ab"u8);

        Assert.True(_irq.Level);
        Assert.Equal(0x04, In(Iir));
        Assert.Equal('a', In(Data));
        Assert.True(_irq.Level);
        Assert.Equal('b', In(Data));
        Assert.False(_irq.Level);
        Assert.Equal(0x01, In(Iir));
        Assert.Equal(1, _irq.RisingEdges);
    }

    [Fact]
    public void Input_beyond_the_16_byte_FIFO_waits_on_the_host_side_and_is_never_lost()
    {
        Out(Fcr, 0xC7); // enable, clear both, trigger level 14
        byte[] input = [.. Enumerable.Range(0, 40).Select(i => (byte)('A' + (i % 26)))];
        _uart.EnqueueInput(input);
        Assert.Equal(24, _uart.PendingInputCount);

        var received = new List<byte>();
        while ((In(Lsr) & 0x01) != 0)
        {
            received.Add((byte)In(Data));
        }

        Assert.Equal(input, received);
        Assert.Equal(0, In(Lsr) & 0x02); // no overrun
    }

    [Fact]
    public void FIFO_below_trigger_level_reports_character_timeout_and_at_trigger_level_RX_data()
    {
        Out(Fcr, 0x81); // enable, trigger level 8
        Out(Ier, 0x01);

        _uart.EnqueueInput("1234567"u8);
        Assert.Equal(0xCC, In(Iir)); // FIFOs-enabled bits | character timeout
        _uart.EnqueueInput("8"u8);
        Assert.Equal(0xC4, In(Iir));
    }

    [Fact]
    public void THRE_interrupt_is_raised_on_enable_cleared_by_reading_IIR_and_rearmed_by_a_write()
    {
        Out(Ier, 0x02);
        Assert.True(_irq.Level);
        Assert.Equal(0x02, In(Iir));
        Assert.False(_irq.Level);
        Assert.Equal(0x01, In(Iir));

        Out(Data, 'x');

        Assert.True(_irq.Level);
        Assert.Equal(2, _irq.RisingEdges);
        Assert.Equal(0x02, In(Iir));
    }

    [Fact]
    public void Writing_THR_gives_a_fresh_edge_even_when_THRE_was_still_pending()
    {
        Out(Ier, 0x02);
        Out(Data, 'a');
        Out(Data, 'b');

        Assert.Equal(3, _irq.RisingEdges);
        Assert.True(_irq.Level);
    }

    [Fact]
    public void IIR_reports_line_status_then_RX_data_then_THRE_then_modem_status()
    {
        Out(Mcr, 0x10); // loopback: the guest feeds its own receiver
        In(Msr);        // discard the deltas from entering loopback
        Out(Ier, 0x0F);
        Assert.Equal(0x02, In(Iir)); // THRE (enabling ETBEI), cleared by this read

        Out(Mcr, 0x11); // DTR → DSR: modem status change
        Assert.Equal(0x00, In(Iir));
        Out(Data, 'p'); // fills the 1-byte receiver (FIFOs off)
        Out(Data, 'q'); // overrun

        Assert.Equal(0x06, In(Iir)); // line status outranks everything
        Assert.Equal(0x03, In(Lsr) & 0x03); // DR | OE; reading clears OE
        Assert.Equal(0x04, In(Iir)); // received data
        Assert.Equal('q', In(Data)); // non-FIFO overrun: the new character replaced the old one
        Assert.Equal(0x02, In(Iir)); // THRE, re-armed by the writes, cleared by this read
        Assert.Equal(0x00, In(Iir)); // modem status, until MSR is read
        Assert.Equal(0x22, In(Msr)); // DSR | DDSR
        Assert.Equal(0x01, In(Iir));
        Assert.False(_irq.Level);
    }

    [Fact]
    public void Loopback_returns_transmitted_bytes_and_mirrors_modem_control_into_status()
    {
        Out(Mcr, 0x1F); // loopback + DTR, RTS, OUT1, OUT2

        Assert.Equal(0xF0, In(Msr) & 0xF0); // DSR, CTS, RI, DCD
        Out(Data, 'L');
        Assert.Equal('L', In(Data));
        Assert.Empty(_output.ToArray());
        Assert.Equal(0, _uart.BytesWritten);

        Out(Mcr, 0x10); // drop all four outputs
        byte msr = (byte)In(Msr);
        Assert.Equal(0x00, msr & 0xF0);
        Assert.Equal(0x0F, msr & 0x0F); // DCTS, DDSR, TERI (RI fell), DDCD
        Assert.Equal(0x00, In(Msr) & 0x0F); // deltas clear on read
    }

    [Fact]
    public void Host_input_waits_while_loopback_disconnects_the_receiver()
    {
        Out(Mcr, 0x10);
        _uart.EnqueueInput("h"u8);
        Assert.Equal(0, In(Lsr) & 0x01);

        Out(Mcr, 0x00);
        Assert.Equal(1, In(Lsr) & 0x01);
        Assert.Equal('h', In(Data));
    }

    [Fact]
    public void Outside_loopback_the_modem_lines_look_like_a_connected_null_modem()
    {
        Assert.Equal(0xB0, In(Msr)); // DCD, DSR, CTS
    }

    [Fact]
    public void Wide_accesses_are_counted_and_ignored()
    {
        _bus.Write(Data, 2, 0x4141);
        Assert.Equal(0xFFFFu, _bus.Read(Lsr, 2));

        Assert.Empty(_output.ToArray());
        Assert.Equal(2, _uart.MissedAccessCount);
    }

    private int In(ushort port) => (int)_bus.Read(port, 1);

    private void Out(ushort port, int value) => _bus.Write(port, 1, (uint)value);

    private sealed class RecordingLine : IIrqLine
    {
        public bool Level { get; private set; }

        public int RisingEdges { get; private set; }

        public void Set(bool level)
        {
            Assert.NotEqual(Level, level); // the UART must only report changes
            if (level)
            {
                RisingEdges++;
            }

            Level = level;
        }
    }

    private sealed class FlushCountingStream : MemoryStream
    {
        public int FlushCount { get; private set; }

        public override void Flush()
        {
            FlushCount++;
            base.Flush();
        }
    }
}
