namespace Vmi.Machine.Devices;

/// <summary>
/// The PC/AT's x87 error wiring (CR0.NE = 0): the CPU's FERR# latches IRQ 13; a write of any value
/// to port 0xF0 clears that request and asserts IGNNE#, so the handler's next x87 instruction runs
/// (the IGNNE# assertion ends when the CPU lowers FERR#, i.e. when the error is cleared).
/// </summary>
public sealed class CoprocessorErrorPort(IIrqLine irq13, Action assertIgnne) : IPortDevice
{
    private bool requesting;

    /// <summary>The CPU's FERR# pin changed.</summary>
    public void FerrChanged(bool asserted)
    {
        if (!asserted || requesting) return;
        requesting = true;
        irq13.Set(true);
    }

    public uint Read(ushort offset, int size) => IoBus.AllOnes(size);

    public void Write(ushort offset, int size, uint value)
    {
        if (requesting)
        {
            requesting = false;
            irq13.Set(false);
        }
        assertIgnne();
    }
}
