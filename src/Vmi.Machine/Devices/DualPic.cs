namespace Vmi.Machine.Devices;

/// <summary>
/// The PC/AT pair of 8259As: the slave's INT pin drives master input 2, so IRQ 8–15 reach the CPU through
/// master IRQ2. The board registers <see cref="Master"/> at 0x20/2 and <see cref="Slave"/> at 0xA0/2.
/// The CPU asks <see cref="HasPendingInterrupt"/> at block boundaries and, when IF=1, runs
/// <see cref="Acknowledge"/> as its INTA cycle.
/// </summary>
public sealed class DualPic
{
    private const int CascadeIrq = 2;

    // On the AT the ISA bus pin that was IRQ2 on the XT is wired to slave IR1 (IRQ9).
    private const int RedirectedIrq2 = 9;

    private const int SpuriousIrq = 7;

    private readonly Pic8259 _master;
    private readonly Pic8259 _slave;
    private readonly IIrqLine[] _lines = new IIrqLine[16];

    public DualPic()
    {
        _master = new Pic8259(new MasterIntLine(this), isMaster: true);
        _slave = new Pic8259(_master.GetInput(CascadeIrq), isMaster: false);
        for (int i = 0; i < 8; i++)
        {
            _lines[i] = _master.GetInput(i);
            _lines[i + 8] = _slave.GetInput(i);
        }

        _lines[CascadeIrq] = _lines[RedirectedIrq2];
    }

    /// <summary>Raised when the master's INT pin changes, i.e. when <see cref="HasPendingInterrupt"/> may have
    /// changed. Handlers must not re-enter the PIC.</summary>
    public event Action? PendingChanged;

    public IPortDevice Master => _master;

    public IPortDevice Slave => _slave;

    public Pic8259 MasterChip => _master;

    public Pic8259 SlaveChip => _slave;

    /// <summary>The master's INT pin: an unmasked request outranks the levels in service.</summary>
    public bool HasPendingInterrupt => _master.InterruptOutput;

    /// <summary>The wire for ISA <paramref name="irq"/> 0–15. IRQ 2 is the cascade and cannot be driven by a
    /// device; as on the AT, asking for it returns IRQ 9's line.</summary>
    public IIrqLine GetLine(int irq)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(irq);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(irq, 15);
        return _lines[irq];
    }

    /// <summary>
    /// The INTA cycle: returns the vector and updates IRR/ISR on both chips (QEMU <c>pic_read_irq</c>).
    /// If the request vanished before INTA the master answers with its IR7 vector without setting ISR
    /// (a spurious IRQ7); if the master picked the cascade but the slave's request vanished, the slave
    /// answers with its IR7 vector (spurious IRQ15) and the master's IR2 is still put in service, so the
    /// guest must EOI the master only, as on real hardware.
    /// </summary>
    public int Acknowledge()
    {
        int irq = _master.GetPendingIrq();
        if (irq < 0)
        {
            return _master.VectorBase + SpuriousIrq;
        }

        int vector;
        if (_master.HasSlaveOn(irq))
        {
            int slaveIrq = _slave.GetPendingIrq();
            if (slaveIrq >= 0)
            {
                _slave.AcknowledgeIrq(slaveIrq);
            }
            else
            {
                slaveIrq = SpuriousIrq;
            }

            vector = _slave.VectorBase + slaveIrq;
        }
        else
        {
            vector = _master.VectorBase + irq;
        }

        _master.AcknowledgeIrq(irq);
        return vector;
    }

    private sealed class MasterIntLine(DualPic owner) : IIrqLine
    {
        public void Set(bool level) => owner.PendingChanged?.Invoke();
    }
}
