namespace Vmi.Machine.Devices;

/// <summary>
/// An explicit sink for ports that guests probe but that vmi does not model, so such accesses are
/// claimed on purpose instead of falling through to the bus's unclaimed-port path (kvmtool
/// <c>x86/ioport.c</c> registers the same dummies). Typical uses, wired by the board:
/// 0x80 (POST code; also written purely as an I/O delay), 0xED (alternative delay port),
/// 0x92 (System Control Port A: reads 0x02 = A20 enabled; writes, including the fast-reset bit 0, are dropped),
/// and DMA controller / page registers that nothing here emulates.
/// </summary>
public sealed class NullPort : IPortDevice
{
    public NullPort(uint readValue, string description)
    {
        ArgumentNullException.ThrowIfNull(description);
        ReadValue = readValue;
        Description = description;
    }

    /// <summary>Value returned by every read, truncated to the access width.</summary>
    public uint ReadValue { get; }

    public string Description { get; }

    public long ReadCount { get; private set; }

    public long WriteCount { get; private set; }

    /// <summary>Last value written (already truncated by the bus's width), for tests and debugging.</summary>
    public uint LastWrittenValue { get; private set; }

    public uint Read(ushort offset, int size)
    {
        ReadCount++;
        return ReadValue & IoBus.AllOnes(size);
    }

    public void Write(ushort offset, int size, uint value)
    {
        WriteCount++;
        LastWrittenValue = value & IoBus.AllOnes(size);
    }

    public override string ToString() => $"NullPort({Description})";
}
