using Vmi.Machine.Devices;
using Vmi.Machine.Time;
using static Vmi.Machine.Devices.CmosLayout;

namespace Vmi.Machine.Tests.Devices;

/// <summary>
/// The MC146818A against its datasheet, through ports 0x70/0x71 as a guest drives it. The device is
/// built at guest tick 0, so its divider chain starts a second there: updates fall on whole seconds
/// of guest time (one tick per nanosecond).
/// </summary>
public sealed class Mc146818RtcTests
{
    private const long NominalHz = 1_000_000_000;
    private const long Second = NominalHz;
    private const long Millisecond = NominalHz / 1000;
    private const ushort IndexPort = 0x70;
    private const ushort DataPort = 0x71;

    private static readonly DateTime DefaultStart = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private readonly TimerQueue _timers = new();
    private readonly GuestClock _clock;
    private readonly IrqRecorder _irq8;
    private IoBus _bus = new();
    private Mc146818Rtc _rtc = null!;
    private long _retired;

    public Mc146818RtcTests()
    {
        _clock = new GuestClock(NominalHz, () => _retired);
        _irq8 = new IrqRecorder(_clock);
        Boot(DefaultStart);
    }

    [Fact]
    public void Power_on_state_is_what_a_BIOS_leaves_and_the_start_time_in_BCD()
    {
        Assert.Equal(0x26, Reg(RegisterA)); // 32.768 kHz time base, 1024 Hz periodic rate
        Assert.Equal(0x02, Reg(RegisterB)); // 24-hour BCD, interrupts off
        Assert.Equal(0x00, Reg(RegisterC));
        Assert.Equal(0x80, Reg(RegisterD)); // valid RAM and time
        Assert.Equal("2026-01-01 00:00:00 wd5", ReadClockBcd()); // a Thursday: day of week 5 with Sunday = 1
        Assert.Equal(0x20, Reg(Century));
        Assert.Equal(long.MaxValue, _timers.NextDeadline); // nothing enabled, nothing scheduled
    }

    [Fact]
    public void UIP_is_set_for_the_244_microseconds_before_each_update_and_clears_with_it()
    {
        long uipRises = TickOfCycle(32768 - 8); // 999,755,860: 244.14 µs before the second
        Assert.Equal(999_755_860, uipRises);

        _retired = uipRises - 1;
        Assert.Equal(0, Reg(RegisterA) & 0x80);
        Assert.Equal(0x00, Reg(Seconds));
        _retired = uipRises;
        Assert.Equal(0x80, Reg(RegisterA) & 0x80);
        _retired = Second - 1;
        Assert.Equal(0x80, Reg(RegisterA) & 0x80);
        Assert.Equal(0x00, Reg(Seconds));
        _retired = Second;
        Assert.Equal(0, Reg(RegisterA) & 0x80);
        Assert.Equal(0x01, Reg(Seconds));
        _retired = Second + uipRises;
        Assert.Equal(0x80, Reg(RegisterA) & 0x80);
    }

    [Fact]
    public void UIP_cannot_be_written()
    {
        _retired = 500 * Millisecond;
        SetReg(RegisterA, 0xA6);
        Assert.Equal(0x26, Reg(RegisterA));
    }

    [Theory]
    [InlineData("2026-06-15 12:34:59", "2026-06-15 12:35:00 wd2")] // minute carry
    [InlineData("2026-06-15 12:59:59", "2026-06-15 13:00:00 wd2")] // hour carry
    [InlineData("2026-01-31 23:59:59", "2026-02-01 00:00:00 wd1")] // 31-day month
    [InlineData("2026-04-30 23:59:59", "2026-05-01 00:00:00 wd6")] // 30-day month
    [InlineData("2023-02-28 23:59:59", "2023-03-01 00:00:00 wd4")] // February of a common year
    [InlineData("2024-02-28 23:59:59", "2024-02-29 00:00:00 wd5")] // leap year
    [InlineData("2024-02-29 23:59:59", "2024-03-01 00:00:00 wd6")]
    [InlineData("2000-02-28 23:59:59", "2000-02-29 00:00:00 wd3")] // divisible by 400: leap
    [InlineData("2100-02-28 23:59:59", "2100-03-01 00:00:00 wd2")] // a century: not leap
    [InlineData("2026-12-31 23:59:59", "2027-01-01 00:00:00 wd6")] // year
    [InlineData("1999-12-31 23:59:59", "2000-01-01 00:00:00 wd7")] // century byte carries
    [InlineData("2099-12-31 23:59:59", "2100-01-01 00:00:00 wd6")]
    public void The_update_cycle_carries_through_the_calendar(string before, string after)
    {
        Boot(DateTime.Parse(before, System.Globalization.CultureInfo.InvariantCulture));
        Assert.StartsWith(before, ReadClockBcd(), StringComparison.Ordinal);

        _retired = Second;

        Assert.Equal(after, ReadClockBcd());
    }

