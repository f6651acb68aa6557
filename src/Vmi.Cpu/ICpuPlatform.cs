namespace Vmi.Cpu;

/// <summary>
/// The board the CPU is plugged into: port I/O, the interrupt-acknowledge cycle and the time base.
/// Only slow instructions (IN/OUT, RDTSC, interrupt delivery) reach it.
/// </summary>
public interface ICpuPlatform
{
    uint PortRead(ushort port, int size);

    void PortWrite(ushort port, int size, uint value);

    /// <summary>The INTA cycle: returns the vector of the highest-priority pending interrupt.</summary>
    byte AcknowledgeInterrupt();

    /// <summary>Guest time in ticks of the nominal clock (what RDTSC returns).</summary>
    ulong TimestampCounter { get; }

    /// <summary>
    /// The FERR# pin (CR0.NE = 0, the PC/AT way of reporting x87 errors): the CPU raises it when an
    /// x87 instruction leaves an unmasked exception pending and lowers it when the error is cleared.
    /// A PC routes it to IRQ 13; a write to port 0xF0 clears that request and asserts IGNNE#
    /// (<see cref="Cpu.IgnoreNumericErrors"/>). Called only when the level changes.
    /// </summary>
    void FloatingPointError(bool asserted)
    {
    }
}

/// <summary>A platform with nothing attached: ports float high, no interrupts, time = instructions.</summary>
public sealed class NullPlatform : ICpuPlatform
{
    private readonly Cpu? cpu;

    public NullPlatform(Cpu? cpu = null) => this.cpu = cpu;

    public uint PortRead(ushort port, int size) => Cpu.SizeMask(size);

    public void PortWrite(ushort port, int size, uint value)
    {
    }

    public byte AcknowledgeInterrupt() => 0xFF;

    public ulong TimestampCounter => (ulong)(cpu?.InstructionsRetired ?? 0);
}
