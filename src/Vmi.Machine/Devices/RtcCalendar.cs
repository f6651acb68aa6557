namespace Vmi.Machine.Devices;

/// <summary>A broken-down proleptic Gregorian date and time; <see cref="DayOfWeek"/> is 0 for Sunday.</summary>
public readonly record struct CalendarTime(int Year, int Month, int Day, int Hour, int Minute, int Second, int DayOfWeek);

/// <summary>
/// The calendar an RTC keeps, in exact integer arithmetic: seconds counted from 1970-01-01 00:00:00
/// on the proleptic Gregorian calendar, for any year the registers can hold (0 to 25599 in binary
/// mode), which <see cref="DateTime"/> cannot represent. Every function is total: a guest's garbage
/// never throws, it only gives a garbage date.
/// </summary>
public static class RtcCalendar
{
    public const long SecondsPerDay = 86_400;

    private const int DaysPer400Years = 146_097;
    private const int DaysPer100Years = 36_524;
    private const int DaysPer4Years = 1_461;
    private const int DaysPerYear = 365;

    private static readonly long DaysFromYearOneTo1970 = DaysBeforeYear(1970);

    /// <summary>Gregorian rule: every 4th year, but not centuries unless divisible by 400 (2000 is a leap year, 2100 is not).</summary>
    public static bool IsLeapYear(long year) => FloorMod(year, 4) == 0 && (FloorMod(year, 100) != 0 || FloorMod(year, 400) == 0);

    public static int DaysInMonth(long year, int month) => month switch
    {
        2 => IsLeapYear(year) ? 29 : 28,
        4 or 6 or 9 or 11 => 30,
        _ => 31,
    };

    /// <summary>
    /// Days from 1970-01-01 to the given date. Out-of-range fields carry the way C's mktime
    /// normalizes them (month 13 is January of the next year, day 0 the last day of the month before),
    /// so a guest's invalid register values still name a definite day.
    /// </summary>
    public static long DaysFromCivil(long year, long month, long day)
    {
        year += FloorDiv(month - 1, 12);
        int m = (int)FloorMod(month - 1, 12) + 1;
        long days = DaysBeforeYear(year);
        for (int i = 1; i < m; i++)
        {
            days += DaysInMonth(year, i);
        }
        return days + day - 1 - DaysFromYearOneTo1970;
    }

    /// <summary>Seconds from 1970-01-01 00:00:00 to the given date and time, normalizing out-of-range fields.</summary>
    public static long ToSeconds(long year, long month, long day, long hour, long minute, long second) =>
        (DaysFromCivil(year, month, day) * SecondsPerDay) + (hour * 3600) + (minute * 60) + second;

    public static CalendarTime FromSeconds(long seconds)
    {
        long days = FloorDiv(seconds, SecondsPerDay);
        int secondOfDay = (int)(seconds - (days * SecondsPerDay));
        (long year, int month, int day) = CivilFromDays(days);
        return new CalendarTime((int)year, month, day, secondOfDay / 3600, secondOfDay / 60 % 60, secondOfDay % 60, DayOfWeek(days));
    }

    /// <summary>0 = Sunday … 6 = Saturday; 1970-01-01 was a Thursday.</summary>
    public static int DayOfWeek(long daysSince1970) => (int)FloorMod(daysSince1970 + 4, 7);

    /// <summary>The date <paramref name="daysSince1970"/> days after 1970-01-01, by whole 400-, 100-, 4- and 1-year cycles from year 1.</summary>
    public static (long Year, int Month, int Day) CivilFromDays(long daysSince1970)
    {
        long n = daysSince1970 + DaysFromYearOneTo1970;
        long cycles400 = FloorDiv(n, DaysPer400Years);
        n -= cycles400 * DaysPer400Years;
        long cycles100 = Math.Min(n / DaysPer100Years, 3); // the 400th year's extra day belongs to the last century
        n -= cycles100 * DaysPer100Years;
        long cycles4 = n / DaysPer4Years;
        n -= cycles4 * DaysPer4Years;
        long years = Math.Min(n / DaysPerYear, 3);          // likewise the leap day of a 4-year cycle
        n -= years * DaysPerYear;
        long year = 1 + (400 * cycles400) + (100 * cycles100) + (4 * cycles4) + years;
        int month = 1;
        while (n >= DaysInMonth(year, month))
        {
            n -= DaysInMonth(year, month);
            month++;
        }
        return (year, month, (int)n + 1);
    }

    public static long FloorDiv(long a, long b)
    {
        long q = a / b;
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
    }

    public static long FloorMod(long a, long b) => a - (FloorDiv(a, b) * b);

    /// <summary>Days from 0001-01-01 to January 1st of <paramref name="year"/> (negative before year 1).</summary>
    private static long DaysBeforeYear(long year)
    {
        long y = year - 1;
        return (y * DaysPerYear) + FloorDiv(y, 4) - FloorDiv(y, 100) + FloorDiv(y, 400);
    }
}
