using Vmi.Machine.Time;

namespace Vmi.Machine.Devices;

/// <summary>
/// Motorola MC146818A real-time clock with its 128 bytes of CMOS: offset 0 is the index register
/// (ports 0x70 on a PC; bit 7 of a write masks NMI on the board, not in the chip), offset 1 the data
/// port (0x71). The clock bytes, registers A–D and 114 bytes of battery-backed RAM sit behind them.
/// </summary>
/// <remarks>
/// <para>Nothing ticks. The 32.768 kHz divider chain is a phase (<c>_chainOrigin</c>, the
/// oscillator cycle at which a second began) against the guest clock; the time shown is the
/// calendar as of the last sync plus the updates (chain second boundaries) since, and the flags of
/// register C are brought up to date whenever the guest looks (a read of the time, A or C) or changes
/// something, so a clock nobody asks costs nothing. A timer is scheduled only when an enabled
/// interrupt could raise IRQ 8, at the oscillator cycle where it would.</para>
/// <para>Datasheet rules kept: the update cycle once a second, with UIP high for the 244 µs
/// (8 oscillator cycles) before it; SET halts updates (the chain keeps counting, so periodic
/// interrupts go on), clears UIE and lets the time be written; DV = 11x holds the chain in
/// reset and the first update comes half a second after release; RS selects the periodic rate
/// from the chain's taps; PF, AF and UF are set whether or not their interrupts are enabled,
/// IRQF = PF·PIE + AF·AIE + UF·UIE drives IRQ 8, and reading C clears them all; the alarm bytes
/// match exactly or are don't care (0xC0–0xFF); DSE's two special updates.</para>
/// <para>Simplifications, as in QEMU's mc146818rtc: the update itself takes no time (on the chip
/// it follows UIP's rise by 244 µs and lasts up to 1984 µs, during which the time bytes are
/// undefined); DV = 000 and 001 (the 4.194304 and 1.048576 MHz time bases) keep time as 010 does,
/// and DV = 011–101 (test modes) stop the chain like a reset; while the clock runs, the time bytes are
/// a view of the calendar in the current format, so switching DM or 24/12 converts them where the
/// chip would misread its own counters; the century byte 0x32 is part of the clock and leap years
/// follow the Gregorian rule (the chip knows only "divisible by 4"). Time runs only on the
/// oscillator: the host clock is never read.</para>
/// </remarks>
public sealed class Mc146818Rtc : IPortDevice
{
    public const long OscillatorHz = 32_768;

    private const int IndexOffset = 0;
    private const int DataOffset = 1;
    private const byte IndexMask = 0x7F;
    private const byte NmiDisableBit = 0x80;

    /// <summary>UIP rises this many oscillator cycles (244.14 µs, the datasheet's tBUC) before each update.</summary>
    private const long UipLeadCycles = 8;

    /// <summary>Out of reset, the chain starts half-way through a second: "the first update cycle begins one-half second later".</summary>
    private const long HalfSecondCycles = OscillatorHz / 2;

    /// <summary>What a BIOS leaves in A: the 32.768 kHz time base, periodic rate 1024 Hz.</summary>
    private const byte PowerOnRegisterA = CmosLayout.ADivider32Khz | 0x06;

    /// <summary>What a BIOS leaves in B: 24-hour BCD, every interrupt off.</summary>
    private const byte PowerOnRegisterB = CmosLayout.B24Hour;

    private static readonly int[] TimeBytes =
    [
        CmosLayout.Seconds, CmosLayout.Minutes, CmosLayout.Hours, CmosLayout.Weekday,
        CmosLayout.DayOfMonth, CmosLayout.Month, CmosLayout.Year, CmosLayout.Century,
    ];

    private readonly GuestClock _clock;
    private readonly TimerQueue _timers;
    private readonly IIrqLine _irq;
    private readonly Action _onTimer;
    private readonly byte[] _cmos = new byte[CmosLayout.Size];

    private int _index;
    private long _chainOrigin;
    private long _syncedCycle;

