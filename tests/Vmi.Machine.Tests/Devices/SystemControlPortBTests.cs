using Vmi.Machine.Devices;
using Vmi.Machine.Time;

namespace Vmi.Machine.Tests.Devices;

public sealed class SystemControlPortBTests
{
    private const long NominalHz = 1_000_000_000;

    private readonly IoBus _bus = new();
    private long _retired;

    public SystemControlPortBTests()
    {
        var clock = new GuestClock(NominalHz, () => _retired);
        var pit = new Pit8254(clock, new TimerQueue(), new NullLine());
        _bus.Register(0x40, 4, pit);
        _bus.Register(0x61, 1, new SystemControlPortB(pit));
    }

    [Fact]
    public void Channel_2_OUT_is_visible_in_bit_5_for_a_calibration_loop()
    {
        Out(0x61, 0x01);  // gate 2 on, speaker off
        Out(0x43, 0xB0);  // channel 2, lo/hi, mode 0
        Out(0x42, 100);
        Out(0x42, 0);

        Assert.Equal(0, In(0x61) & 0x20);
        _retired = TickOfCycle(99);
        Assert.Equal(0, In(0x61) & 0x20);
        _retired = TickOfCycle(100);
        Assert.Equal(0x20, In(0x61) & 0x20);
    }

    [Fact]
    public void Gate_rising_edge_restarts_a_mode_2_count()
    {
        Out(0x43, 0xB4);  // channel 2, lo/hi, mode 2
        Out(0x42, 200);
        Out(0x42, 0);
        _retired = TickOfCycle(150);
        Out(0x61, 0x01);  // gate 0 → 1 reloads

        Out(0x43, 0x80);  // latch channel 2
        Assert.Equal(200, In(0x42) | (In(0x42) << 8));
    }

    [Fact]
    public void Low_bits_read_back_and_refresh_bit_toggles_every_18_pit_cycles()
    {
        Out(0x61, 0xF3);
        Assert.Equal(0x03, In(0x61) & 0x0F);

        _retired = TickOfCycle(17);
        int before = In(0x61) & 0x10;
        _retired = TickOfCycle(18);
        int after = In(0x61) & 0x10;
        Assert.NotEqual(before, after);
    }

    private static long TickOfCycle(long cycles) =>
        (long)((((Int128)cycles * NominalHz) + Pit8254.InputHz - 1) / Pit8254.InputHz);

    private int In(ushort port) => (int)_bus.Read(port, 1);

    private void Out(ushort port, int value) => _bus.Write(port, 1, (uint)value);

    private sealed class NullLine : IIrqLine
    {
        public void Set(bool level)
        {
        }
    }
}
