using Vmi.Machine.Devices;

namespace Vmi.Machine.Tests.Devices;

/// <summary>One chip on its own, in single mode, driven through the bus.</summary>
public sealed class Pic8259Tests
{
    private readonly IoBus _bus = new();
    private readonly RecordingLine _int = new();
    private readonly Pic8259 _pic;

    public Pic8259Tests()
    {
        _pic = new Pic8259(_int);
        _bus.Register(0x20, 2, _pic);
    }

    [Fact]
    public void Powers_up_fully_masked()
    {
        _pic.SetInput(3, true);
        Assert.Equal(0xFF, In(0x21));
        Assert.False(_pic.InterruptOutput);
    }

    [Fact]
    public void Single_mode_init_skips_ICW3_and_without_IC4_skips_ICW4()
    {
        Out(0x20, 0x12); // ICW1: single, no ICW4
        Out(0x21, 0x48); // ICW2
        Assert.False(_pic.IsInitializing);
        Out(0x21, 0xFE); // already OCW1
        Assert.Equal(0xFE, In(0x21));
        Assert.Equal(0x48, _pic.VectorBase);
    }

    [Fact]
    public void ICW2_low_three_bits_are_supplied_by_the_chip()
    {
        Init();
        Out(0x20, 0x13);
        Out(0x21, 0x27);
        Out(0x21, 0x01);
        Assert.Equal(0x20, _pic.VectorBase);
    }

    [Fact]
    public void INT_follows_unmasked_requests_and_acknowledge_moves_them_into_service()
    {
        Init();
        _pic.SetInput(5, true);

        Assert.True(_int.Level);
        Assert.Equal(5, _pic.GetPendingIrq());
        _pic.AcknowledgeIrq(5);
        Assert.False(_int.Level);
        Assert.Equal(0x20, _pic.Isr);
        Assert.Equal(0x00, _pic.Irr);
    }

    [Fact]
    public void An_input_held_high_requests_only_once()
    {
        Init();
        _pic.SetInput(1, true);
        _pic.AcknowledgeIrq(1);
        Out(0x20, 0x20);
        _pic.SetInput(1, true); // still high: no new edge

        Assert.Equal(-1, _pic.GetPendingIrq());
        _pic.SetInput(1, false);
        _pic.SetInput(1, true);
        Assert.Equal(1, _pic.GetPendingIrq());
    }

    [Fact]
    public void ICW1_resets_edge_sense_so_an_input_already_high_must_pulse_again()
    {
        _pic.SetInput(0, true);
        Init();

        Assert.Equal(0x00, _pic.Irr);
        Assert.False(_int.Level);
    }

    [Fact]
    public void Level_triggered_mode_keeps_requesting_while_the_input_is_high()
    {
        Out(0x20, 0x1B); // ICW1: LTIM, single, IC4
        Out(0x21, 0x20);
        Out(0x21, 0x01);
        _pic.SetInput(3, true);
        _pic.AcknowledgeIrq(3);
        Out(0x20, 0x20);

        Assert.Equal(3, _pic.GetPendingIrq());
        _pic.SetInput(3, false);
        Assert.Equal(-1, _pic.GetPendingIrq());
    }

    [Fact]
    public void Poll_command_returns_the_level_and_acknowledges_it()
    {
        Init();
        Out(0x21, 0xFF); // polling works with INT masked off at the CPU; mask here to prove IMR still applies
        _pic.SetInput(6, true);
        Out(0x20, 0x0C);
        Assert.Equal(0x00, In(0x20));

        Out(0x21, 0x00);
        Out(0x20, 0x0C);
        Assert.Equal(0x86, In(0x20));
        Assert.Equal(0x40, _pic.Isr);
        Assert.Equal(0x00, In(0x20)); // the poll word is returned once; back to IRR
    }

    [Fact]
    public void Set_priority_rotates_the_order()
    {
        Init();
        Out(0x20, 0xC4); // OCW2 set priority: IR4 lowest, so IR5 highest
        _pic.SetInput(1, true);
        _pic.SetInput(6, true);

        Assert.Equal(6, _pic.GetPendingIrq());
        _pic.AcknowledgeIrq(6);
        Assert.Equal(-1, _pic.GetPendingIrq()); // IR1 now ranks below the in-service IR6
        Out(0x20, 0x20);
        Assert.Equal(1, _pic.GetPendingIrq());
    }

    [Fact]
    public void Rotate_on_non_specific_EOI_makes_the_serviced_level_lowest()
    {
        Init();
        _pic.SetInput(0, true);
        _pic.AcknowledgeIrq(0);
        Out(0x20, 0xA0); // rotate on non-specific EOI
        _pic.SetInput(0, false);
        _pic.SetInput(0, true);
        _pic.SetInput(7, true);

        Assert.Equal(7, _pic.GetPendingIrq());
    }

    [Fact]
    public void Special_mask_mode_lets_lower_levels_through_a_masked_in_service_level()
    {
        Init();
        _pic.SetInput(2, true);
        _pic.AcknowledgeIrq(2);
        _pic.SetInput(5, true);
        Assert.Equal(-1, _pic.GetPendingIrq());

        Out(0x21, 0x04); // mask the in-service level
        Out(0x20, 0x68); // OCW3: ESMM | SMM
        Assert.Equal(5, _pic.GetPendingIrq());
        Out(0x20, 0x48); // special mask off
        Assert.Equal(-1, _pic.GetPendingIrq());
    }

    [Fact]
    public void Wide_accesses_are_counted_and_ignored()
    {
        Init();
        _bus.Write(0x20, 2, 0x0011);
        Assert.Equal(0xFFFFu, _bus.Read(0x21, 2));

        Assert.False(_pic.IsInitializing);
        Assert.Equal(2, _pic.MissedAccessCount);
    }

    private void Init()
    {
        Out(0x20, 0x13); // ICW1: edge, single, IC4
        Out(0x21, 0x20); // ICW2
        Out(0x21, 0x01); // ICW4: 8086 mode
    }

    private int In(ushort port) => (int)_bus.Read(port, 1);

    private void Out(ushort port, int value) => _bus.Write(port, 1, (uint)value);

    private sealed class RecordingLine : IIrqLine
    {
        public bool Level { get; private set; }

        public void Set(bool level)
        {
            Assert.NotEqual(Level, level);
            Level = level;
        }
    }
}
