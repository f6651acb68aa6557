namespace Vmi.Machine.Devices;

/// <summary>
/// National/TI 16550A UART. Register offsets 0–7 from the base port; DLAB (LCR bit 7) maps the divisor
/// latch over offsets 0 and 1.
/// </summary>
/// <remarks>
/// <para>There is no baud-rate timing: a byte written to THR is transmitted at once, so THRE and TEMT are
/// always set and the divisor only reads back. Received bytes sit in the 16-byte chip FIFO (1 byte deep
/// with FIFOs off); <see cref="EnqueueInput"/> feeds an unbounded host-side queue that tops the FIFO up
/// whenever the guest drains it, so host input is never overrun. Overrun can still happen in loopback,
/// where the guest itself is the sender.</para>
/// <para>With FIFOs on and fewer bytes than the trigger level, IIR reports the character-timeout interrupt
/// straight away: without character timing the four-character timeout has always already expired.</para>
/// <para>The modem lines outside loopback look like a connected null modem (CTS, DSR, DCD high, as QEMU
/// reports). MCR.OUT2 does not gate the interrupt (PC boards route INTR through it; QEMU and kvmtool
/// ignore that too, and guests written against them may not set it).</para>
/// <para>Not thread-safe: call <see cref="EnqueueInput"/> from the guest thread, between blocks.</para>
/// </remarks>
public sealed class Uart16550 : IPortDevice
{
    private const int RegData = 0;        // RBR (read) / THR (write); DLL when DLAB=1
    private const int RegIer = 1;         // DLM when DLAB=1
    private const int RegIirFcr = 2;      // IIR (read) / FCR (write)
    private const int RegLcr = 3;
    private const int RegMcr = 4;
    private const int RegLsr = 5;
    private const int RegMsr = 6;
    private const int RegScr = 7;

    private const byte IerRxData = 0x01;      // ERBFI
    private const byte IerThrEmpty = 0x02;    // ETBEI
    private const byte IerLineStatus = 0x04;  // ELSI
    private const byte IerModemStatus = 0x08; // EDSSI
    private const byte IerWritableMask = 0x0F; // bits 4–7 are always 0 on the 16550

    private const byte IirNoInterrupt = 0x01;
    private const byte IirModemStatus = 0x00;
    private const byte IirThrEmpty = 0x02;
    private const byte IirRxData = 0x04;
    private const byte IirLineStatus = 0x06;
    private const byte IirCharTimeout = 0x0C;
    private const byte IirFifosEnabled = 0xC0;

    private const byte FcrEnable = 0x01;
    private const byte FcrClearRx = 0x02;
    private const byte FcrStoredMask = 0xC9; // enable, DMA mode, trigger level; the clear bits self-reset

    private const byte LcrDlab = 0x80;

    private const byte McrDtr = 0x01;
    private const byte McrRts = 0x02;
    private const byte McrOut1 = 0x04;
    private const byte McrOut2 = 0x08;
    private const byte McrLoopback = 0x10;
    private const byte McrWritableMask = 0x1F;

    private const byte LsrDataReady = 0x01;
    private const byte LsrOverrun = 0x02;
    private const byte LsrErrorMask = 0x1E; // OE, PE, FE, BI: the line-status interrupt sources
    private const byte LsrThrEmpty = 0x20;
    private const byte LsrTransmitterEmpty = 0x40;

    private const byte MsrDeltaCts = 0x01;
    private const byte MsrDeltaDsr = 0x02;
    private const byte MsrTrailingEdgeRi = 0x04;
    private const byte MsrDeltaDcd = 0x08;
    private const byte MsrDeltaMask = 0x0F;
    private const byte MsrCts = 0x10;
    private const byte MsrDsr = 0x20;
    private const byte MsrRi = 0x40;
    private const byte MsrDcd = 0x80;
    private const byte NullModemLines = MsrCts | MsrDsr | MsrDcd;

    private const int ChipFifoDepth = 16;
    private static ReadOnlySpan<byte> TriggerLevels => [1, 4, 8, 14];

    private readonly Stream _output;
    private readonly IIrqLine _irq;
    private readonly byte[] _rxFifo = new byte[ChipFifoDepth];
    private readonly Queue<byte> _hostInput = new();

    private int _rxHead;
    private int _rxCount;
    private byte _lastRbr;
    private byte _ier;
    private byte _fcr;
    private byte _lcr;
    private byte _mcr;
    private byte _lsrErrors;
    private byte _msr = NullModemLines;
    private byte _scr;
    private byte _dll = 0x0C; // 9600 baud, what QEMU resets to; the chip's power-on divisor is undefined
    private byte _dlm;
    private bool _thrInterruptPending;
    private bool _irqLevel;

