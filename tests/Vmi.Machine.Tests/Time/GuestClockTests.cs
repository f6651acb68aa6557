using Vmi.Machine.Time;

namespace Vmi.Machine.Tests.Time;

public sealed class GuestClockTests
{
    private long _retired;

    [Fact]
    public void Ticks_are_retired_instructions_plus_skipped_idle_time()
    {
        var clock = new GuestClock(1_000_000, () => _retired);
        _retired = 1_000;
        Assert.Equal(1_000, clock.Ticks);

        clock.SkipIdleTo(5_000);
        Assert.Equal(5_000, clock.Ticks);
        Assert.Equal(4_000, clock.IdleTicks);

        _retired = 1_500;
        Assert.Equal(5_500, clock.Ticks);
        Assert.Equal(0.0055, clock.Seconds, 12);
    }

    [Fact]
    public void SkipIdleTo_never_moves_time_backwards()
    {
        var clock = new GuestClock(1_000_000, () => _retired);
        _retired = 10_000;

        clock.SkipIdleTo(9_000);
        clock.SkipIdleTo(10_000);

        Assert.Equal(0, clock.IdleTicks);
        Assert.Equal(10_000, clock.Ticks);
    }

    [Theory]
    [InlineData(1_000_000_000L, 1193L, 999_848L)]  // 999847.48 rounds up
    [InlineData(1_193_182L, 1193L, 1193L)]         // exact when the rates match
    [InlineData(2_386_364L, 1L, 2L)]
    [InlineData(1_000_000L, 3L, 3L)]               // 2.514 rounds up
    [InlineData(1_000_000L, 0L, 0L)]
    public void TicksFromDeviceCycles_rounds_up(long nominalHz, long cycles, long expectedTicks)
    {
        var clock = new GuestClock(nominalHz, () => 0);
        Assert.Equal(expectedTicks, clock.TicksFromDeviceCycles(cycles, 1_193_182));
    }

    [Theory]
    [InlineData(1_000_000_000L, 999_848L, 1193L)]
    [InlineData(1_000_000_000L, 999_847L, 1192L)]
    [InlineData(1_000_000L, 3L, 3L)]              // 3.58 floors
    public void DeviceCyclesAt_floors(long nominalHz, long ticks, long expectedCycles)
    {
        var clock = new GuestClock(nominalHz, () => 0);
        Assert.Equal(expectedCycles, clock.DeviceCyclesAt(ticks, 1_193_182));
    }

    [Theory]
    [InlineData(1_000_000_000L)]
    [InlineData(1_000_000L)]
    [InlineData(3_579_545L)]
    public void The_tick_for_a_cycle_count_is_the_first_tick_at_which_that_many_cycles_have_elapsed(long nominalHz)
    {
        var clock = new GuestClock(nominalHz, () => 0);
        for (long cycles = 1; cycles < 5000; cycles += 7)
        {
            long tick = clock.TicksFromDeviceCycles(cycles, 1_193_182);
            Assert.True(clock.DeviceCyclesAt(tick, 1_193_182) >= cycles);
            Assert.True(clock.DeviceCyclesAt(tick - 1, 1_193_182) < cycles);
        }
    }

    [Fact]
    public void Conversions_stay_exact_where_the_64_bit_product_would_overflow()
    {
        var clock = new GuestClock(1_000_000_000, () => 0);
        long ticks = 400_000_000_000_000L; // ~4.6 guest days; ticks * 1193182 > 2^63

        long cycles = clock.DeviceCyclesAt(ticks, 1_193_182);

        Assert.Equal((long)((Int128)ticks * 1_193_182 / 1_000_000_000), cycles);
        Assert.Equal(477_272_800_000L, cycles);
        Assert.Equal(ticks, clock.TicksFromDeviceCycles(cycles, 1_193_182));
    }

    [Fact]
    public void Nominal_rate_must_be_positive()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new GuestClock(0, () => 0));
    }
}