    /// <summary>While the clock runs: the time it shows at <c>_syncedCycle</c>, in seconds since 1970, without DSE's extra hour.</summary>
    private long _standardSeconds;

    /// <summary>Day-of-week register minus the true weekday: the chip counts the weekday on its own, from whatever software set.</summary>
    private int _dayOfWeekOffset;

    private bool _irqLevel;
    private int _timerHandle;

    public Mc146818Rtc(GuestClock clock, TimerQueue timers, IIrqLine irq, DateTime start)
    {
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(timers);
        ArgumentNullException.ThrowIfNull(irq);
        _clock = clock;
        _timers = timers;
        _irq = irq;
        _onTimer = OnTimer;
        _cmos[CmosLayout.RegisterA] = PowerOnRegisterA;
        _cmos[CmosLayout.RegisterB] = PowerOnRegisterB;
        _chainOrigin = CurrentCycle;
        _syncedCycle = _chainOrigin;
        _standardSeconds = RtcCalendar.ToSeconds(start.Year, start.Month, start.Day, start.Hour, start.Minute, start.Second);
    }

    /// <summary>Bit 7 of the last index written: the board's NMI mask (this PC has no NMI source yet, so nothing else reads it).</summary>
    public bool NmiDisabled { get; private set; }

    /// <summary>An RTC interrupt lies ahead: an enabled source will raise IRQ 8 (a halted CPU can be woken by it).</summary>
    public bool InterruptArmed => _timerHandle != 0;

    /// <summary>Oscillator cycles elapsed at the current guest time.</summary>
    private long CurrentCycle => _clock.DeviceCyclesAt(_clock.Ticks, OscillatorHz);

    private byte RegisterA => _cmos[CmosLayout.RegisterA];

    private byte RegisterB => _cmos[CmosLayout.RegisterB];

    private RtcRegisterFormat Format => RtcRegisterFormat.FromRegisterB(RegisterB);

    private bool DaylightSaving => (RegisterB & CmosLayout.BDaylightSavingEnable) != 0;

    /// <summary>The divider chain counts: DV selects a time base rather than reset or a test mode.</summary>
    private bool ChainCounting => IsCounting(RegisterA);

    /// <summary>Updates happen: the chain counts and SET is clear. Otherwise the time bytes in <c>_cmos</c> hold the time.</summary>
    private bool ClockRunning => ChainCounting && (RegisterB & CmosLayout.BSet) == 0;

    /// <summary>Stores what a BIOS leaves in CMOS RAM (<see cref="CmosBiosFields"/>) for a machine with <paramref name="ramBytes"/> of RAM.</summary>
    public void StoreBiosFields(uint ramBytes, bool mathCoprocessor) => CmosBiosFields.Fill(_cmos, ramBytes, mathCoprocessor);

    public uint Read(ushort offset, int size)
    {
        // Wider accesses reach the chip a byte at a time, as QEMU's memory core splits them; bytes
        // past the data port find nothing on the bus.
        uint value = 0;
        for (int i = 0; i < Math.Clamp(size, 1, 4); i++)
        {
            value |= (uint)((offset + i) switch
            {
                DataOffset => ReadData(),
                _ => 0xFF, // the index register is write-only
            }) << (8 * i);
        }
        return value;
    }

    public void Write(ushort offset, int size, uint value)
    {
        for (int i = 0; i < Math.Clamp(size, 1, 4); i++)
        {
            byte b = (byte)(value >> (8 * i));
            switch (offset + i)
            {
                case IndexOffset:
                    _index = b & IndexMask;
                    NmiDisabled = (b & NmiDisableBit) != 0;
                    break;
                case DataOffset:
                    WriteData(b);
                    break;
            }
        }
    }