    [Fact]
    public void Time_written_with_SET_carries_the_same_way()
    {
        SetTimeBcd(0x21, 0x12, 0x31, 0x23, 0x59, 0x59, weekday: 0x06, century: 0x20); // Friday 2021-12-31 23:59:59
        _retired += Second;
        Assert.Equal("2022-01-01 00:00:00 wd7", ReadClockBcd());
    }

    [Fact]
    public void Four_hundred_days_of_guest_time_later_the_calendar_is_exact()
    {
        _retired = (400 * 86_400 + 3723) * Second + 1;
        Assert.Equal("2027-02-05 01:02:03 wd6", ReadClockBcd());
    }

    [Fact]
    public void Binary_mode_codes_every_byte_in_binary()
    {
        SetReg(RegisterB, 0x82);
        SetReg(RegisterB, 0x86); // still SET, now binary: the bytes frozen under SET stay as they were
        Assert.Equal(0x26, Reg(Year));
        SetReg(Seconds, 59); SetReg(Minutes, 58); SetReg(Hours, 23); SetReg(Weekday, 6);
        SetReg(DayOfMonth, 28); SetReg(Month, 11); SetReg(Year, 59); SetReg(Century, 20); // Friday 2059-11-28 23:58:59
        SetReg(RegisterB, 0x06);

        _retired = Second;
        Assert.Equal([0, 59, 23, 6, 28, 11, 59, 20], ClockBytes());
        SetReg(RegisterB, 0x02);
        Assert.Equal("2059-11-28 23:59:00 wd6", ReadClockBcd());
    }

    [Fact]
    public void The_running_clock_shows_its_time_in_the_format_register_B_asks_for()
    {
        Boot(new DateTime(2026, 7, 19, 21, 45, 37, DateTimeKind.Utc));
        Assert.Equal([0x37, 0x45, 0x21, 0x01, 0x19, 0x07, 0x26, 0x20], ClockBytes());
        SetReg(RegisterB, 0x04); // binary, 12 h
        Assert.Equal([37, 45, 0x80 | 9, 1, 19, 7, 26, 20], ClockBytes());
    }

    [Theory]
    [InlineData(0, 0x12, 0x0C)]  // midnight is 12 AM
    [InlineData(1, 0x01, 0x01)]
    [InlineData(11, 0x11, 0x0B)]
    [InlineData(12, 0x92, 0x8C)] // noon is 12 PM
    [InlineData(13, 0x81, 0x81)]
    [InlineData(23, 0x91, 0x8B)]
    public void Twelve_hour_mode_counts_1_to_12_with_bit_7_for_PM(int hour24, int bcd, int binary)
    {
        Boot(new DateTime(2026, 3, 3, hour24, 0, 0, DateTimeKind.Utc));
        SetReg(RegisterB, 0x00); // 12 h, BCD
        Assert.Equal(bcd, Reg(Hours));
        SetReg(RegisterB, 0x04); // 12 h, binary
        Assert.Equal(binary, Reg(Hours));
    }

    [Theory]
    [InlineData(0, 0x12)]
    [InlineData(11, 0x11)]
    [InlineData(12, 0x92)]
    [InlineData(23, 0x91)]
    public void A_12_hour_byte_written_under_SET_is_read_as_that_hour(int hour24, int bcd)
    {
        Boot(new DateTime(2026, 3, 3, (hour24 + 5) % 24, 0, 0, DateTimeKind.Utc));
        SetReg(RegisterB, 0x80); // SET, 12 h, BCD
        SetReg(Hours, bcd);
        SetReg(RegisterB, 0x00);
        SetReg(RegisterB, 0x02); // show it in 24-hour BCD
        Assert.Equal(((hour24 / 10) << 4) | (hour24 % 10), Reg(Hours));
    }

