using Vmi.Cpu;
using Vmi.Machine.Devices;
using Vmi.Machine.Time;

namespace Vmi.Machine;

/// <summary>
/// The PC around the CPU: the port bus and the legacy devices. This is the only file that knows
/// port numbers and IRQ wiring (Firecracker's device_manager/legacy.rs).
/// </summary>
public sealed class Board : ICpuPlatform
{
    public const ushort Com1Port = 0x3F8;
    public const int Com1Irq = 4;
    public const ushort DebugExitIoBase = 0xF4;
    public const ushort RtcPort = 0x70;
    public const int RtcIrq = 8;

    private readonly Vmi.Cpu.Cpu cpu;

    public Board(Vmi.Cpu.Cpu cpu, GuestClock clock, TimerQueue timers, Stream serialOutput, DateTime? rtcStart = null)
    {
        this.cpu = cpu;
        Clock = clock;
        Timers = timers;
        Bus = new IoBus();
        Pic = new DualPic();
        Pic.PendingChanged += () => cpu.InterruptLine = Pic.HasPendingInterrupt;
        Pit = new Pit8254(clock, timers, Pic.GetLine(0));
        Uart = new Uart16550(serialOutput, Pic.GetLine(Com1Irq));
        Rtc = new Mc146818Rtc(clock, timers, Pic.GetLine(RtcIrq), rtcStart ?? VmConfig.DefaultRtcStart);
        // CMOS as a BIOS leaves it; the coprocessor bit says what CPUID says (leaf 1 EDX bit 0).
        Vmi.Cpu.Cpu.CpuidOf(cpu.Model, 1, 0, out _, out _, out _, out uint features);
        Rtc.StoreBiosFields(cpu.Memory.RamSize, (features & CpuidBits.Fpu) != 0);
        DebugExit = new DebugExitPort(code =>
        {
            GuestExitCode = code;
            cpu.RequestStop(CpuExitReason.StopRequested, $"guest wrote {(code - 1) >> 1} to the debug-exit port 0x{DebugExitIoBase:X}");
        });

        Bus.Register(0x20, 2, Pic.Master);
        Bus.Register(0xA0, 2, Pic.Slave);
        Bus.Register(0x40, 4, Pit);
        Bus.Register(0x61, 1, new SystemControlPortB(Pit));
        Bus.Register(RtcPort, 2, Rtc);
        Bus.Register(Com1Port, 8, Uart);
        Bus.Register(DebugExitIoBase, 4, DebugExit);
        // Ports guests probe that need no model: POST/delay ports and the fast-A20 gate (A20 is always on).
        Bus.Register(0x80, 1, new NullPort(0xFF, "POST code / I/O delay"));
        Bus.Register(0xED, 1, new NullPort(0xFF, "I/O delay"));
        Bus.Register(0x92, 1, new NullPort(0x02, "fast A20 gate (A20 always enabled)"));
        CoprocessorError = new CoprocessorErrorPort(Pic.GetLine(13), () => cpu.IgnoreNumericErrors = true);
        Bus.Register(0xF0, 1, CoprocessorError);
        cpu.Platform = this;
    }

    /// <summary>FERR# to IRQ 13 and port 0xF0 (IGNNE#): x87 errors the PC/AT way, when CR0.NE = 0.</summary>
    public CoprocessorErrorPort CoprocessorError { get; }

    public void FloatingPointError(bool asserted) => CoprocessorError.FerrChanged(asserted);

    public IoBus Bus { get; }

    public DualPic Pic { get; }

    public Pit8254 Pit { get; }

    public Uart16550 Uart { get; }

    public Mc146818Rtc Rtc { get; }

    public DebugExitPort DebugExit { get; }

    public GuestClock Clock { get; }

    public TimerQueue Timers { get; }

    /// <summary>(v &lt;&lt; 1) | 1 after the guest wrote v to the debug-exit port, as QEMU's isa-debug-exit reports it.</summary>
    public int? GuestExitCode { get; private set; }

    public uint PortRead(ushort port, int size) => Bus.Read(port, size);

    public void PortWrite(ushort port, int size, uint value) => Bus.Write(port, size, value);

    public byte AcknowledgeInterrupt()
    {
        byte vector = (byte)Pic.Acknowledge();
        cpu.InterruptLine = Pic.HasPendingInterrupt;
        return vector;
    }

    public ulong TimestampCounter => (ulong)Clock.Ticks;

    /// <summary>ISA <paramref name="irq"/> can reach the CPU: unmasked at its PIC and, for IRQ 8–15, at the cascade too.</summary>
    public bool IrqUnmasked(int irq) => irq < 8
        ? (Pic.MasterChip.Imr & (1 << irq)) == 0
        : (Pic.SlaveChip.Imr & (1 << (irq - 8))) == 0 && (Pic.MasterChip.Imr & (1 << 2)) == 0;

    /// <summary>A timer interrupt lies ahead for a CPU halted with IF = 1: the PIT is counting towards an edge and IRQ0 is unmasked.</summary>
    public bool TimerCanWake => ((Pit.Channel0Armed || AlarmArmed?.Invoke() == true) && IrqUnmasked(0)) || (Rtc.InterruptArmed && IrqUnmasked(RtcIrq));

    /// <summary>
    /// A hypervisor's alarm wired to IRQ0 (the VMI SetAlarm call) is armed: it wakes a halted CPU
    /// as the PIT would. Null: no such alarm on this machine.
    /// </summary>
    public Func<bool>? AlarmArmed { get; set; }

    /// <summary>Host input would interrupt the CPU: COM1's receive interrupt is enabled and IRQ4 unmasked.</summary>
    public bool HostInputCanWake => Uart.ReceiveInterruptEnabled && IrqUnmasked(Com1Irq);

    /// <summary>Why a CPU halted with IF = 1 can never be woken, for the stop diagnostic.</summary>
    public string WhyNothingCanWake()
    {
        string pit = !Pit.Channel0Armed && AlarmArmed?.Invoke() != true ? "the PIT (IRQ0) is not counting and no hypervisor alarm is armed"
            : !IrqUnmasked(0) ? $"IRQ0 (PIT) is masked at the PIC (IMR 0x{Pic.MasterChip.Imr:X2})"
            : "the PIT can fire";
        string com1 = !Uart.ReceiveInterruptEnabled ? "COM1's receive interrupt is disabled"
            : !IrqUnmasked(Com1Irq) ? "IRQ4 (COM1) is masked at the PIC"
            : "no more host input will arrive";
        string rtc = !Rtc.InterruptArmed ? "the RTC (IRQ8) has no interrupt armed" : "IRQ8 (RTC) is masked at the PIC";
        return $"{pit}; {com1}; {rtc}";
    }
}
