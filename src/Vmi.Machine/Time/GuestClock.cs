namespace Vmi.Machine.Time;

/// <summary>
/// Guest time, derived from executed instructions so that every run of the same guest sees the same
/// time (Bochs <c>icount</c>, QEMU <c>-icount</c>); the host clock is never consulted.
/// One tick = one retired guest instruction, plus idle ticks skipped while the CPU is halted.
/// <see cref="NominalHz"/> says how many ticks make one guest second.
/// </summary>
public sealed class GuestClock
{
    private readonly Func<long> _instructionsRetired;

    public GuestClock(long nominalHz, Func<long> instructionsRetired)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(nominalHz);
        ArgumentNullException.ThrowIfNull(instructionsRetired);
        NominalHz = nominalHz;
        _instructionsRetired = instructionsRetired;
    }

    public long NominalHz { get; }

    public long Ticks => _instructionsRetired() + IdleTicks + OverheadTicks;

    public long IdleTicks { get; private set; }

    /// <summary>
    /// Time a hypervisor's events took on the modelled processor (exits, traps, translation), in
    /// ticks: the guest's TSC and timers see virtualization overhead as on real hardware.
    /// </summary>
    public long OverheadTicks { get; private set; }

    public void AddOverhead(long ticks)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ticks);
        OverheadTicks += ticks;
    }

    public double Seconds => (double)Ticks / NominalHz;

    /// <summary>HLT fast-forward: jump guest time to <paramref name="tick"/> (usually the timer queue's next
    /// deadline) instead of spinning; no-op if that time has already passed.</summary>
    public void SkipIdleTo(long tick)
    {
        long now = Ticks;
        if (tick > now)
        {
            IdleTicks += tick - now;
        }
    }

    /// <summary>The first tick at which <see cref="DeviceCyclesAt"/> reaches <paramref name="deviceCycles"/>:
    /// ceil(deviceCycles * NominalHz / deviceHz). Rounding up makes a device event scheduled at that tick
    /// never fire before the device's own clock has got there. Saturates at long.MaxValue.</summary>
    public long TicksFromDeviceCycles(long deviceCycles, long deviceHz)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(deviceHz);
        return MulDiv(deviceCycles, NominalHz, deviceHz, roundUp: true);
    }

    /// <summary>Whole device clock cycles elapsed after <paramref name="ticks"/>:
    /// floor(ticks * deviceHz / NominalHz). Saturates at long.MaxValue.</summary>
    public long DeviceCyclesAt(long ticks, long deviceHz)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(deviceHz);
        return MulDiv(ticks, deviceHz, NominalHz, roundUp: false);
    }

    /// <summary>a * b / divisor rounded toward -infinity or +infinity, exact for any operands: the
    /// 128-bit product cannot overflow (ticks * 1.19 MHz passes 2^63 after a few guest days at 1 GHz).</summary>
    private static long MulDiv(long a, long b, long divisor, bool roundUp)
    {
        long high = Math.BigMul(a, b, out long low);
        if (high == low >> 63)
        {
            // The product fits in 64 bits: stay off the slower 128-bit division.
            long quotient = Math.DivRem(low, divisor, out long remainder);
            return Adjust(quotient, remainder, roundUp);
        }

        Int128 product = (Int128)a * b;
        (Int128 q, Int128 r) = Int128.DivRem(product, divisor);
        if (q > long.MaxValue)
        {
            return long.MaxValue;
        }

        if (q < long.MinValue)
        {
            return long.MinValue;
        }

        return Adjust((long)q, r == 0 ? 0 : (r > 0 ? 1 : -1), roundUp);
    }

    // Division truncates toward zero; divisor is positive, so the remainder's sign tells which way to fix.
    private static long Adjust(long quotient, long remainder, bool roundUp) =>
        remainder > 0 && roundUp ? quotient + 1
        : remainder < 0 && !roundUp ? quotient - 1
        : quotient;
}
