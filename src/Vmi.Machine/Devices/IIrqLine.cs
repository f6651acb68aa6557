namespace Vmi.Machine.Devices;

/// <summary>
/// One interrupt request wire from a device to an interrupt controller input. Devices drive it with
/// the level of their interrupt output and call <see cref="Set"/> only when that level changes
/// (kvmtool <c>serial8250_update_irq</c> keeps <c>irq_state</c> for the same reason), so the
/// controller can detect edges from consecutive calls.
/// </summary>
public interface IIrqLine
{
    void Set(bool level);
}
