using Vmi.Machine.Devices;
using Vmi.Machine.Time;

namespace Vmi.Machine.Tests.Devices;

public sealed class Pit8254Tests
{
    private const long NominalHz = 1_000_000_000;
    private const ushort Counter0 = 0x40;
    private const ushort Control = 0x43;

    private readonly IoBus _bus = new();
    private readonly TimerQueue _timers = new();
    private readonly GuestClock _clock;
    private readonly EdgeRecorder _irq0;
    private readonly Pit8254 _pit;
    private long _retired;

    public Pit8254Tests()
    {
        _clock = new GuestClock(NominalHz, () => _retired);
        _irq0 = new EdgeRecorder(_clock);
        _pit = new Pit8254(_clock, _timers, _irq0);
        _bus.Register(0x40, 4, _pit);
        Assert.Equal([0L], _irq0.RisingTicks); // construction drives OUT0 high
        _irq0.RisingTicks.Clear();
    }

    [Fact]
    public void OUT0_starts_high_and_an_idle_channel_schedules_nothing()
    {
        Assert.True(_irq0.Level);
        Assert.Equal(long.MaxValue, _timers.NextDeadline);
    }

    [Theory]
    [InlineData(0x34)] // channel 0, lo/hi, mode 2
    [InlineData(0x36)] // mode 3
    [InlineData(0x3C)] // mode 6, an alias of 2
    public void Periodic_modes_raise_IRQ0_at_the_tick_of_every_divisor_boundary(int controlWord)
    {
        Program(controlWord, 1193);
        RunTo(5_000_000);

        long[] expected = [.. Enumerable.Range(1, 5).Select(k => TickOfCycle(1193L * k))];
        Assert.Equal(expected, _irq0.RisingTicks);
        Assert.Equal(999_848, expected[0]); // 1193 / 1193182 Hz = 999.8475 µs at one tick per ns
        Assert.InRange(expected[4] - expected[3], 999_847, 999_848);
    }

    [Fact]
    public void Mode_3_output_is_low_for_the_second_half_of_each_period()
    {
        Program(0x36, 1000);

        RunTo(TickOfCycle(499));
        Assert.True(Out0ViaReadBack());
        RunTo(TickOfCycle(500));
        Assert.False(Out0ViaReadBack());
        RunTo(TickOfCycle(1000));
        Assert.True(Out0ViaReadBack());
    }

    [Fact]
    public void Counter_reads_fall_as_guest_instructions_retire()
    {
        Program(0x34, 1193);

        Assert.Equal(1193, ReadCounter0());
        _retired = 500_000; // floor(500000 * 1193182 / 1e9) = 596 cycles
        Assert.Equal(1193 - 596, ReadCounter0());
        _retired = 600_000; // 715 cycles
        Assert.Equal(1193 - 715, ReadCounter0());
    }

    [Fact]
    public void Latch_command_freezes_the_value_until_both_bytes_are_read()
    {
        Program(0x34, 1193);
        _retired = 500_000;
        Out(Control, 0x00);
        Out(Control, 0x00); // a second latch before reading is ignored
        _retired = 900_000;

        Assert.Equal(597, ReadCounter0());
        Assert.Equal(1193 - 1073, ReadCounter0()); // live again: 900000 ticks = 1073 cycles
    }

    [Fact]
    public void Lo_hi_access_needs_both_bytes_before_counting_and_reads_alternate()
    {
        Out(Control, 0x34);
        Out(Counter0, 0xA9);
        Assert.Equal(long.MaxValue, _timers.NextDeadline); // half a count starts nothing
        Assert.Equal(0xF4, StatusViaReadBack());           // OUT high, null count, lo/hi, mode 2

        Out(Counter0, 0x04);
        Assert.Equal(TickOfCycle(1193), _timers.NextDeadline);
        Assert.Equal(0xB4, StatusViaReadBack());
        Assert.Equal(0xA9, In(Counter0));
        Assert.Equal(0x04, In(Counter0));
        Assert.Equal(0xA9, In(Counter0));
    }

    [Fact]
    public void Lsb_only_and_msb_only_access_modes_use_a_single_byte()
    {
        Out(Control, 0x14); // LSB only, mode 2
        Out(Counter0, 100);
        Assert.Equal(100, In(Counter0));
        Assert.Equal(100, In(Counter0));
        Assert.Equal(TickOfCycle(100), _timers.NextDeadline);

        Out(Control, 0x24); // MSB only, mode 2
        Out(Counter0, 0x02);
        Assert.Equal(0x02, In(Counter0));
        Assert.Equal(TickOfCycle(512), _timers.NextDeadline);
    }

    [Fact]
    public void Mode_0_fires_once_at_terminal_count_and_the_counter_wraps_on()
    {
        Program(0x30, 1000);
        Assert.False(_irq0.Level); // mode 0 drives OUT low while counting

        RunTo(10_000_000);

        Assert.Equal([TickOfCycle(1000)], _irq0.RisingTicks);
        Assert.True(_irq0.Level);
        _retired = TickOfCycle(1001);
        Assert.Equal(0xFFFF, ReadCounter0());
    }

    [Fact]
    public void Mode_0_rewrite_restarts_the_count_and_the_first_byte_stops_it()
    {
        Program(0x30, 1000);
        _retired = TickOfCycle(600);
        Out(Counter0, 0x10); // first byte: counting stops, OUT stays low, no terminal count pending
        Assert.Equal(long.MaxValue, _timers.NextDeadline);
        Out(Counter0, 0x00); // 16 cycles from now

        RunTo(10_000_000);
        Assert.Equal([TickOfCycle(616)], _irq0.RisingTicks);
    }