    [Theory]
    [InlineData(0x11, 0x59, 0x59, "12:00:00 PM", 3)]  // 11:59:59 AM → 12 PM, same day
    [InlineData(0x91, 0x59, 0x59, "12:00:00 AM", 4)]  // 11:59:59 PM → 12 AM, next day
    [InlineData(0x92, 0x59, 0x59, "01:00:00 PM", 3)]  // 12:59:59 PM → 1 PM
    [InlineData(0x12, 0x59, 0x59, "01:00:00 AM", 3)]  // 12:59:59 AM → 1 AM
    public void Twelve_hour_time_written_under_SET_runs_across_noon_and_midnight(int hours, int minutes, int seconds, string expected, int day)
    {
        SetReg(RegisterB, 0x80); // SET, 12 h, BCD
        SetReg(Seconds, seconds); SetReg(Minutes, minutes); SetReg(Hours, hours);
        SetReg(DayOfMonth, 0x03); SetReg(Month, 0x03); SetReg(Year, 0x26); SetReg(Century, 0x20); SetReg(Weekday, 0x03);
        SetReg(RegisterB, 0x00);
        _retired = Second;

        int h = Reg(Hours);
        string text = $"{h & 0x7F:X2}:{Reg(Minutes):X2}:{Reg(Seconds):X2} {((h & 0x80) != 0 ? "PM" : "AM")}";
        Assert.Equal(expected, text);
        Assert.Equal(day, Reg(DayOfMonth));
    }

    [Fact]
    public void SET_halts_updates_and_UIP_and_the_written_time_runs_from_the_chains_next_second()
    {
        _retired = 300 * Millisecond;
        SetReg(RegisterB, 0x82);
        _retired = 5 * Second - 100_000; // inside what would be UIP's window
        Assert.Equal(0, Reg(RegisterA) & 0x80);
        Assert.Equal("2026-01-01 00:00:00 wd5", ReadClockBcd()); // five updates skipped
        SetReg(Hours, 0x12);
        SetReg(Minutes, 0x34);
        SetReg(Seconds, 0x56);
        _retired = 5 * Second + 700 * Millisecond;
        SetReg(RegisterB, 0x02);
        Assert.Equal("2026-01-01 12:34:56 wd5", ReadClockBcd());

        _retired = 6 * Second - 1; // the chain kept its phase under SET: the update is on the whole second
        Assert.Equal(0x56, Reg(Seconds));
        _retired = 6 * Second;
        Assert.Equal(0x57, Reg(Seconds));
    }

    [Fact]
    public void SET_clears_UIE()
    {
        SetReg(RegisterB, 0x12);
        SetReg(RegisterB, 0x92);
        Assert.Equal(0x82, Reg(RegisterB));
    }

    [Fact]
    public void Divider_reset_stops_the_clock_and_the_first_update_comes_half_a_second_after_release()
    {
        _retired = 2 * Second + 300 * Millisecond;
        SetReg(RegisterA, 0x76); // DV = 111: chain in reset
        _retired = 10 * Second;
        Assert.Equal(0x02, Reg(Seconds));
        Assert.Equal(0, Reg(RegisterA) & 0x80);

        _retired = 10 * Second + 250 * Millisecond;
        SetReg(RegisterA, 0x26);
        _retired = 10 * Second + 750 * Millisecond - 1;
        Assert.Equal(0x02, Reg(Seconds));
        Assert.Equal(0x80, Reg(RegisterA) & 0x80); // UIP ahead of that first update
        _retired = 10 * Second + 750 * Millisecond;
        Assert.Equal(0x03, Reg(Seconds));
        _retired = 11 * Second + 750 * Millisecond;
        Assert.Equal(0x04, Reg(Seconds));
    }

    [Fact]
    public void Time_written_while_the_chain_is_in_reset_starts_with_the_chain()
    {
        SetReg(RegisterA, 0x70);
        SetReg(Minutes, 0x42);
        _retired = 3 * Second;
        Assert.Equal(0x42, Reg(Minutes));
        SetReg(RegisterA, 0x20);
        _retired = 3 * Second + 500 * Millisecond;
        Assert.Equal("2026-01-01 00:42:01 wd5", ReadClockBcd());
    }

