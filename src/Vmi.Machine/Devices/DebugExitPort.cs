namespace Vmi.Machine.Devices;

/// <summary>
/// QEMU's <c>isa-debug-exit</c>: a guest write of <c>v</c> ends the run with exit status
/// <c>(v &lt;&lt; 1) | 1</c>. The shift and the forced low bit are QEMU's, so that no guest value can
/// produce status 0 and be mistaken for a clean host exit; test guests written for QEMU therefore
/// report the same codes here.
/// <para>
/// Which accesses count follows QEMU's memory core as its TCG accelerator drives port I/O
/// (<c>address_space_st{b,w,l}</c>; checked against qemu-system-i386 with
/// <c>isa-debug-exit,iobase=0xf4,iosize=4</c>): the whole access goes to the device holding its
/// first port, as <see cref="IoBus"/> routes it, and the device's ops (access sizes 1 to 4, no
/// unaligned accesses) refuse an access whose offset in the range is not a multiple of its width.
/// So a byte write to any of 0xF4-0xF7 exits, a 16-bit one at 0xF4 or 0xF6, a 32-bit one at 0xF4
/// only; OUT AX to 0xF5 or OUT EAX to 0xF5-0xF7 is dropped (QEMU logs it as an invalid access).
/// Running past the range's end is not checked (a 32-bit write to the base of a 2-port range
/// exits). Under KVM, QEMU instead splits such an access into aligned pieces, so OUT AX to 0xF5
/// exits there with the low byte: test guests should not rely on either.
/// </para>
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

        // Refused or not, QEMU reads 0 here: its read op returns 0, and so does a refused access.
        return 0;
    }

    public void Write(ushort offset, int size, uint value)
    {
        if (!IoBus.IsValidSize(size) || offset % size != 0)
        {
            MissedAccessCount++;
            return;
        }

        uint v = value & IoBus.AllOnes(size);
        _onExit(unchecked((int)((v << 1) | 1)));
    }
}
