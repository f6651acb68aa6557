using Vmi.Machine.Devices;

namespace Vmi.Machine.Tests.Devices;

/// <summary>The cascaded PC/AT pair, initialised the way Linux's <c>init_8259A</c> does it.</summary>
public sealed class DualPicTests
{
    private readonly IoBus _bus = new();
    private readonly DualPic _pic = new();

    public DualPicTests()
    {
        _bus.Register(0x20, 2, _pic.Master);
        _bus.Register(0xA0, 2, _pic.Slave);
    }

    [Fact]
    public void Linux_style_init_programs_both_vector_bases_and_unmasks()
    {
        LinuxInit(autoEoi: false);

        Assert.Equal(0x20, _pic.MasterChip.VectorBase);
        Assert.Equal(0x28, _pic.SlaveChip.VectorBase);
        Assert.Equal(0x00, In(0x21));
        Assert.Equal(0x00, In(0xA1));
        Assert.False(_pic.MasterChip.IsInitializing);
        Assert.False(_pic.SlaveChip.IsInitializing);
        Assert.False(_pic.HasPendingInterrupt);
    }

    [Fact]
    public void No_interrupt_is_delivered_mid_initialisation()
    {
        Out(0x20, 0x11);
        Out(0x21, 0x20);
        _pic.GetLine(0).Set(true);

        Assert.False(_pic.HasPendingInterrupt);
        Out(0x21, 0x04);
        Out(0x21, 0x01);
        Assert.True(_pic.HasPendingInterrupt);
    }

    [Fact]
    public void Raised_line_is_delivered_with_its_vector_and_put_in_service()
    {
        LinuxInit(autoEoi: false);
        _pic.GetLine(0).Set(true);

        Assert.True(_pic.HasPendingInterrupt);
        Assert.Equal(0x20, _pic.Acknowledge());
        Assert.False(_pic.HasPendingInterrupt);
        Assert.Equal(0x01, ReadIsr(0x20));
        Assert.Equal(0x00, ReadIrr(0x20));
    }

    [Fact]
    public void Masked_lines_stay_pending_in_IRR_until_unmasked()
    {
        LinuxInit(autoEoi: false);
        Out(0x21, 0x02);
        _pic.GetLine(1).Set(true);

        Assert.False(_pic.HasPendingInterrupt);
        Assert.Equal(0x02, ReadIrr(0x20));
        Out(0x21, 0x00);
        Assert.True(_pic.HasPendingInterrupt);
        Assert.Equal(0x21, _pic.Acknowledge());
    }

    [Fact]
    public void Lower_numbered_lines_win_and_in_service_levels_block_lower_ones_until_EOI()
    {
        LinuxInit(autoEoi: false);
        _pic.GetLine(3).Set(true);
        _pic.GetLine(1).Set(true);

        Assert.Equal(0x21, _pic.Acknowledge());
        Assert.False(_pic.HasPendingInterrupt); // IRQ3 waits behind in-service IRQ1
        Out(0x20, 0x20);                        // non-specific EOI
        Assert.True(_pic.HasPendingInterrupt);
        Assert.Equal(0x23, _pic.Acknowledge());
    }

    [Fact]
    public void A_higher_priority_request_nests_over_a_lower_one_in_service()
    {
        LinuxInit(autoEoi: false);
        _pic.GetLine(4).Set(true);
        Assert.Equal(0x24, _pic.Acknowledge());

        _pic.GetLine(1).Set(true);
        Assert.True(_pic.HasPendingInterrupt);
        Assert.Equal(0x21, _pic.Acknowledge());
        Assert.Equal(0x12, ReadIsr(0x20));

        Out(0x20, 0x20); // non-specific EOI retires the highest in service: IRQ1
        Assert.Equal(0x10, ReadIsr(0x20));
    }

    [Fact]
    public void Specific_EOI_retires_the_named_level()
    {
        LinuxInit(autoEoi: false);
        _pic.GetLine(4).Set(true);
        _pic.Acknowledge();
        _pic.GetLine(1).Set(true);
        _pic.Acknowledge();

        Out(0x20, 0x64); // specific EOI, level 4
        Assert.Equal(0x02, ReadIsr(0x20));
    }

    [Theory]
    [InlineData(8, 0x28, 0x01)]
    [InlineData(12, 0x2C, 0x10)]
    [InlineData(15, 0x2F, 0x80)]
    public void Slave_lines_cascade_through_master_IRQ2(int irq, int vector, int slaveIsr)
    {
        LinuxInit(autoEoi: false);
        _pic.GetLine(irq).Set(true);

        Assert.True(_pic.HasPendingInterrupt);
        Assert.Equal(vector, _pic.Acknowledge());
        Assert.Equal(0x04, ReadIsr(0x20));
        Assert.Equal(slaveIsr, ReadIsr(0xA0));

        Out(0xA0, 0x20);
        Out(0x20, 0x20);
        Assert.Equal(0x00, ReadIsr(0x20));
        Assert.Equal(0x00, ReadIsr(0xA0));
    }