    private byte ReadData()
    {
        switch (_index)
        {
            case CmosLayout.Seconds or CmosLayout.Minutes or CmosLayout.Hours or CmosLayout.Weekday
                or CmosLayout.DayOfMonth or CmosLayout.Month or CmosLayout.Year or CmosLayout.Century:
                Sync();
                return ClockRunning ? Shown(_index) : _cmos[_index];
            case CmosLayout.RegisterA:
                return (byte)(RegisterA | (UpdateInProgress() ? CmosLayout.AUpdateInProgress : 0));
            case CmosLayout.RegisterC:
                Sync();
                byte flags = _cmos[CmosLayout.RegisterC];
                _cmos[CmosLayout.RegisterC] = 0;
                UpdateIrq();
                Reschedule();
                return flags;
            case CmosLayout.RegisterD:
                return CmosLayout.DValidRamAndTime;
            default:
                return _cmos[_index];
        }
    }

    private void WriteData(byte value)
    {
        switch (_index)
        {
            case CmosLayout.Seconds or CmosLayout.Minutes or CmosLayout.Hours or CmosLayout.Weekday
                or CmosLayout.DayOfMonth or CmosLayout.Month or CmosLayout.Year or CmosLayout.Century:
                Sync();
                if (ClockRunning)
                {
                    // The chain's phase is untouched: the next update still comes on its second boundary.
                    FreezeTime();
                    _cmos[_index] = value;
                    ThawTime();
                }
                else
                {
                    _cmos[_index] = value;
                }
                Reschedule();
                break;
            case CmosLayout.SecondsAlarm or CmosLayout.MinutesAlarm or CmosLayout.HoursAlarm:
                Sync();
                _cmos[_index] = value;
                Reschedule();
                break;
            case CmosLayout.RegisterA:
                WriteRegisterA(value);
                break;
            case CmosLayout.RegisterB:
                WriteRegisterB(value);
                break;
            case CmosLayout.RegisterC or CmosLayout.RegisterD:
                break; // read-only
            default:
                _cmos[_index] = value;
                break;
        }
    }

    private void WriteRegisterA(byte value)
    {
        Sync();
        bool wasCounting = ChainCounting;
        if (ClockRunning && !IsCounting(value))
        {
            FreezeTime();
        }
        _cmos[CmosLayout.RegisterA] = (byte)(value & ~CmosLayout.AUpdateInProgress); // UIP is read-only
        if (!wasCounting && ChainCounting)
        {
            _chainOrigin = _syncedCycle - HalfSecondCycles;
            if (ClockRunning)
            {
                ThawTime();
            }
        }
        Reschedule();
    }

    private void WriteRegisterB(byte value)
    {
        Sync();
        byte old = RegisterB;
        if ((value & CmosLayout.BSet) != 0)
        {
            value &= unchecked((byte)~CmosLayout.BUpdateEndedInterruptEnable); // "SET going high clears UIE"
        }
        bool wasRunning = ClockRunning;
        long shown = DisplaySeconds();
        if (wasRunning && (value & CmosLayout.BSet) != 0)
        {
            FreezeTime(); // an update in progress is aborted; the bytes stay as they were, in the old format
        }
        _cmos[CmosLayout.RegisterB] = value;
        if (wasRunning && ClockRunning && ((old ^ value) & CmosLayout.BDaylightSavingEnable) != 0)
        {
            // DSE only enables the special updates: the time shown does not move.
            _standardSeconds = DaylightSaving ? RtcDaylightSaving.ToStandard(shown, _dayOfWeekOffset) : shown;
        }
        else if (!wasRunning && ClockRunning)
        {
            ThawTime(); // SET cleared: the bytes written meanwhile are the time, and updates resume on the chain's next second
        }
        UpdateIrq();
        Reschedule();
    }

    /// <summary>UIP: the clock runs and the next update is at most 244 µs away.</summary>
    private bool UpdateInProgress() =>
        ClockRunning && RtcCalendar.FloorMod(CurrentCycle - _chainOrigin, OscillatorHz) >= OscillatorHz - UipLeadCycles;

