namespace Vmi.Machine.Devices;

/// <summary>
/// The alarm as the chip checks it at the end of each update cycle: the seconds, minutes and hours
/// bytes each equal the alarm byte, or the alarm byte is "don't care" (0xC0–0xFF). Once a minute,
/// hour or day all follow from which bytes are don't care.
/// </summary>
public readonly struct RtcAlarm
{
    private const int Any = -1;

    private readonly int _second;
    private readonly int _minute;
    private readonly int _hour;

    private RtcAlarm(int second, int minute, int hour, bool canMatch)
    {
        _second = second;
        _minute = minute;
        _hour = hour;
        CanMatch = canMatch;
    }

    /// <summary>False when a byte that is not don't care codes no time at all in the current format (say 0x60 seconds in BCD): it never equals a time byte.</summary>
    public bool CanMatch { get; }

    public static RtcAlarm FromRegisters(byte seconds, byte minutes, byte hours, RtcRegisterFormat format)
    {
        bool secondOk = format.TryDecodeExact(seconds, 60, out int second);
        bool minuteOk = format.TryDecodeExact(minutes, 60, out int minute);
        bool hourOk = format.TryDecodeHourExact(hours, out int hour);
        return new RtcAlarm(
            IsDontCare(seconds) ? Any : second,
            IsDontCare(minutes) ? Any : minute,
            IsDontCare(hours) ? Any : hour,
            (IsDontCare(seconds) || secondOk) && (IsDontCare(minutes) || minuteOk) && (IsDontCare(hours) || hourOk));
    }

    /// <summary>
    /// The first second at or after <paramref name="from"/> (seconds since 1970, as the registers
    /// show it) whose time of day matches, or null if none ever does. A matchable alarm matches
    /// within a day, so the search looks at most at 1441 minutes.
    /// </summary>
    public long? FirstMatchAtOrAfter(long from)
    {
        if (!CanMatch)
        {
            return null;
        }
        long minuteStart = RtcCalendar.FloorDiv(from, 60) * 60;
        int fromSecond = (int)(from - minuteStart);
        for (int k = 0; k <= 24 * 60; k++)
        {
            long start = minuteStart + (k * 60L);
            long minuteOfDay = RtcCalendar.FloorMod(RtcCalendar.FloorDiv(start, 60), 24 * 60);
            if ((_hour != Any && _hour != minuteOfDay / 60) || (_minute != Any && _minute != minuteOfDay % 60))
            {
                continue;
            }
            int earliest = k == 0 ? fromSecond : 0;
            if (_second == Any)
            {
                return start + earliest;
            }
            if (_second >= earliest)
            {
                return start + _second;
            }
        }
        return null;
    }

    private static bool IsDontCare(byte raw) => (raw & CmosLayout.AlarmDontCare) == CmosLayout.AlarmDontCare;
}
