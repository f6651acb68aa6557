namespace Vmi.Machine.Devices;

/// <summary>
/// One Intel 8259A programmable interrupt controller, in x86 (8086) mode. Offset 0 is the A0=0 port
/// (ICW1, OCW2, OCW3; reads IRR/ISR or the poll word), offset 1 the A0=1 port (ICW2–ICW4 during
/// initialisation, otherwise OCW1 = IMR).
/// </summary>
/// <remarks>
/// <para>Priority resolution, rotation and special masks follow QEMU's <c>i8259.c</c> (<c>priority_add</c>);
/// all OCW2 commands are implemented, including rotation.</para>
/// <para>Edge-triggered inputs behave like the chip's edge-sense latch: a low-to-high transition sets IRR,
/// and a request whose input drops again before INTA is forgotten (datasheet: the IR input must stay high
/// until the first INTA, otherwise a default IR7 is generated). That is how the spurious IR7 arises; see
/// <see cref="DualPic.Acknowledge"/>. Level-triggered mode (ICW1.LTIM) is also supported.</para>
/// <para>Not modelled: MCS-80/85 mode (ICW4.µPM = 0 is treated as x86 mode), buffered mode, and INT held
/// during polling. While an initialisation sequence is in progress the chip raises no INT.</para>
/// </remarks>
public sealed class Pic8259 : IPortDevice
{
    private const int CommandOffset = 0;
    private const int DataOffset = 1;

    private const byte Icw1Ic4 = 0x01;          // ICW4 will follow
    private const byte Icw1Single = 0x02;       // SNGL: no ICW3, no slaves
    private const byte Icw1LevelTriggered = 0x08; // LTIM
    private const byte Icw1Select = 0x10;       // D4=1 on the A0=0 port marks ICW1
    private const byte Icw2VectorMask = 0xF8;   // T7–T3; the chip supplies the low three bits
    private const byte Icw4AutoEoi = 0x02;
    private const byte Icw4SpecialFullyNested = 0x10;

    private const byte Ocw3Select = 0x08;       // D4=0, D3=1 marks OCW3 (D4=0, D3=0 is OCW2)
    private const byte Ocw3ReadIsr = 0x01;      // RIS
    private const byte Ocw3ReadRegister = 0x02; // RR: RIS is valid
    private const byte Ocw3Poll = 0x04;
    private const byte Ocw3SetSpecialMask = 0x20; // SMM
    private const byte Ocw3EnableSpecialMask = 0x40; // ESMM: SMM is valid
    private const byte PollInterruptPresent = 0x80;

    // OCW2 R SL EOI, bits 7–5.
    private const int Ocw2RotateAutoEoiClear = 0;
    private const int Ocw2NonSpecificEoi = 1;
    private const int Ocw2NoOperation = 2;
    private const int Ocw2SpecificEoi = 3;
    private const int Ocw2RotateAutoEoiSet = 4;
    private const int Ocw2RotateNonSpecificEoi = 5;
    private const int Ocw2SetPriority = 6;
    private const int Ocw2RotateSpecificEoi = 7;

    private const int NoIrq = -1;
    private const int NoPriority = 8;

    private readonly IIrqLine? _intOutput;
    private readonly bool _isMaster;
    private readonly InputLine[] _inputs = new InputLine[8];

    private byte _irr;
    private byte _isr;
    private byte _imr = 0xFF; // Bochs powers up fully masked; the chip's power-on IMR is undefined
    private byte _lines;      // current level of each IR input, for edge detection
    private byte _vectorBase;
    private byte _icw3;
    private int _priorityAdd; // IR level that currently has the highest priority (0 unless rotated)
    private InitStep _initStep;
    private bool _single;
    private bool _expectIcw4;
    private bool _levelTriggered;
    private bool _autoEoi;
    private bool _rotateOnAutoEoi;
    private bool _specialFullyNested;
    private bool _specialMask;
    private bool _readIsr;
    private bool _pollPending;
    private bool _int;

