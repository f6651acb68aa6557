using Vmi.Machine.Time;

namespace Vmi.Machine.Devices;

/// <summary>
/// Intel 8254 programmable interval timer: three 16-bit down-counters clocked at 1.193182 MHz. Offsets 0–2
/// are the counters, offset 3 the control word register (ports 0x40–0x43 on a PC). Channel 0's OUT drives
/// IRQ0, channel 2's gate and OUT are reachable through <see cref="SystemControlPortB"/>.
/// </summary>
/// <remarks>
/// <para>Nothing ticks: each channel remembers the CLK cycle at which its count was loaded, and counter
/// values and OUT are computed from the guest clock when asked (cycle = floor(ticks * 1193182 / NominalHz)),
/// so they are deterministic and cost nothing while unobserved. Channel 0 schedules its next rising edge
/// of OUT on the <see cref="TimerQueue"/>; late delivery coalesces missed edges into one.</para>
/// <para>IRQ0 is driven at OUT's rising edges. In modes 2, 4 and 5 OUT is low for a single CLK cycle and
/// in mode 3 for the second half-period; those low phases are not scheduled (half the timer events) but
/// collapsed into a low-high pulse at the rising edge. The PIC sees the same edges; only a request left
/// unacknowledged past mode 3's falling edge survives here where the chip would withdraw it.</para>
/// <para>Simplifications, as in QEMU's i8254: the count is loaded on the write itself rather than on the
/// next CLK; modes 1 and 5 start counting when the count is written (and restart on a gate rising edge);
/// a low gate does not suspend counting; odd mode-3 counts read back as QEMU computes them. A new count
/// written in mode 2 or 3 while counting takes effect at the end of the current period, as on the chip
/// (the chip loads mode 3's at the end of the half-period). BCD counting is supported. At power-on every
/// channel is idle with OUT high (the chip's state is undefined; a BIOS would program it).</para>
/// </remarks>
public sealed class Pit8254 : IPortDevice
{
    public const long InputHz = 1_193_182;

    private const int ControlOffset = 3;

    // Control word: SC1 SC0 RW1 RW0 M2 M1 M0 BCD.
    private const int SelectReadBack = 3;
    private const int AccessLatch = 0;
    private const int AccessLsb = 1;
    private const int AccessMsb = 2;
    private const int AccessLsbMsb = 3;
    private const byte ControlBcd = 0x01;

    // Read-back: 1 1 COUNT# STATUS# CNT2 CNT1 CNT0 0; the latch selects are active low.
    private const byte ReadBackNoCount = 0x20;
    private const byte ReadBackNoStatus = 0x10;

    // Status byte: OUT NULL-COUNT RW1 RW0 M2 M1 M0 BCD.
    private const byte StatusOut = 0x80;
    private const byte StatusNullCount = 0x40;

    private const long BinaryModulus = 0x10000;
    private const long BcdModulus = 10000;
    private const long NoEdge = long.MaxValue;

    private readonly GuestClock _clock;
    private readonly TimerQueue _timers;
    private readonly IIrqLine _irq0;
    private readonly Channel[] _channels = [new(gate: true), new(gate: true), new(gate: false)];
    private readonly Action _onChannel0Edge;

    private int _timerHandle;
    private bool _irqLevel;

    public Pit8254(GuestClock clock, TimerQueue timers, IIrqLine irq0)
    {
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(timers);
        ArgumentNullException.ThrowIfNull(irq0);
        _clock = clock;
        _timers = timers;
        _irq0 = irq0;
        _onChannel0Edge = OnChannel0Edge;

        // OUT starts high; the PIC ignores this level until a fresh low-high edge after its ICW1.
        _irqLevel = true;
        _irq0.Set(true);
    }

    public long MissedAccessCount { get; private set; }

    /// <summary>PIT input clock cycles elapsed at the current guest time.</summary>
    public long CurrentCycle => _clock.DeviceCyclesAt(_clock.Ticks, InputHz);