    /// <summary>
    /// Accounts for the oscillator cycles since the last sync: the updates they hold advance the
    /// calendar and set UF (and AF if one of them matched the alarm), a periodic tap sets PF.
    /// </summary>
    private void Sync()
    {
        long now = CurrentCycle;
        if (now <= _syncedCycle)
        {
            return;
        }
        if (ChainCounting)
        {
            long before = _syncedCycle - _chainOrigin, after = now - _chainOrigin;
            byte flags = 0;
            if (PeriodCycles() is long period && RtcCalendar.FloorDiv(after, period) > RtcCalendar.FloorDiv(before, period))
            {
                flags |= CmosLayout.CPeriodic;
            }
            long updates = RtcCalendar.FloorDiv(after, OscillatorHz) - RtcCalendar.FloorDiv(before, OscillatorHz);
            if (updates > 0 && ClockRunning)
            {
                flags |= CmosLayout.CUpdateEnded;
                if (NextAlarmAfter(_standardSeconds) is long alarm && alarm <= _standardSeconds + updates)
                {
                    flags |= CmosLayout.CAlarm;
                }
                _standardSeconds += updates;
            }
            _cmos[CmosLayout.RegisterC] |= flags;
            UpdateIrq();
        }
        _syncedCycle = now;
    }

    /// <summary>IRQF = PF·PIE + AF·AIE + UF·UIE, and IRQ 8 follows it.</summary>
    private void UpdateIrq()
    {
        bool level = (_cmos[CmosLayout.RegisterC] & RegisterB & CmosLayout.CInterruptSources) != 0;
        _cmos[CmosLayout.RegisterC] = (byte)(level
            ? _cmos[CmosLayout.RegisterC] | CmosLayout.CInterruptRequest
            : _cmos[CmosLayout.RegisterC] & ~CmosLayout.CInterruptRequest);
        if (level != _irqLevel)
        {
            _irqLevel = level;
            _irq.Set(level);
        }
    }

    /// <summary>
    /// Schedules the oscillator cycle at which an enabled source next raises IRQ 8. None while IRQ 8
    /// is already high: the line cannot rise again before a read of C or a write of B, which call here.
    /// </summary>
    private void Reschedule()
    {
        if (_timerHandle != 0)
        {
            _timers.Cancel(_timerHandle);
            _timerHandle = 0;
        }
        if (_irqLevel || !ChainCounting)
        {
            return;
        }
        long phase = _syncedCycle - _chainOrigin;
        long next = long.MaxValue;
        if ((RegisterB & CmosLayout.BPeriodicInterruptEnable) != 0 && PeriodCycles() is long period)
        {
            next = _chainOrigin + ((RtcCalendar.FloorDiv(phase, period) + 1) * period);
        }
        if (ClockRunning)
        {
            long nextUpdate = _chainOrigin + ((RtcCalendar.FloorDiv(phase, OscillatorHz) + 1) * OscillatorHz);
            if ((RegisterB & CmosLayout.BUpdateEndedInterruptEnable) != 0)
            {
                next = Math.Min(next, nextUpdate);
            }
            if ((RegisterB & CmosLayout.BAlarmInterruptEnable) != 0 && NextAlarmAfter(_standardSeconds) is long alarm)
            {
                next = Math.Min(next, nextUpdate + ((alarm - _standardSeconds - 1) * OscillatorHz));
            }
        }
        if (next != long.MaxValue)
        {
            _timerHandle = _timers.Schedule(_clock.TicksFromDeviceCycles(next, OscillatorHz), _onTimer);
        }
    }

    private void OnTimer()
    {
        _timerHandle = 0;
        Sync();
        Reschedule();
    }

    /// <summary>
    /// The periodic interrupt's period in oscillator cycles for register A's RS, or null for RS = 0.
    /// With the 32.768 kHz time base RS = 1 and 2 repeat the 256 Hz and 128 Hz taps of RS = 8 and 9;
    /// RS = 3 … 15 give 8192 Hz halving down to 2 Hz.
    /// </summary>
    private long? PeriodCycles()
    {
        int rate = RegisterA & CmosLayout.ARateMask;
        return rate switch
        {
            0 => null,
            <= 2 => 1L << (rate + 6),
            _ => 1L << (rate - 1),
        };
    }