    [Fact]
    public void A_time_byte_written_while_running_keeps_the_chains_phase()
    {
        _retired = 400 * Millisecond;
        SetReg(Minutes, 0x30);
        Assert.Equal("2026-01-01 00:30:00 wd5", ReadClockBcd());
        _retired = Second;
        Assert.Equal("2026-01-01 00:30:01 wd5", ReadClockBcd());
    }

    [Fact]
    public void The_day_of_week_counts_on_from_whatever_software_wrote()
    {
        SetReg(Weekday, 0x02); // wrong: 2026-01-01 is a Thursday (5)
        _retired = 86_400 * Second;
        Assert.Equal("2026-01-02 00:00:00 wd3", ReadClockBcd());
        _retired = 6 * 86_400 * Second;
        Assert.Equal("2026-01-07 00:00:00 wd1", ReadClockBcd()); // 7 wraps to 1
    }

    [Theory]
    [InlineData(0x3, 8192)]
    [InlineData(0x6, 1024)]
    [InlineData(0x1, 256)] // RS = 1 and 2 are the 256 Hz and 128 Hz taps again
    [InlineData(0x2, 128)]
    [InlineData(0x8, 256)]
    [InlineData(0xD, 8)]
    [InlineData(0xF, 2)]
    public void Periodic_interrupts_come_at_the_rate_RS_selects(int rate, int perSecond)
    {
        SetReg(RegisterA, 0x20 | rate);
        SetReg(RegisterB, 0x42); // PIE

        int count = RunAcknowledging(2 * Second);

        Assert.Equal(2 * perSecond, count);
        long period = 32768 / perSecond;
        Assert.Equal(TickOfCycle(period), _irq8.RisingTicks[0]);
        Assert.Equal(TickOfCycle(2 * 32768), _irq8.RisingTicks[^1]);
    }

    [Fact]
    public void RS_zero_stops_periodic_interrupts_and_PF()
    {
        SetReg(RegisterA, 0x20);
        SetReg(RegisterB, 0x42);
        Assert.Equal(0, RunAcknowledging(Second / 2));
        Assert.Equal(0x00, Reg(RegisterC));
    }

    [Fact]
    public void PF_UF_and_AF_are_set_without_their_interrupts_but_IRQ_8_stays_low()
    {
        SetReg(SecondsAlarm, 0xFF); SetReg(MinutesAlarm, 0xFF); SetReg(HoursAlarm, 0xFF);
        _retired = 3 * Second;
        Assert.Equal(0x70, Reg(RegisterC)); // PF | AF | UF, no IRQF
        Assert.Empty(_irq8.RisingTicks);
        Assert.Equal(long.MaxValue, _timers.NextDeadline);
        Assert.Equal(0x00, Reg(RegisterC));
    }

    [Fact]
    public void Update_ended_interrupts_come_once_a_second_at_the_update()
    {
        SetReg(RegisterA, 0x20); // no periodic tap, so PF stays clear
        SetReg(RegisterB, 0x12); // UIE
        int count = RunAcknowledging(3 * Second, expectFlags: 0x90);
        Assert.Equal(3, count);
        Assert.Equal([Second, 2 * Second, 3 * Second], _irq8.RisingTicks);
    }

    [Fact]
    public void The_alarm_fires_at_the_update_that_reaches_its_time()
    {
        SetReg(RegisterA, 0x20); // no periodic tap, so PF stays clear
        SetReg(SecondsAlarm, 0x05); SetReg(MinutesAlarm, 0x00); SetReg(HoursAlarm, 0x00);
        SetReg(RegisterB, 0x22); // AIE
        Assert.Equal(5 * Second, _timers.NextDeadline); // one timer, straight to the alarm

        RunTo(5 * Second);
        Assert.True(_irq8.Level);
        Assert.Equal(0xB0, Reg(RegisterC)); // IRQF | AF | UF (UF is set at every update)
        Assert.False(_irq8.Level);
        Assert.Equal([5 * Second], _irq8.RisingTicks);
        Assert.Equal(86_400 * Second + 5 * Second, _timers.NextDeadline); // tomorrow, same time
    }

