namespace Vmi.Machine.Devices;

/// <summary>
/// QEMU's <c>isa-debug-exit</c>: a guest write of <c>v</c> ends the run with exit status
/// <c>(v &lt;&lt; 1) | 1</c>. The shift and the forced low bit are QEMU's, so that no guest value can
/// produce status 0 and be mistaken for a clean host exit; test guests written for QEMU therefore
/// report the same codes here. Any offset inside the registered range triggers, as in QEMU.
/// </summary>
public sealed class DebugExitPort : IPortDevice
{
    private readonly Action<int> _onExit;

    /// <param name="onExit">Called with <c>(v &lt;&lt; 1) | 1</c>, where v is the written value masked to the
    /// access width. For a 32-bit v with bit 31 set the shift drops that bit; host exit codes keep only the
    /// low 8 bits anyway.</param>
    public DebugExitPort(Action<int> onExit)
    {
        ArgumentNullException.ThrowIfNull(onExit);
        _onExit = onExit;
    }

    public long MissedAccessCount { get; private set; }

    public uint Read(ushort offset, int size)
    {
        if (!IoBus.IsValidSize(size))
        {
            MissedAccessCount++;
            return IoBus.AllOnes(size);
        }

        return 0;
    }

    public void Write(ushort offset, int size, uint value)
    {
        if (!IoBus.IsValidSize(size))
        {
            MissedAccessCount++;
            return;
        }

        uint v = value & IoBus.AllOnes(size);
        _onExit(unchecked((int)((v << 1) | 1)));
    }
}
