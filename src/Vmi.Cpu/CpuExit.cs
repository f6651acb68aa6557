namespace Vmi.Cpu;

/// <summary>Why <see cref="Cpu.Run"/> returned.</summary>
public enum CpuExitReason : byte
{
    /// <summary>
    /// The instruction budget given to Run was used up (exactly); or, with fewer retired, the guest
    /// spent a long run of exception deliveries without retiring anything (a fault loop) and Run
    /// gives its caller control back. Either way, calling Run again simply continues.
    /// </summary>
    InstructionLimit,

    /// <summary>HLT with no interrupt to wake the CPU: the board advances time and calls Run again.</summary>
    Halted,

    /// <summary>The board asked to stop (e.g. the debug-exit port).</summary>
    StopRequested,

    /// <summary>A fault while delivering a double fault: on a PC this resets the machine; we stop with a diagnostic.</summary>
    TripleFault,

    /// <summary>The guest used a feature this CPU model does not implement (task gates, V86...).</summary>
    Unsupported,

    /// <summary>A hypervisor's intercept asked to stop.</summary>
    InterceptStop,
}

public readonly record struct CpuExit(CpuExitReason Reason, string? Detail);