    [Fact]
    public void An_alarm_a_day_away_is_one_timer_event()
    {
        SetReg(RegisterA, 0x20);
        SetReg(SecondsAlarm, 0x59); SetReg(MinutesAlarm, 0x59); SetReg(HoursAlarm, 0x23);
        SetReg(RegisterB, 0x22);
        Assert.Equal(1, RunAcknowledging(86_400 * Second, expectFlags: 0xB0));
        Assert.Equal([86_399 * Second], _irq8.RisingTicks);
    }

    [Fact]
    public void A_dont_care_seconds_byte_makes_an_alarm_every_second_of_the_matching_minute()
    {
        SetReg(SecondsAlarm, 0xC0); SetReg(MinutesAlarm, 0x01); SetReg(HoursAlarm, 0x00);
        SetReg(RegisterB, 0x22);
        Assert.Equal(60, RunAcknowledging(3 * 60 * Second));
        Assert.Equal(61 * Second, _irq8.RisingTicks[1]);
    }

    [Fact]
    public void Dont_care_hours_and_minutes_make_an_alarm_once_a_minute()
    {
        SetReg(SecondsAlarm, 0x30); SetReg(MinutesAlarm, 0xFF); SetReg(HoursAlarm, 0xC3);
        SetReg(RegisterB, 0x22);
        Assert.Equal(3, RunAcknowledging(3 * 60 * Second));
        Assert.Equal([30 * Second, 90 * Second, 150 * Second], _irq8.RisingTicks);
    }

    [Fact]
    public void All_three_dont_care_make_an_alarm_at_every_update()
    {
        SetReg(SecondsAlarm, 0xC0); SetReg(MinutesAlarm, 0xC0); SetReg(HoursAlarm, 0xC0);
        SetReg(RegisterB, 0x22);
        Assert.Equal(4, RunAcknowledging(4 * Second));
    }

    [Theory]
    [InlineData(0x60)] // 60 seconds
    [InlineData(0x0A)] // not BCD
    public void An_alarm_byte_that_codes_no_time_never_matches(int seconds)
    {
        SetReg(SecondsAlarm, seconds); SetReg(MinutesAlarm, 0xFF); SetReg(HoursAlarm, 0xFF);
        SetReg(RegisterB, 0x22);
        Assert.Equal(long.MaxValue, _timers.NextDeadline);
        _retired = 2 * 3600 * Second;
        Assert.Equal(0x10, Reg(RegisterC) & 0x30); // updates happened, no alarm
    }

    [Fact]
    public void In_12_hour_mode_the_alarm_hour_carries_the_PM_bit()
    {
        Boot(new DateTime(2026, 1, 1, 12, 59, 58, DateTimeKind.Utc));
        SetReg(RegisterB, 0x20); // AIE, 12 h, BCD
        SetReg(SecondsAlarm, 0x00); SetReg(MinutesAlarm, 0x00); SetReg(HoursAlarm, 0x81); // 1 PM
        Assert.Equal(1, RunAcknowledging(3 * Second));
        Assert.Equal([2 * Second], _irq8.RisingTicks);
    }

    [Fact]
    public void Reading_C_clears_every_flag_and_lowers_IRQ_8()
    {
        SetReg(RegisterB, 0x42); // PIE at 1024 Hz
        RunTo(TickOfCycle(32));
        Assert.True(_irq8.Level);
        Assert.Equal(long.MaxValue, _timers.NextDeadline); // IRQ 8 is high: nothing more to schedule

        Assert.Equal(0xC0, Reg(RegisterC));
        Assert.False(_irq8.Level);
        Assert.Equal(0x00, Reg(RegisterC));
        Assert.Equal(TickOfCycle(64), _timers.NextDeadline);
    }

    [Fact]
    public void Enabling_an_interrupt_whose_flag_is_set_raises_IRQ_8_at_once_and_disabling_it_lowers_it()
    {
        SetReg(RegisterA, 0x20);
        _retired = Second;
        SetReg(RegisterB, 0x12);
        Assert.True(_irq8.Level);
        Assert.Equal([Second], _irq8.RisingTicks);
        SetReg(RegisterB, 0x02);
        Assert.False(_irq8.Level);
        Assert.Equal(0x10, Reg(RegisterC)); // UF stays, without IRQF
    }

