namespace Vmi.Machine.Devices;

/// <summary>
/// Register B's DSE, as the MC146818A datasheet defines it: on the last Sunday in April the time
/// goes from 1:59:59 AM to 3:00:00 AM, and on the last Sunday in October, the first time it
/// reaches 1:59:59 AM, to 1:00:00 AM (the US rule of 1986; later chips such as the DS12887
/// moved the spring change to the first Sunday). "Sunday" is the chip's own day-of-week counter
/// reading 1, however software set it, so <c>dayOfWeekOffset</c> (register minus true weekday)
/// takes part.
/// </summary>
/// <remarks>
/// The clock counts standard time, one second per update; what the registers show is that
/// plus an hour from 2:00 standard time on the spring Sunday to 1:00 standard time on the
/// autumn Sunday. Both changes are in the small hours, so a change never moves the date.
/// </remarks>
public static class RtcDaylightSaving
{
    private const long Hour = 3600;

    /// <summary>Standard time (seconds since 1970) at which daylight time begins in <paramref name="year"/>.</summary>
    public static long Start(long year, int dayOfWeekOffset) =>
        (LastSunday(year, 4, dayOfWeekOffset) * RtcCalendar.SecondsPerDay) + (2 * Hour);

    /// <summary>Standard time at which daylight time ends in <paramref name="year"/>: 1:59:59 daylight time plus one second.</summary>
    public static long End(long year, int dayOfWeekOffset) =>
        (LastSunday(year, 10, dayOfWeekOffset) * RtcCalendar.SecondsPerDay) + (1 * Hour);

    public static long ToDisplay(long standard, int dayOfWeekOffset)
    {
        long year = RtcCalendar.FromSeconds(standard).Year;
        return standard >= Start(year, dayOfWeekOffset) && standard < End(year, dayOfWeekOffset) ? standard + Hour : standard;
    }

    /// <summary>
    /// The standard time behind a time software wrote into the registers. The repeated hour after
    /// 1:00 AM on the autumn Sunday is taken as its first pass, which is where a chip set to it
    /// stands (it has yet to go back); a time in the skipped spring hour is taken as standard time.
    /// </summary>
    public static long ToStandard(long display, int dayOfWeekOffset)
    {
        long year = RtcCalendar.FromSeconds(display).Year;
        return display >= Start(year, dayOfWeekOffset) + Hour && display < End(year, dayOfWeekOffset) + Hour ? display - Hour : display;
    }

    /// <summary>The first standard time after <paramref name="standard"/> at which the shown time jumps.</summary>
    public static long NextChange(long standard, int dayOfWeekOffset)
    {
        long year = RtcCalendar.FromSeconds(standard).Year;
        long start = Start(year, dayOfWeekOffset), end = End(year, dayOfWeekOffset);
        return standard < start ? start : standard < end ? end : Start(year + 1, dayOfWeekOffset);
    }

    /// <summary>Days since 1970 of the last day in <paramref name="month"/> on which the chip's day-of-week register reads 1 (Sunday).</summary>
    private static long LastSunday(long year, int month, int dayOfWeekOffset)
    {
        long lastDay = RtcCalendar.DaysFromCivil(year, month, RtcCalendar.DaysInMonth(year, month));
        int registerWeekday = (int)RtcCalendar.FloorMod(RtcCalendar.DayOfWeek(lastDay) + dayOfWeekOffset, 7);
        return lastDay - registerWeekday;
    }
}
