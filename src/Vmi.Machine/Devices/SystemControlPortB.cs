namespace Vmi.Machine.Devices;

/// <summary>
/// PC/AT System Control Port B (port 0x61 on a PC), the part of it that touches the PIT: bit 0 drives
/// PIT channel 2's GATE, bit 5 reads channel 2's OUT. Guests use the pair to calibrate delay loops
/// (Linux <c>pit_calibrate_tsc</c>). Bit 4 toggles with DRAM refresh every 15.085 µs, which old delay
/// loops count; it is derived from the PIT clock (18 cycles) so it stays deterministic.
/// The speaker (bit 1) is silent; the parity/channel check bits read back but never report an error.
/// </summary>
public sealed class SystemControlPortB : IPortDevice
{
    private const byte Timer2Gate = 0x01;
    private const byte WritableMask = 0x0F;  // gate, speaker data, RAM parity and I/O channel check enables
    private const byte RefreshToggle = 0x10;
    private const byte Timer2Out = 0x20;
    private const long RefreshPeriodCycles = 18; // 15.085 µs at 1.193182 MHz

    private readonly Pit8254 _pit;
    private byte _value;

    public SystemControlPortB(Pit8254 pit)
    {
        ArgumentNullException.ThrowIfNull(pit);
        _pit = pit;
        _pit.SetGate(2, false);
    }

    public long MissedAccessCount { get; private set; }

    public uint Read(ushort offset, int size)
    {
        if (size != 1)
        {
            MissedAccessCount++;
            return IoBus.AllOnes(size);
        }

        bool refresh = ((_pit.CurrentCycle / RefreshPeriodCycles) & 1) != 0;
        return (uint)(_value | (refresh ? RefreshToggle : 0) | (_pit.GetOutput(2) ? Timer2Out : 0));
    }

    public void Write(ushort offset, int size, uint value)
    {
        if (size != 1)
        {
            MissedAccessCount++;
            return;
        }

        _value = (byte)(value & WritableMask);
        _pit.SetGate(2, (_value & Timer2Gate) != 0);
    }
}
