using Vmi.Cpu;

namespace Vmi.Machine.Diagnostics;

/// <summary>
/// Records (retired instruction count, vector) for every external interrupt the CPU delivers, by
/// watching the CPU's event seam without changing anything (it acknowledges and injects each
/// interrupt exactly as the CPU would have). It is how the tests prove that interrupts land at the same instruction whatever the
/// slice size, tracing or debugger stepping. It occupies <see cref="Vmi.Cpu.Cpu.Intercepts"/>, so
/// it cannot be attached together with a hypervisor backend.
/// </summary>
public sealed class InterruptLog : ICpuIntercepts
{
    public List<(long Instructions, int Vector)> Delivered { get; } = [];

    /// <summary>Attaches a new log to <paramref name="cpu"/>.</summary>
    public static InterruptLog Attach(Vmi.Cpu.Cpu cpu)
    {
        if (cpu.Intercepts is not null)
        {
            throw new InvalidOperationException("the CPU's event seam is already taken (a hypervisor is attached)");
        }
        var log = new InterruptLog();
        cpu.Intercepts = log;
        return log;
    }

    public InterceptAction OnInstruction(Vmi.Cpu.Cpu cpu, in SensitiveEvent e) => InterceptAction.Default;

    public InterceptAction OnException(Vmi.Cpu.Cpu cpu, ref ExceptionEvent e) => InterceptAction.Default;

    /// <summary>Acknowledges the interrupt itself to learn its vector, then has the CPU deliver it at once.</summary>
    public InterceptAction OnExternalInterrupt(Vmi.Cpu.Cpu cpu)
    {
        byte vector = cpu.Platform.AcknowledgeInterrupt();
        Delivered.Add((cpu.InstructionsRetired, vector));
        cpu.InjectInterrupt(vector);
        return InterceptAction.Skip;
    }
}