    public Uart16550(Stream output, IIrqLine irq)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(irq);
        _output = output;
        _irq = irq;
    }

    /// <summary>Bytes transmitted to the output stream (loopback bytes excluded).</summary>
    public long BytesWritten { get; private set; }

    public long MissedAccessCount { get; private set; }

    /// <summary>Host stream writes that failed with <see cref="IOException"/> (e.g. a closed pipe); the bytes
    /// are dropped rather than letting a host problem escape into the guest's run.</summary>
    public long OutputErrorCount { get; private set; }

    /// <summary>Bytes queued on the host side that have not reached the chip FIFO yet.</summary>
    public int PendingInputCount => _hostInput.Count;

    /// <summary>The guest enabled the received-data interrupt (IER.ERBFI): host input can raise IRQ4.</summary>
    public bool ReceiveInterruptEnabled => (_ier & IerRxData) != 0;

    public ushort Divisor => (ushort)(_dll | (_dlm << 8));

    private bool Dlab => (_lcr & LcrDlab) != 0;

    private bool Loopback => (_mcr & McrLoopback) != 0;

    private bool FifosEnabled => (_fcr & FcrEnable) != 0;

    private int FifoDepth => FifosEnabled ? ChipFifoDepth : 1;

    public void EnqueueInput(ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            _hostInput.Enqueue(b);
        }

        RefillFromHost();
        UpdateIrq();
    }

    /// <summary>Flushes the output stream; also done at every '\n' so console output streams live.
    /// Bytes go to the stream one at a time, so wrap an unbuffered stream (the console) in a
    /// <see cref="BufferedStream"/>.</summary>
    public void Flush()
    {
        try
        {
            _output.Flush();
        }
        catch (IOException)
        {
            OutputErrorCount++;
        }
    }

    public uint Read(ushort offset, int size)
    {
        if (size != 1)
        {
            MissedAccessCount++;
            return IoBus.AllOnes(size);
        }

        switch (offset)
        {
            case RegData:
                return Dlab ? _dll : ReadRbr();
            case RegIer:
                return Dlab ? _dlm : _ier;
            case RegIirFcr:
                return ReadIir();
            case RegLcr:
                return _lcr;
            case RegMcr:
                return _mcr;
            case RegLsr:
                return ReadLsr();
            case RegMsr:
                return ReadMsr();
            case RegScr:
                return _scr;
            default:
                MissedAccessCount++;
                return 0xFF;
        }
    }

    public void Write(ushort offset, int size, uint value)
    {
        if (size != 1)
        {
            MissedAccessCount++;
            return;
        }

        byte v = (byte)value;
        switch (offset)
        {
            case RegData:
                if (Dlab)
                {
                    _dll = v;
                }
                else
                {
                    WriteThr(v);
                }

                break;
            case RegIer:
                if (Dlab)
                {
                    _dlm = v;
                }
                else
                {
                    WriteIer(v);
                }

                break;
            case RegIirFcr:
                WriteFcr(v);
                break;
            case RegLcr:
                _lcr = v;
                break;
            case RegMcr:
                WriteMcr(v);
                break;
            case RegLsr:
            case RegMsr:
                // Factory-test writes on the real chip; ignored.
                break;
            case RegScr:
                _scr = v;
                break;
            default:
                MissedAccessCount++;
                break;
        }
    }

    private byte ReadRbr()
    {
        if (_rxCount > 0)
        {
            _lastRbr = _rxFifo[_rxHead];
            _rxHead = (_rxHead + 1) % ChipFifoDepth;
            _rxCount--;
            RefillFromHost();
            UpdateIrq();
        }

        // An empty receiver returns the last character again.
        return _lastRbr;
    }

    private byte ReadIir()
    {
        byte id = CurrentInterrupt();
        if (id == IirThrEmpty)
        {
            // Datasheet: reading IIR clears the THRE interrupt if it is the source being reported.
            _thrInterruptPending = false;
            UpdateIrq();
        }

        return (byte)(id | (FifosEnabled ? IirFifosEnabled : 0));
    }

    private byte ReadLsr()
    {
        byte lsr = (byte)((_rxCount > 0 ? LsrDataReady : 0) | _lsrErrors | LsrThrEmpty | LsrTransmitterEmpty);
        if (_lsrErrors != 0)
        {
            // Error bits latch until LSR is read.
            _lsrErrors = 0;
            UpdateIrq();
        }

        return lsr;
    }

    private byte ReadMsr()
    {
        byte msr = _msr;
        if ((_msr & MsrDeltaMask) != 0)
        {
            _msr &= unchecked((byte)~MsrDeltaMask);
            UpdateIrq();
        }

        return msr;
    }

    private void WriteThr(byte v)
    {
        // Writing THR clears the THRE interrupt; the byte then leaves THR at once, THR is empty again and
        // the interrupt re-arms. The line therefore drops and rises, giving the PIC a fresh edge per byte
        // as the chip does one character time later.
        _thrInterruptPending = false;
        UpdateIrq();
        if (Loopback)
        {
            Receive(v);
        }
        else
        {
            Transmit(v);
        }

        _thrInterruptPending = true;
        UpdateIrq();
    }

    private void WriteIer(byte v)
    {
        byte old = _ier;
        _ier = (byte)(v & IerWritableMask);
        if ((old & IerThrEmpty) == 0 && (_ier & IerThrEmpty) != 0)
        {
            // Enabling ETBEI while THR is empty (always, here) raises the THRE interrupt immediately;
            // Linux's 8250 driver relies on this when it starts transmitting.
            _thrInterruptPending = true;
        }

        UpdateIrq();
    }

    private void WriteFcr(byte v)
    {
        bool enable = (v & FcrEnable) != 0;
        if (enable != FifosEnabled || (enable && (v & FcrClearRx) != 0))
        {
            // Toggling FIFO mode clears both FIFOs; the transmitter has nothing buffered to clear.
            _rxHead = 0;
            _rxCount = 0;
        }

        // Datasheet: FCR bit 0 must be set for the other bits to be programmed.
        _fcr = enable ? (byte)(v & FcrStoredMask) : (byte)0;
        RefillFromHost();
        UpdateIrq();
    }

    private void WriteMcr(byte v)
    {
        bool wasLoopback = Loopback;
        _mcr = (byte)(v & McrWritableMask);
        byte lines = Loopback ? LoopbackModemLines(_mcr) : NullModemLines;
        byte changed = (byte)((_msr ^ lines) & ~MsrDeltaMask);
        byte deltas = 0;
        if ((changed & MsrCts) != 0)
        {
            deltas |= MsrDeltaCts;
        }

        if ((changed & MsrDsr) != 0)
        {
            deltas |= MsrDeltaDsr;
        }

        if ((changed & MsrRi) != 0 && (lines & MsrRi) == 0)
        {
            deltas |= MsrTrailingEdgeRi; // TERI: only the high-to-low edge of RI counts
        }

        if ((changed & MsrDcd) != 0)
        {
            deltas |= MsrDeltaDcd;
        }

        _msr = (byte)(lines | (_msr & MsrDeltaMask) | deltas);
        if (wasLoopback && !Loopback)
        {
            RefillFromHost();
        }

        UpdateIrq();
    }

    // Loopback wires the modem outputs to the inputs: DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD.
    private static byte LoopbackModemLines(byte mcr) => (byte)(
        ((mcr & McrDtr) != 0 ? MsrDsr : 0)
        | ((mcr & McrRts) != 0 ? MsrCts : 0)
        | ((mcr & McrOut1) != 0 ? MsrRi : 0)
        | ((mcr & McrOut2) != 0 ? MsrDcd : 0));

    private void Transmit(byte v)
    {
        BytesWritten++;
        try
        {
            _output.Write(new ReadOnlySpan<byte>(in v));
            if (v == (byte)'\n')
            {
                _output.Flush();
            }
        }
        catch (IOException)
        {
            OutputErrorCount++;
        }
    }

    private void Receive(byte v)
    {
        if (_rxCount < FifoDepth)
        {
            _rxFifo[(_rxHead + _rxCount) % ChipFifoDepth] = v;
            _rxCount++;
            return;
        }

        _lsrErrors |= LsrOverrun;
        if (!FifosEnabled)
        {
            // Non-FIFO mode: the new character overwrites the unread one in RBR. In FIFO mode the
            // character in the shift register is the one lost and the FIFO is kept.
            _rxFifo[_rxHead] = v;
        }
    }

    private void RefillFromHost()
    {
        if (Loopback)
        {
            return; // Loopback disconnects the serial input.
        }

        while (_rxCount < FifoDepth && _hostInput.Count > 0)
        {
            Receive(_hostInput.Dequeue());
        }
    }

    /// <summary>The IIR interrupt ID by the chip's fixed priority: line status, then received data
    /// (or character timeout), then THR empty, then modem status.</summary>
    private byte CurrentInterrupt()
    {
        if ((_ier & IerLineStatus) != 0 && (_lsrErrors & LsrErrorMask) != 0)
        {
            return IirLineStatus;
        }

        if ((_ier & IerRxData) != 0 && _rxCount > 0)
        {
            int trigger = FifosEnabled ? TriggerLevels[_fcr >> 6] : 1;
            return _rxCount >= trigger ? IirRxData : IirCharTimeout;
        }

        if ((_ier & IerThrEmpty) != 0 && _thrInterruptPending)
        {
            return IirThrEmpty;
        }

        if ((_ier & IerModemStatus) != 0 && (_msr & MsrDeltaMask) != 0)
        {
            return IirModemStatus;
        }

        return IirNoInterrupt;
    }

    private void UpdateIrq()
    {
        bool level = CurrentInterrupt() != IirNoInterrupt;
        if (level != _irqLevel)
        {
            _irqLevel = level;
            _irq.Set(level);
        }
    }
}