    [Fact]
    public void Mode_4_strobes_once_after_count_plus_one_cycles()
    {
        Program(0x38, 100);
        Assert.True(_irq0.Level);

        RunTo(10_000_000);
        Assert.Equal([TickOfCycle(101)], _irq0.RisingTicks);
    }

    [Fact]
    public void Modes_1_and_5_count_down_from_the_load()
    {
        Program(0x32, 300); // mode 1
        _retired = TickOfCycle(100);
        Assert.Equal(200, ReadCounter0());
        Program(0x3A, 300); // mode 5
        _retired = TickOfCycle(250);
        Assert.Equal(150, ReadCounter0());
    }

    [Fact]
    public void Read_back_latches_status_then_count()
    {
        Program(0x34, 1193);
        _retired = 500_000;
        Out(Control, 0xC2); // latch count and status of channel 0
        _retired = 800_000;

        Assert.Equal(0xB4, In(Counter0)); // OUT high, lo/hi, mode 2, binary
        Assert.Equal(0x55, In(Counter0)); // 597 = 0x255
        Assert.Equal(0x02, In(Counter0));
    }

    [Fact]
    public void A_count_of_zero_means_65536()
    {
        Program(0x34, 0);
        Assert.Equal(0, ReadCounter0());
        RunTo(TickOfCycle(65536));
        Assert.Equal([TickOfCycle(65536)], _irq0.RisingTicks);
    }

    [Fact]
    public void New_count_in_mode_2_takes_effect_at_the_end_of_the_current_period()
    {
        Program(0x34, 1193);
        _retired = 500_000;
        Out(Counter0, 2386 & 0xFF);
        Out(Counter0, 2386 >> 8);

        RunTo(TickOfCycle(1193 + 2386 + 2386));
        Assert.Equal([TickOfCycle(1193), TickOfCycle(1193 + 2386), TickOfCycle(1193 + 2386 + 2386)], _irq0.RisingTicks);
    }

    [Fact]
    public void A_control_word_stops_the_channel_and_cancels_its_edge()
    {
        Program(0x34, 1193);
        Out(Control, 0x34);

        Assert.Equal(long.MaxValue, _timers.NextDeadline);
        RunTo(10_000_000);
        Assert.Empty(_irq0.RisingTicks);
    }

    [Fact]
    public void Late_delivery_coalesces_missed_edges_and_resumes_on_the_grid()
    {
        Program(0x34, 1193);
        _retired = 5_500_000; // five boundaries passed before the run loop looked
        _timers.RunDue(_clock.Ticks);

        Assert.Single(_irq0.RisingTicks);
        Assert.Equal(TickOfCycle(1193 * 6), _timers.NextDeadline);
    }

    [Fact]
    public void BCD_counting_reads_back_decimal_digits()
    {
        Program(0x35, 0x1000); // mode 2, BCD, count 1000
        _retired = TickOfCycle(1);
        Assert.Equal(0x0999, ReadCounter0());
        Assert.Equal(TickOfCycle(1000), _timers.NextDeadline);
    }

    [Fact]
    public void Wide_accesses_are_counted_and_ignored()
    {
        _bus.Write(Control, 2, 0x34);
        Assert.Equal(0xFFFFu, _bus.Read(Counter0, 2));

        Assert.Equal(2, _pit.MissedAccessCount);
        Assert.Equal(0xF6, StatusViaReadBack()); // still power-on: OUT high, null count, lo/hi, mode 3
    }

    [Fact]
    public void A_slow_nominal_clock_still_places_edges_on_the_first_tick_at_or_past_the_boundary()
    {
        long retired = 0;
        var clock = new GuestClock(1_000_000, () => retired); // slower than the PIT input: ~1.19 cycles per tick
        var timers = new TimerQueue();
        var irq = new EdgeRecorder(clock);
        var pit = new Pit8254(clock, timers, irq);
        irq.RisingTicks.Clear();
        pit.Write(3, 1, 0x34);
        pit.Write(0, 1, 3);
        pit.Write(0, 1, 0);

        while (timers.NextDeadline <= 20)
        {
            retired = timers.NextDeadline;
            timers.RunDue(retired);
        }

        // cycles 3, 6, 9, 12, 15, 18, 21, 24 → ticks ceil(c * 1e6 / 1193182)
        Assert.Equal([3L, 6, 8, 11, 13, 16, 18], irq.RisingTicks);
    }

    private static long TickOfCycle(long cycles) =>
        (long)((((Int128)cycles * NominalHz) + Pit8254.InputHz - 1) / Pit8254.InputHz);

    private void Program(int controlWord, int count)
    {
        Out(Control, controlWord);
        Out(Counter0, count & 0xFF);
        Out(Counter0, count >> 8);
    }

    private void RunTo(long tick)
    {
        while (_timers.NextDeadline <= tick)
        {
            _retired = Math.Max(_retired, _timers.NextDeadline);
            _timers.RunDue(_retired);
        }

        _retired = Math.Max(_retired, tick);
    }

    private int ReadCounter0() => In(Counter0) | (In(Counter0) << 8);

    private int StatusViaReadBack()
    {
        Out(Control, 0xE2); // read-back, status only, channel 0
        return In(Counter0);
    }

    private bool Out0ViaReadBack() => (StatusViaReadBack() & 0x80) != 0;

    private int In(ushort port) => (int)_bus.Read(port, 1);

    private void Out(ushort port, int value) => _bus.Write(port, 1, (uint)value);

    private sealed class EdgeRecorder(GuestClock clock) : IIrqLine
    {
        public bool Level { get; private set; }

        public List<long> RisingTicks { get; } = [];

        public void Set(bool level)
        {
            Assert.NotEqual(Level, level); // the PIT must only report changes
            if (level)
            {
                RisingTicks.Add(clock.Ticks);
            }

            Level = level;
        }
    }
}