    /// <param name="intOutput">Receives the chip's INT pin; on a slave this is the master's cascade input.</param>
    /// <param name="isMaster">Only the master honours special fully nested mode's exemption of slave inputs.</param>
    public Pic8259(IIrqLine? intOutput = null, bool isMaster = true)
    {
        _intOutput = intOutput;
        _isMaster = isMaster;
        for (int i = 0; i < _inputs.Length; i++)
        {
            _inputs[i] = new InputLine(this, i);
        }
    }

    private enum InitStep : byte
    {
        Ready,
        Icw2,
        Icw3,
        Icw4,
    }

    public long MissedAccessCount { get; private set; }

    /// <summary>The INT pin: an unmasked request outranks everything in service.</summary>
    public bool InterruptOutput => _int;

    public byte Irr => _irr;

    public byte Isr => _isr;

    public byte Imr => _imr;

    public byte VectorBase => _vectorBase;

    public bool IsInitializing => _initStep != InitStep.Ready;

    /// <summary>True when ICW3 told this (master) chip that a slave hangs off input <paramref name="irq"/>.</summary>
    public bool HasSlaveOn(int irq) => !_single && _isMaster && (_icw3 & (1 << irq)) != 0;

    public IIrqLine GetInput(int irq)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(irq);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(irq, 7);
        return _inputs[irq];
    }

    public void SetInput(int irq, bool level)
    {
        byte mask = (byte)(1 << (irq & 7));
        if (level)
        {
            if ((_lines & mask) == 0 || _levelTriggered)
            {
                _irr |= mask;
            }

            _lines |= mask;
        }
        else
        {
            _lines &= (byte)~mask;
            _irr &= (byte)~mask;
        }

        Update();
    }

    /// <summary>The IR level this chip would answer INTA with, or -1 (QEMU <c>pic_get_irq</c>).</summary>
    public int GetPendingIrq()
    {
        if (_initStep != InitStep.Ready)
        {
            return NoIrq;
        }

        int priority = PriorityOf(_irr & ~_imr);
        if (priority == NoPriority)
        {
            return NoIrq;
        }

        int inService = _isr;
        if (_specialMask)
        {
            // Special mask mode: a masked level no longer blocks lower ones.
            inService &= ~_imr;
        }

        if (_specialFullyNested && _isMaster)
        {
            // A slave in service must not block a higher-priority request from the same slave.
            inService &= ~_icw3;
        }

        return priority < PriorityOf(inService) ? (priority + _priorityAdd) & 7 : NoIrq;
    }

    /// <summary>The INTA cycle for <paramref name="irq"/> on this chip: moves the request into service (unless
    /// auto-EOI) and clears its edge latch (level requests stay while the input is high).</summary>
    public void AcknowledgeIrq(int irq)
    {
        byte mask = (byte)(1 << (irq & 7));
        if (_autoEoi)
        {
            if (_rotateOnAutoEoi)
            {
                _priorityAdd = (irq + 1) & 7;
            }
        }
        else
        {
            _isr |= mask;
        }

        if (!_levelTriggered)
        {
            _irr &= (byte)~mask;
        }

        Update();
    }

    public uint Read(ushort offset, int size)
    {
        if (size != 1)
        {
            MissedAccessCount++;
            return IoBus.AllOnes(size);
        }

        if (_pollPending)
        {
            // The read after an OCW3 poll command is the poll word on either port, and acts as INTA.
            _pollPending = false;
            int irq = GetPendingIrq();
            if (irq == NoIrq)
            {
                return 0;
            }

            AcknowledgeIrq(irq);
            return (uint)(PollInterruptPresent | irq);
        }

        return (offset & 1) == CommandOffset ? (_readIsr ? _isr : _irr) : _imr;
    }

    public void Write(ushort offset, int size, uint value)
    {
        if (size != 1)
        {
            MissedAccessCount++;
            return;
        }

        byte v = (byte)value;
        if ((offset & 1) == DataOffset)
        {
            WriteData(v);
        }
        else if ((v & Icw1Select) != 0)
        {
            WriteIcw1(v);
        }
        else if ((v & Ocw3Select) != 0)
        {
            WriteOcw3(v);
        }
        else
        {
            WriteOcw2(v);
        }
    }

    private void WriteIcw1(byte v)
    {
        // Datasheet ICW1 side effects: edge sense reset (an input already high must go low and high again;
        // _lines is kept, so that is automatic), IMR cleared, IR7 lowest priority, special mask off,
        // status read set to IRR, and every ICW4 function zero unless ICW4 follows.
        _expectIcw4 = (v & Icw1Ic4) != 0;
        _single = (v & Icw1Single) != 0;
        _levelTriggered = (v & Icw1LevelTriggered) != 0;
        _imr = 0;
        _isr = 0;
        _irr = _levelTriggered ? _lines : (byte)0;
        _icw3 = 0;
        _priorityAdd = 0;
        _specialMask = false;
        _readIsr = false;
        _pollPending = false;
        _autoEoi = false;
        _rotateOnAutoEoi = false;
        _specialFullyNested = false;
        _initStep = InitStep.Icw2;
        Update();
    }

    private void WriteData(byte v)
    {
        switch (_initStep)
        {
            case InitStep.Icw2:
                _vectorBase = (byte)(v & Icw2VectorMask);
                _initStep = !_single ? InitStep.Icw3 : _expectIcw4 ? InitStep.Icw4 : InitStep.Ready;
                break;
            case InitStep.Icw3:
                // Master: bit mask of inputs with slaves. Slave: its cascade ID (only used on a real cascade bus).
                _icw3 = v;
                _initStep = _expectIcw4 ? InitStep.Icw4 : InitStep.Ready;
                break;
            case InitStep.Icw4:
                _autoEoi = (v & Icw4AutoEoi) != 0;
                _specialFullyNested = (v & Icw4SpecialFullyNested) != 0;
                _initStep = InitStep.Ready;
                break;
            default:
                _imr = v;
                break;
        }

        Update();
    }

    private void WriteOcw2(byte v)
    {
        int level = v & 7;
        switch (v >> 5)
        {
            case Ocw2RotateAutoEoiClear:
                _rotateOnAutoEoi = false;
                break;
            case Ocw2RotateAutoEoiSet:
                _rotateOnAutoEoi = true;
                break;
            case Ocw2NonSpecificEoi:
            case Ocw2RotateNonSpecificEoi:
                int priority = PriorityOf(_isr);
                if (priority != NoPriority)
                {
                    int irq = (priority + _priorityAdd) & 7;
                    _isr &= (byte)~(1 << irq);
                    if (v >> 5 == Ocw2RotateNonSpecificEoi)
                    {
                        _priorityAdd = (irq + 1) & 7;
                    }
                }

                break;
            case Ocw2SpecificEoi:
                _isr &= (byte)~(1 << level);
                break;
            case Ocw2RotateSpecificEoi:
                _isr &= (byte)~(1 << level);
                _priorityAdd = (level + 1) & 7;
                break;
            case Ocw2SetPriority:
                // L2–L0 names the level that becomes lowest priority.
                _priorityAdd = (level + 1) & 7;
                break;
            case Ocw2NoOperation:
                break;
        }

        Update();
    }

    private void WriteOcw3(byte v)
    {
        if ((v & Ocw3EnableSpecialMask) != 0)
        {
            _specialMask = (v & Ocw3SetSpecialMask) != 0;
        }

        if ((v & Ocw3ReadRegister) != 0)
        {
            _readIsr = (v & Ocw3ReadIsr) != 0;
        }

        // The poll command overrides the register select for the next read only.
        _pollPending = (v & Ocw3Poll) != 0;
        Update();
    }

    /// <summary>Distance in priority order from the highest-priority level to the first set bit of
    /// <paramref name="mask"/>, or 8 if none (QEMU <c>get_priority</c>).</summary>
    private int PriorityOf(int mask)
    {
        if ((mask & 0xFF) == 0)
        {
            return NoPriority;
        }

        int priority = 0;
        while ((mask & (1 << ((priority + _priorityAdd) & 7))) == 0)
        {
            priority++;
        }

        return priority;
    }

    private void Update()
    {
        bool level = GetPendingIrq() != NoIrq;
        if (level != _int)
        {
            _int = level;
            _intOutput?.Set(level);
        }
    }

    private sealed class InputLine(Pic8259 pic, int irq) : IIrqLine
    {
        public void Set(bool level) => pic.SetInput(irq, level);
    }
}