    [Fact]
    public void Registers_C_and_D_cannot_be_written()
    {
        SetReg(RegisterC, 0xF0);
        SetReg(RegisterD, 0x00);
        Assert.Equal(0x00, Reg(RegisterC));
        Assert.Equal(0x80, Reg(RegisterD));
    }

    [Fact]
    public void Daylight_saving_skips_2_AM_on_the_last_Sunday_in_April()
    {
        SetTimeBcd(0x26, 0x04, 0x26, 0x01, 0x59, 0x58, weekday: 0x01, century: 0x20, registerB: 0x03); // Sunday 2026-04-26 01:59:58, DSE
        _retired += Second;
        Assert.Equal("2026-04-26 01:59:59 wd1", ReadClockBcd());
        _retired += Second;
        Assert.Equal("2026-04-26 03:00:00 wd1", ReadClockBcd());
    }

    [Fact]
    public void Daylight_saving_repeats_1_AM_once_on_the_last_Sunday_in_October()
    {
        SetTimeBcd(0x26, 0x10, 0x25, 0x01, 0x59, 0x59, weekday: 0x01, century: 0x20, registerB: 0x03); // Sunday 2026-10-25
        _retired += Second;
        Assert.Equal("2026-10-25 01:00:00 wd1", ReadClockBcd());
        _retired += 3599 * Second;
        Assert.Equal("2026-10-25 01:59:59 wd1", ReadClockBcd());
        _retired += Second;
        Assert.Equal("2026-10-25 02:00:00 wd1", ReadClockBcd());
    }

    [Fact]
    public void With_DSE_an_alarm_in_the_repeated_hour_fires_on_both_passes()
    {
        SetReg(RegisterA, 0x20);
        SetTimeBcd(0x26, 0x10, 0x25, 0x01, 0x29, 0x59, weekday: 0x01, century: 0x20, registerB: 0x23); // AIE, DSE
        SetReg(SecondsAlarm, 0x00); SetReg(MinutesAlarm, 0x30); SetReg(HoursAlarm, 0x01);
        long start = _retired;
        Assert.Equal(2, RunAcknowledging(start + 3 * 3600 * Second, expectFlags: 0xB0));
        Assert.Equal([Second, 3601 * Second], _irq8.RisingTicks);
    }

    [Fact]
    public void Without_DSE_the_last_Sunday_in_April_is_an_ordinary_night()
    {
        SetTimeBcd(0x26, 0x04, 0x26, 0x01, 0x59, 0x59, weekday: 0x01, century: 0x20);
        _retired += Second;
        Assert.Equal("2026-04-26 02:00:00 wd1", ReadClockBcd());
    }

    [Fact]
    public void Bit_7_of_the_index_write_is_the_NMI_mask_and_the_index_keeps_7_bits()
    {
        _bus.Write(IndexPort, 1, 0x80 | RegisterD);
        Assert.True(_rtc.NmiDisabled);
        Assert.Equal(0x80u, _bus.Read(DataPort, 1));
        _bus.Write(IndexPort, 1, RegisterA);
        Assert.False(_rtc.NmiDisabled);
        Assert.Equal(0x26u, _bus.Read(DataPort, 1));
    }

    [Fact]
    public void The_index_register_reads_as_all_ones()
    {
        _bus.Write(IndexPort, 1, 0x0A);
        Assert.Equal(0xFFu, _bus.Read(IndexPort, 1));
    }

    [Fact]
    public void Battery_backed_RAM_keeps_what_is_written_at_every_byte_from_0x0E()
    {
        for (int i = FirstRamByte; i < Size; i++)
        {
            if (i != Century)
            {
                SetReg(i, (i * 37) ^ 0xA5);
            }
        }
        for (int i = FirstRamByte; i < Size; i++)
        {
            if (i != Century)
            {
                Assert.Equal((byte)((i * 37) ^ 0xA5), Reg(i));
            }
        }
    }

    [Fact]
    public void A_word_write_to_0x70_selects_the_index_and_writes_the_data_as_two_byte_writes()
    {
        _bus.Write(IndexPort, 2, 0x5A40);
        Assert.Equal(0x5A, Reg(0x40));
        _bus.Write(IndexPort, 1, 0x40);
        Assert.Equal(0x5AFFu, _bus.Read(IndexPort, 2));
        Assert.Equal(0xFFFF_FF5Au, _bus.Read(DataPort, 4));
    }