    /// <summary>
    /// The first standard second after <paramref name="standard"/> at which the time shown matches
    /// the alarm, or null if it never will. With DSE the shown time jumps, so the search goes from
    /// one stretch of constant offset to the next.
    /// </summary>
    private long? NextAlarmAfter(long standard)
    {
        RtcAlarm alarm = RtcAlarm.FromRegisters(_cmos[CmosLayout.SecondsAlarm], _cmos[CmosLayout.MinutesAlarm], _cmos[CmosLayout.HoursAlarm], Format);
        if (!alarm.CanMatch)
        {
            return null;
        }
        if (!DaylightSaving)
        {
            return alarm.FirstMatchAtOrAfter(standard + 1);
        }
        long from = standard + 1;
        // Stretches last months and a matchable alarm matches within a day: the second stretch always has it.
        for (int stretch = 0; stretch < 3; stretch++)
        {
            long end = RtcDaylightSaving.NextChange(from, _dayOfWeekOffset);
            long offset = RtcDaylightSaving.ToDisplay(from, _dayOfWeekOffset) - from;
            if (alarm.FirstMatchAtOrAfter(from + offset) is not long shown)
            {
                return null;
            }
            if (shown - offset < end)
            {
                return shown - offset;
            }
            from = end;
        }
        return null;
    }

    private long DisplaySeconds() =>
        DaylightSaving ? RtcDaylightSaving.ToDisplay(_standardSeconds, _dayOfWeekOffset) : _standardSeconds;

    /// <summary>A time byte as the running clock shows it, in the current format.</summary>
    private byte Shown(int index)
    {
        CalendarTime t = RtcCalendar.FromSeconds(DisplaySeconds());
        RtcRegisterFormat f = Format;
        return index switch
        {
            CmosLayout.Seconds => f.Encode(t.Second),
            CmosLayout.Minutes => f.Encode(t.Minute),
            CmosLayout.Hours => f.EncodeHour(t.Hour),
            CmosLayout.Weekday => f.Encode(RtcCalendar.FloorMod(t.DayOfWeek + _dayOfWeekOffset, 7) + 1),
            CmosLayout.DayOfMonth => f.Encode(t.Day),
            CmosLayout.Month => f.Encode(t.Month),
            CmosLayout.Year => f.Encode(RtcCalendar.FloorMod(t.Year, 100)),
            _ => f.Encode(RtcCalendar.FloorDiv(t.Year, 100)),
        };
    }

    /// <summary>The clock stops updating: its time bytes become plain bytes holding the time shown.</summary>
    private void FreezeTime()
    {
        foreach (int index in TimeBytes)
        {
            _cmos[index] = Shown(index);
        }
    }

    /// <summary>The clock resumes from its time bytes, read in the current format (invalid values carry as mktime would).</summary>
    private void ThawTime()
    {
        RtcRegisterFormat f = Format;
        long year = (f.Decode(_cmos[CmosLayout.Century]) * 100L) + f.Decode(_cmos[CmosLayout.Year]);
        long shown = RtcCalendar.ToSeconds(year, f.Decode(_cmos[CmosLayout.Month]), f.Decode(_cmos[CmosLayout.DayOfMonth]),
            f.DecodeHour(_cmos[CmosLayout.Hours]), f.Decode(_cmos[CmosLayout.Minutes]), f.Decode(_cmos[CmosLayout.Seconds]));
        int weekday = RtcCalendar.DayOfWeek(RtcCalendar.FloorDiv(shown, RtcCalendar.SecondsPerDay));
        _dayOfWeekOffset = (int)RtcCalendar.FloorMod(f.Decode(_cmos[CmosLayout.Weekday]) - 1 - weekday, 7);
        _standardSeconds = DaylightSaving ? RtcDaylightSaving.ToStandard(shown, _dayOfWeekOffset) : shown;
    }

    private static bool IsCounting(byte registerA) => (registerA & CmosLayout.ADividerMask) <= CmosLayout.ADivider32Khz;
}
