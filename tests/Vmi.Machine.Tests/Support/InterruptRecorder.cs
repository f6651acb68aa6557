using Vmi.Cpu;

namespace Vmi.Machine.Tests.Support;

/// <summary>
/// Watches the CPU's event seam and records (retired instruction count, vector) for every external
/// interrupt it delivers; it changes nothing (every answer is "do what the hardware does").
/// </summary>
internal sealed class InterruptRecorder : ICpuIntercepts
{
    public List<(long Instructions, int Vector)> Delivered { get; } = [];

    public InterceptAction OnInstruction(Vmi.Cpu.Cpu cpu, in SensitiveEvent e) => InterceptAction.Default;

    public InterceptAction OnException(Vmi.Cpu.Cpu cpu, ref ExceptionEvent e)
    {
        if (e.Source == InterruptSource.External)
        {
            Delivered.Add((cpu.InstructionsRetired, e.Vector));
        }
        return InterceptAction.Default;
    }
}