    /// <summary>Channel 0 has a rising edge ahead, so IRQ0 will fire again (a halted CPU can be woken by it).</summary>
    public bool Channel0Armed => _timerHandle != 0;

    public bool GetOutput(int channel)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(channel);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(channel, 2);
        Channel c = _channels[channel];
        long now = CurrentCycle;
        Normalize(c, now);
        return OutAt(c, now);
    }

    /// <summary>Drives a channel's GATE input (on a PC only channel 2's is wired, to port 0x61 bit 0).
    /// A rising edge restarts the count in modes 1, 2, 3 and 5.</summary>
    public void SetGate(int channel, bool level)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(channel);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(channel, 2);
        Channel c = _channels[channel];
        bool rising = level && !c.Gate;
        c.Gate = level;
        if (!rising || !c.Running || c.Mode is 0 or 4)
        {
            return;
        }

        long now = CurrentCycle;
        Normalize(c, now);
        if (c.PendingCount != 0)
        {
            c.Count = c.PendingCount;
            c.PendingCount = 0;
        }

        c.LoadCycle = now;
        if (channel == 0)
        {
            RefreshChannel0(now);
        }
    }

    public uint Read(ushort offset, int size)
    {
        if (size != 1 || offset > ControlOffset)
        {
            MissedAccessCount++;
            return IoBus.AllOnes(size);
        }

        // The control word register cannot be read; the data bus floats.
        return offset == ControlOffset ? 0xFFu : ReadCounter(_channels[offset]);
    }

    public void Write(ushort offset, int size, uint value)
    {
        if (size != 1 || offset > ControlOffset)
        {
            MissedAccessCount++;
            return;
        }

        byte v = (byte)value;
        if (offset == ControlOffset)
        {
            WriteControl(v);
        }
        else
        {
            WriteCounter(offset, v);
        }
    }

    private void WriteControl(byte v)
    {
        int select = v >> 6;
        if (select == SelectReadBack)
        {
            ReadBack(v);
            return;
        }

        Channel c = _channels[select];
        int access = (v >> 4) & 3;
        long now = CurrentCycle;
        if (access == AccessLatch)
        {
            LatchCount(c, now);
            return;
        }

        // Datasheet: a control word resets the counter's logic; it waits for a new count, OUT goes low in
        // mode 0 and high in every other mode. Modes 6 and 7 are aliases of 2 and 3 (M2 is don't-care).
        Normalize(c, now);
        c.FrozenValue = CounterAt(c, now);
        int mode = (v >> 1) & 7;
        c.Mode = mode >= 6 ? mode - 4 : mode;
        c.Access = access;
        c.Bcd = (v & ControlBcd) != 0;
        c.Running = false;
        c.AwaitingCount = true;
        c.PendingCount = 0;
        c.WriteMsbNext = false;
        c.ReadMsbNext = false;
        c.CountLatched = false;
        c.StatusLatched = false;
        if (select == 0)
        {
            RefreshChannel0(now);
        }
    }

    private void WriteCounter(int index, byte v)
    {
        Channel c = _channels[index];
        switch (c.Access)
        {
            case AccessLsb:
                Load(index, v);
                break;
            case AccessMsb:
                Load(index, v << 8);
                break;
            default:
                if (!c.WriteMsbNext)
                {
                    c.WriteLsb = v;
                    c.WriteMsbNext = true;
                    if (c.Mode == 0 && c.Running)
                    {
                        // Mode 0: writing the first byte stops counting and drives OUT low at once.
                        long now = CurrentCycle;
                        c.FrozenValue = CounterAt(c, now);
                        c.Running = false;
                        if (index == 0)
                        {
                            RefreshChannel0(now);
                        }
                    }
                }
                else
                {
                    c.WriteMsbNext = false;
                    Load(index, c.WriteLsb | (v << 8));
                }

                break;
        }
    }

    private void Load(int index, int raw)
    {
        Channel c = _channels[index];
        long count = c.Bcd ? FromBcd(raw) : raw;
        if (count == 0)
        {
            count = c.Bcd ? BcdModulus : BinaryModulus; // a count of 0 means the full range
        }

        long now = CurrentCycle;
        Normalize(c, now);
        if (c.Running && c.Mode is 2 or 3)
        {
            // Periodic modes pick a new count up at the end of the current period, without a glitch.
            c.PendingCount = count;
            c.PendingCycle = c.LoadCycle + ((((now - c.LoadCycle) / c.Count) + 1) * c.Count);
            return;
        }

        c.Count = count;
        c.LoadCycle = now;
        c.Running = true;
        c.AwaitingCount = false;
        c.PendingCount = 0;
        if (index == 0)
        {
            RefreshChannel0(now);
        }
    }

    private void LatchCount(Channel c, long now)
    {
        // A second latch before the first is fully read is ignored (datasheet).
        if (!c.CountLatched)
        {
            Normalize(c, now);
            c.LatchedCount = Encode(c, CounterAt(c, now));
            c.CountLatched = true;
            c.LatchMsbNext = false;
        }
    }

    private void ReadBack(byte v)
    {
        long now = CurrentCycle;
        for (int i = 0; i < _channels.Length; i++)
        {
            if ((v & (2 << i)) == 0)
            {
                continue;
            }

            Channel c = _channels[i];
            if ((v & ReadBackNoCount) == 0)
            {
                LatchCount(c, now);
            }

            if ((v & ReadBackNoStatus) == 0 && !c.StatusLatched)
            {
                Normalize(c, now);
                c.LatchedStatus = (byte)((OutAt(c, now) ? StatusOut : 0)
                    | (c.AwaitingCount || c.PendingCount != 0 ? StatusNullCount : 0)
                    | (c.Access << 4)
                    | (c.Mode << 1)
                    | (c.Bcd ? ControlBcd : 0));
                c.StatusLatched = true;
            }
        }
    }

    private byte ReadCounter(Channel c)
    {
        if (c.StatusLatched)
        {
            // With both latched, status comes out first, then the count.
            c.StatusLatched = false;
            return c.LatchedStatus;
        }

        ushort value;
        bool msb;
        if (c.CountLatched)
        {
            value = c.LatchedCount;
            msb = c.Access == AccessMsb || (c.Access == AccessLsbMsb && c.LatchMsbNext);
            c.LatchMsbNext = c.Access == AccessLsbMsb && !c.LatchMsbNext;
            c.CountLatched = c.LatchMsbNext;
        }
        else
        {
            // Unlatched reads sample the live counter on every byte, as the chip does.
            long now = CurrentCycle;
            Normalize(c, now);
            value = Encode(c, CounterAt(c, now));
            msb = c.Access == AccessMsb || (c.Access == AccessLsbMsb && c.ReadMsbNext);
            c.ReadMsbNext = c.Access == AccessLsbMsb && !c.ReadMsbNext;
        }

        return (byte)(msb ? value >> 8 : value);
    }

    /// <summary>Applies a mode 2/3 count that was waiting for the end of its period.</summary>
    private static void Normalize(Channel c, long now)
    {
        if (c.PendingCount != 0 && now >= c.PendingCycle)
        {
            c.LoadCycle = c.PendingCycle;
            c.Count = c.PendingCount;
            c.PendingCount = 0;
        }
    }

    /// <summary>The counting element's value in binary (0 stands for the full count).</summary>
    private static long CounterAt(Channel c, long now)
    {
        if (!c.Running)
        {
            return c.FrozenValue;
        }

        long d = now - c.LoadCycle;
        long n = c.Count;
        long modulus = c.Bcd ? BcdModulus : BinaryModulus;
        return c.Mode switch
        {
            2 => (n - (d % n)) % modulus,           // N, N-1, ..., 1, reload
            3 => (n - ((2 * d) % n)) % modulus,     // counts down by two, twice per period
            _ => (((n - d) % modulus) + modulus) % modulus, // one-shot modes keep counting through zero
        };
    }

    private static bool OutAt(Channel c, long now)
    {
        if (!c.Running)
        {
            return c.Mode != 0;
        }

        long d = now - c.LoadCycle;
        long n = c.Count;
        return c.Mode switch
        {
            0 or 1 => d >= n,                 // low while counting, high from terminal count on
            2 => d % n != n - 1,              // low for the one cycle the counter holds 1
            3 => d % n < (n + 1) / 2,         // high for the first (larger) half of each period
            _ => d != n,                      // modes 4/5: a one-cycle low strobe at count 0
        };
    }

    /// <summary>First CLK cycle after <paramref name="after"/> at which OUT rises, or <see cref="NoEdge"/>.</summary>
    private static long NextRisingEdge(Channel c, long after)
    {
        if (!c.Running)
        {
            return NoEdge;
        }

        long d = after - c.LoadCycle;
        long n = c.Count;
        return c.Mode switch
        {
            0 or 1 => d < n ? c.LoadCycle + n : NoEdge,
            2 or 3 => c.LoadCycle + (((d / n) + 1) * n),
            _ => d < n + 1 ? c.LoadCycle + n + 1 : NoEdge,
        };
    }

    private void OnChannel0Edge()
    {
        _timerHandle = 0;
        Channel c = _channels[0];
        long now = CurrentCycle;
        Normalize(c, now);
        SetIrq0(false);
        SetIrq0(true);
        ScheduleChannel0(now);
    }

    /// <summary>Re-derives IRQ0's level and the next edge after channel 0 was reprogrammed.</summary>
    private void RefreshChannel0(long now)
    {
        SetIrq0(OutAt(_channels[0], now));
        ScheduleChannel0(now);
    }

    private void ScheduleChannel0(long now)
    {
        if (_timerHandle != 0)
        {
            _timers.Cancel(_timerHandle);
            _timerHandle = 0;
        }

        long edge = NextRisingEdge(_channels[0], now);
        if (edge != NoEdge)
        {
            _timerHandle = _timers.Schedule(_clock.TicksFromDeviceCycles(edge, InputHz), _onChannel0Edge);
        }
    }

    private void SetIrq0(bool level)
    {
        if (level != _irqLevel)
        {
            _irqLevel = level;
            _irq0.Set(level);
        }
    }

    private static ushort Encode(Channel c, long binary) => c.Bcd ? ToBcd(binary) : (ushort)binary;

    private static long FromBcd(int raw) =>
        (((raw >> 12) & 0xF) * 1000) + (((raw >> 8) & 0xF) * 100) + (((raw >> 4) & 0xF) * 10) + (raw & 0xF);

    private static ushort ToBcd(long value) =>
        (ushort)(((value / 1000 % 10) << 12) | ((value / 100 % 10) << 8) | ((value / 10 % 10) << 4) | (value % 10));

    private sealed class Channel(bool gate)
    {
        public int Mode = 3;          // idle with OUT high until programmed
        public int Access = AccessLsbMsb;
        public bool Bcd;
        public bool Gate = gate;

        public bool Running;          // a count has been loaded since the last control word
        public bool AwaitingCount = true;
        public long Count;            // value in the counting element's cycle: 1..65536 (or 10000 in BCD)
        public long LoadCycle;
        public long FrozenValue;      // what reads return while not counting

        public long PendingCount;     // mode 2/3 count waiting for the end of the period; 0 = none
        public long PendingCycle;

        public bool WriteMsbNext;
        public byte WriteLsb;
        public bool ReadMsbNext;

        public bool CountLatched;
        public ushort LatchedCount;
        public bool LatchMsbNext;
        public bool StatusLatched;
        public byte LatchedStatus;
    }
}
