namespace Vmi.Machine.Devices;

/// <summary>
/// The PC's 128-byte CMOS: the MC146818's 14 clock bytes and registers A–D, then battery-backed
/// RAM whose layout IBM's AT BIOS fixed (Ralf Brown's CMOS.LST; QEMU's pc_cmos_init and SeaBIOS
/// read and write the same offsets).
/// </summary>
public static class CmosLayout
{
    public const int Size = 128;

    public const int Seconds = 0x00;
    public const int SecondsAlarm = 0x01;
    public const int Minutes = 0x02;
    public const int MinutesAlarm = 0x03;
    public const int Hours = 0x04;
    public const int HoursAlarm = 0x05;
    public const int Weekday = 0x06;
    public const int DayOfMonth = 0x07;
    public const int Month = 0x08;
    public const int Year = 0x09;
    public const int RegisterA = 0x0A;
    public const int RegisterB = 0x0B;
    public const int RegisterC = 0x0C;
    public const int RegisterD = 0x0D;

    /// <summary>First byte of plain RAM; everything below is the clock chip's.</summary>
    public const int FirstRamByte = 0x0E;

    public const int DiagnosticStatus = 0x0E;
    public const int ShutdownStatus = 0x0F;
    public const int FloppyTypes = 0x10;
    public const int HardDiskTypes = 0x12;
    public const int Equipment = 0x14;
    public const int BaseMemoryLow = 0x15;
    public const int BaseMemoryHigh = 0x16;
    public const int ExtendedMemoryLow = 0x17;
    public const int ExtendedMemoryHigh = 0x18;

    /// <summary>The AT checksum covers 0x10–0x2D and is stored big-endian at 0x2E/0x2F.</summary>
    public const int ChecksumFirst = 0x10;
    public const int ChecksumLast = 0x2D;
    public const int ChecksumHigh = 0x2E;
    public const int ChecksumLow = 0x2F;

    /// <summary>The extended memory size again, as POST found it (0x17/0x18 is what setup configured).</summary>
    public const int PostExtendedMemoryLow = 0x30;
    public const int PostExtendedMemoryHigh = 0x31;

    /// <summary>Century, in the clock's data format; the clock carries into it as QEMU's does (the MC146818 itself stops at year 99).</summary>
    public const int Century = 0x32;

    /// <summary>Memory above 16 MiB in 64 KiB blocks (QEMU/SeaBIOS).</summary>
    public const int MemoryAbove16MiBLow = 0x34;
    public const int MemoryAbove16MiBHigh = 0x35;

    // Register A: UIP | DV2 DV1 DV0 | RS3 RS2 RS1 RS0.
    public const byte AUpdateInProgress = 0x80;
    public const byte ADividerMask = 0x70;
    public const byte ARateMask = 0x0F;

    /// <summary>DV = 010: the 32.768 kHz time base, the only one a PC's crystal gives.</summary>
    public const byte ADivider32Khz = 0x20;

    /// <summary>DV = 11x holds the divider chain in reset.</summary>
    public const byte ADividerReset = 0x60;

    // Register B.
    public const byte BSet = 0x80;
    public const byte BPeriodicInterruptEnable = 0x40;
    public const byte BAlarmInterruptEnable = 0x20;
    public const byte BUpdateEndedInterruptEnable = 0x10;
    public const byte BSquareWaveEnable = 0x08;
    public const byte BBinary = 0x04;
    public const byte B24Hour = 0x02;
    public const byte BDaylightSavingEnable = 0x01;

    // Register C: each flag sits at the bit position of its enable in register B.
    public const byte CInterruptRequest = 0x80;
    public const byte CPeriodic = 0x40;
    public const byte CAlarm = 0x20;
    public const byte CUpdateEnded = 0x10;
    public const byte CInterruptSources = CPeriodic | CAlarm | CUpdateEnded;

    /// <summary>Register D bit 7: valid RAM and time (the battery is good).</summary>
    public const byte DValidRamAndTime = 0x80;

    /// <summary>In the alarm bytes, the two high bits set (0xC0–0xFF) match any value.</summary>
    public const byte AlarmDontCare = 0xC0;

    /// <summary>In 12-hour mode bit 7 of the hours byte is PM.</summary>
    public const byte HourPm = 0x80;
}
