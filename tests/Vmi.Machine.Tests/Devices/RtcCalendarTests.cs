using CsCheck;
using Vmi.Machine.Devices;

namespace Vmi.Machine.Tests.Devices;

public sealed class RtcCalendarTests
{
    [Theory]
    [InlineData(2024, true)]
    [InlineData(2023, false)]
    [InlineData(2000, true)]  // divisible by 400
    [InlineData(1900, false)] // a century
    [InlineData(2100, false)]
    [InlineData(2400, true)]
    [InlineData(0, true)]
    public void Leap_years_follow_the_Gregorian_rule(int year, bool leap)
    {
        Assert.Equal(leap, RtcCalendar.IsLeapYear(year));
        Assert.Equal(leap ? 29 : 28, RtcCalendar.DaysInMonth(year, 2));
    }

    [Fact]
    public void Every_second_agrees_with_DateTime_both_ways()
    {
        long minSeconds = RtcCalendar.ToSeconds(1, 1, 1, 0, 0, 0);
        long maxSeconds = RtcCalendar.ToSeconds(9999, 12, 31, 23, 59, 59);
        Gen.Long[minSeconds, maxSeconds].Sample(seconds =>
        {
            DateTime expected = DateTime.UnixEpoch.AddSeconds(seconds);
            CalendarTime t = RtcCalendar.FromSeconds(seconds);
            Assert.Equal(
                (expected.Year, expected.Month, expected.Day, expected.Hour, expected.Minute, expected.Second, (int)expected.DayOfWeek),
                (t.Year, t.Month, t.Day, t.Hour, t.Minute, t.Second, t.DayOfWeek));
            Assert.Equal(seconds, RtcCalendar.ToSeconds(t.Year, t.Month, t.Day, t.Hour, t.Minute, t.Second));
        });
    }

    [Theory]
    [InlineData(1970, 1, 1, 4)]  // Thursday
    [InlineData(2000, 1, 1, 6)]  // Saturday
    [InlineData(2100, 3, 1, 1)]  // Monday
    [InlineData(1, 1, 1, 1)]     // proleptic Gregorian 0001-01-01 was a Monday
    [InlineData(0, 3, 1, 3)]     // year 0 (1 BC), a leap year, before DateTime's range
    public void Day_of_week_counts_from_a_known_Thursday(int year, int month, int day, int weekday) =>
        Assert.Equal(weekday, RtcCalendar.DayOfWeek(RtcCalendar.DaysFromCivil(year, month, day)));

    [Theory]
    [InlineData(2026, 13, 1, 2027, 1, 1)]   // month 13 is January of the next year
    [InlineData(2026, 0, 1, 2025, 12, 1)]   // month 0 is December of the year before
    [InlineData(2026, 3, 0, 2026, 2, 28)]   // day 0 is the last day of the month before
    [InlineData(2024, 2, 30, 2024, 3, 1)]
    public void Out_of_range_fields_carry_like_mktime(int year, int month, int day, int y, int m, int d) =>
        Assert.Equal((y, m, d), ((int, int, int))Civil(RtcCalendar.DaysFromCivil(year, month, day)));

    private static (int, int, int) Civil(long days)
    {
        (long year, int month, int day) = RtcCalendar.CivilFromDays(days);
        return ((int)year, month, day);
    }
}
