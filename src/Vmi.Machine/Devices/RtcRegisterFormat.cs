namespace Vmi.Machine.Devices;

/// <summary>
/// How the clock's time, calendar and alarm bytes are coded, as register B's DM and 24/12 bits
/// choose: BCD or binary, and hours 0–23 or 1–12 with bit 7 set for PM (12 AM is midnight,
/// 12 PM noon).
/// </summary>
public readonly record struct RtcRegisterFormat(bool Binary, bool TwentyFourHour)
{
    public static RtcRegisterFormat FromRegisterB(byte registerB) =>
        new((registerB & CmosLayout.BBinary) != 0, (registerB & CmosLayout.B24Hour) != 0);

    /// <summary>Codes a non-negative value, keeping the digits a byte can hold (two BCD digits, or eight bits).</summary>
    public byte Encode(long value)
    {
        if (Binary)
        {
            return (byte)RtcCalendar.FloorMod(value, 256);
        }
        int twoDigits = (int)RtcCalendar.FloorMod(value, 100);
        return (byte)(((twoDigits / 10) << 4) | (twoDigits % 10));
    }

    /// <summary>
    /// The value a byte stands for. A BCD byte with a digit above 9 decodes by place value
    /// (0x1A is 20), which is what the chip's counters would make of it: defined, if meaningless.
    /// </summary>
    public int Decode(byte raw) => Binary ? raw : ((raw >> 4) * 10) + (raw & 0x0F);

    public byte EncodeHour(int hour24)
    {
        if (TwentyFourHour)
        {
            return Encode(hour24);
        }
        int hour12 = hour24 % 12 == 0 ? 12 : hour24 % 12;
        return (byte)(Encode(hour12) | (hour24 >= 12 ? CmosLayout.HourPm : 0));
    }

    /// <summary>The hour 0–23 an hours byte stands for (12 AM is 0, 12 PM is 12).</summary>
    public int DecodeHour(byte raw) => TwentyFourHour
        ? Decode(raw)
        : (Decode((byte)(raw & ~CmosLayout.HourPm)) % 12) + ((raw & CmosLayout.HourPm) != 0 ? 12 : 0);

    /// <summary>
    /// Whether <paramref name="raw"/> is exactly how this format codes some value below
    /// <paramref name="limit"/>; the chip compares alarm and time bytes bit for bit, so only such
    /// a byte can ever match.
    /// </summary>
    public bool TryDecodeExact(byte raw, int limit, out int value)
    {
        value = Decode(raw);
        return value < limit && Encode(value) == raw;
    }

    /// <summary>Like <see cref="TryDecodeExact"/> for an hours byte, giving the hour 0–23.</summary>
    public bool TryDecodeHourExact(byte raw, out int hour24)
    {
        hour24 = DecodeHour(raw);
        return hour24 < 24 && EncodeHour(hour24) == raw;
    }
}