    [Fact]
    public void No_sequence_of_guest_accesses_throws_or_stops_the_clock_reading()
    {
        var random = new Random(14);
        for (int i = 0; i < 20_000; i++)
        {
            _retired += random.Next(0, 3_000_000);
            int size = random.Next(3) switch { 0 => 1, 1 => 2, _ => 4 };
            ushort port = (ushort)(IndexPort + random.Next(2));
            if (random.Next(2) == 0)
            {
                _bus.Write(port, size, (uint)random.Next());
            }
            else
            {
                _bus.Read(port, size);
            }
            _timers.RunDue(_clock.Ticks);
        }
        SetReg(RegisterA, 0x26);
        SetReg(RegisterB, 0x02);
        SetTimeBcd(0x26, 0x12, 0x01, 0x12, 0x00, 0x00, weekday: 0x03, century: 0x20);
        _retired += Second;
        Assert.Equal("2026-12-01 12:00:01 wd3", ReadClockBcd());
    }

    private void Boot(DateTime start)
    {
        _bus = new IoBus();
        _rtc = new Mc146818Rtc(_clock, _timers, _irq8, start);
        _bus.Register(IndexPort, 2, _rtc);
    }

    private static long TickOfCycle(long cycles) => ((cycles * NominalHz) + 32767) / 32768;

    private int Reg(int index)
    {
        _bus.Write(IndexPort, 1, (uint)index);
        return (int)_bus.Read(DataPort, 1);
    }

    private void SetReg(int index, int value)
    {
        _bus.Write(IndexPort, 1, (uint)index);
        _bus.Write(DataPort, 1, (uint)value);
    }

    /// <summary>Sets the clock the way Linux's mc146818_set_time does: SET, write the bytes, clear SET.</summary>
    private void SetTimeBcd(int year, int month, int day, int hours, int minutes, int seconds, int weekday, int century, int registerB = 0x02)
    {
        SetReg(RegisterB, 0x80 | registerB);
        SetReg(Seconds, seconds); SetReg(Minutes, minutes); SetReg(Hours, hours); SetReg(Weekday, weekday);
        SetReg(DayOfMonth, day); SetReg(Month, month); SetReg(Year, year); SetReg(Century, century);
        SetReg(RegisterB, registerB);
    }

    private int[] ClockBytes() =>
        [Reg(Seconds), Reg(Minutes), Reg(Hours), Reg(Weekday), Reg(DayOfMonth), Reg(Month), Reg(Year), Reg(Century)];

    /// <summary>The clock in BCD, 24 h, as "yyyy-MM-dd HH:mm:ss wdN".</summary>
    private string ReadClockBcd() =>
        $"{Reg(Century):X2}{Reg(Year):X2}-{Reg(Month):X2}-{Reg(DayOfMonth):X2} {Reg(Hours):X2}:{Reg(Minutes):X2}:{Reg(Seconds):X2} wd{Reg(Weekday):X}";

    private void RunTo(long tick)
    {
        while (_timers.NextDeadline <= tick)
        {
            _retired = Math.Max(_retired, _timers.NextDeadline);
            _timers.RunDue(_retired);
        }
        _retired = Math.Max(_retired, tick);
    }

    /// <summary>Runs to <paramref name="tick"/>, reading C at each IRQ 8 as an interrupt handler would; returns how many came.</summary>
    private int RunAcknowledging(long tick, int? expectFlags = null)
    {
        int count = 0;
        while (_timers.NextDeadline <= tick)
        {
            _retired = Math.Max(_retired, _timers.NextDeadline);
            _timers.RunDue(_retired);
            if (_irq8.Level)
            {
                count++;
                int flags = Reg(RegisterC);
                if (expectFlags is int expected)
                {
                    Assert.Equal(expected, flags);
                }
            }
        }
        _retired = Math.Max(_retired, tick);
        return count;
    }

    private sealed class IrqRecorder(GuestClock clock) : IIrqLine
    {
        public bool Level { get; private set; }

        public List<long> RisingTicks { get; } = [];

        public void Set(bool level)
        {
            Assert.NotEqual(Level, level); // only changes are reported
            if (level)
            {
                RisingTicks.Add(clock.Ticks);
            }
            Level = level;
        }
    }
}