    [Fact]
    public void Slave_requests_rank_between_IRQ1_and_IRQ3()
    {
        LinuxInit(autoEoi: false);
        _pic.GetLine(3).Set(true);
        _pic.GetLine(14).Set(true);
        _pic.GetLine(1).Set(true);

        Assert.Equal(0x21, _pic.Acknowledge());
        Out(0x20, 0x20);
        Assert.Equal(0x2E, _pic.Acknowledge());
        Out(0xA0, 0x20);
        Out(0x20, 0x20);
        Assert.Equal(0x23, _pic.Acknowledge());
    }

    [Fact]
    public void Second_slave_request_is_delivered_after_the_first_is_retired()
    {
        LinuxInit(autoEoi: false);
        _pic.GetLine(8).Set(true);
        _pic.GetLine(12).Set(true);

        Assert.Equal(0x28, _pic.Acknowledge());
        Assert.False(_pic.HasPendingInterrupt);
        Out(0xA0, 0x20);
        Out(0x20, 0x20);
        Assert.True(_pic.HasPendingInterrupt);
        Assert.Equal(0x2C, _pic.Acknowledge());
    }

    [Fact]
    public void A_request_that_vanishes_before_INTA_yields_spurious_IRQ7_without_ISR()
    {
        LinuxInit(autoEoi: false);
        _pic.GetLine(4).Set(true);
        Assert.True(_pic.HasPendingInterrupt);
        _pic.GetLine(4).Set(false);

        Assert.Equal(0x27, _pic.Acknowledge());
        Assert.Equal(0x00, ReadIsr(0x20));
    }

    [Fact]
    public void A_vanished_slave_request_also_ends_as_master_spurious_IRQ7()
    {
        LinuxInit(autoEoi: false);
        _pic.GetLine(10).Set(true);
        _pic.GetLine(10).Set(false); // the slave's INT drops, withdrawing master IR2 too

        Assert.Equal(0x27, _pic.Acknowledge());
        Assert.Equal(0x00, ReadIsr(0x20));
        Assert.Equal(0x00, ReadIsr(0xA0));
    }

    [Fact]
    public void Auto_EOI_leaves_nothing_in_service()
    {
        LinuxInit(autoEoi: true);
        _pic.GetLine(1).Set(true);
        _pic.GetLine(9).Set(true);

        Assert.Equal(0x21, _pic.Acknowledge());
        Assert.Equal(0x00, ReadIsr(0x20));
        Assert.True(_pic.HasPendingInterrupt); // no EOI needed for the next one
        Assert.Equal(0x29, _pic.Acknowledge());
        Assert.Equal(0x00, ReadIsr(0x20));
        Assert.Equal(0x00, ReadIsr(0xA0));
    }

    [Fact]
    public void OCW3_selects_IRR_or_ISR_for_reads_and_the_choice_sticks()
    {
        LinuxInit(autoEoi: false);
        Out(0x21, 0x40);
        _pic.GetLine(5).Set(true);
        _pic.GetLine(6).Set(true);
        _pic.Acknowledge();

        Out(0x20, 0x0A);
        Assert.Equal(0x40, In(0x20));
        Out(0x20, 0x0B);
        Assert.Equal(0x20, In(0x20));
        Assert.Equal(0x20, In(0x20));
        Out(0x20, 0x0A);
        Assert.Equal(0x40, In(0x20));
    }

    [Fact]
    public void IRQ2_is_redirected_to_IRQ9_as_on_the_AT()
    {
        LinuxInit(autoEoi: false);
        _pic.GetLine(2).Set(true);

        Assert.Equal(0x29, _pic.Acknowledge());
    }

    [Fact]
    public void PendingChanged_fires_when_the_master_INT_changes()
    {
        LinuxInit(autoEoi: false);
        int changes = 0;
        _pic.PendingChanged += () => changes++;

        _pic.GetLine(11).Set(true);
        Assert.Equal(1, changes);
        _pic.Acknowledge();
        Assert.Equal(2, changes);
    }

    private void LinuxInit(bool autoEoi)
    {
        int icw4 = autoEoi ? 0x03 : 0x01;
        Out(0x20, 0x11); // ICW1: edge, cascade, ICW4 follows
        Out(0x21, 0x20); // ICW2: vectors 0x20-0x27
        Out(0x21, 0x04); // ICW3: slave on IR2
        Out(0x21, icw4);
        Out(0xA0, 0x11);
        Out(0xA1, 0x28); // vectors 0x28-0x2F
        Out(0xA1, 0x02); // ICW3: slave ID 2
        Out(0xA1, icw4);
        Out(0x21, 0x00);
        Out(0xA1, 0x00);
    }

    private int ReadIsr(ushort port)
    {
        Out(port, 0x0B);
        return In(port);
    }

    private int ReadIrr(ushort port)
    {
        Out(port, 0x0A);
        return In(port);
    }

    private int In(ushort port) => (int)_bus.Read(port, 1);

    private void Out(ushort port, int value) => _bus.Write(port, 1, (uint)value);
}
