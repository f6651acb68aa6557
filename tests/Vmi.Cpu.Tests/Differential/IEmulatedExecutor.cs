namespace Vmi.Cpu.Tests.Differential;

/// <summary>
/// Runs one instruction on vmi's own CPU in 32-bit protected mode. The differential tests feed it exactly what
/// they feed <see cref="NativeOracle"/>: the input EFLAGS carries CF PF AF ZF SF OF and DF (plus bit 1), and
/// only those seven bits and EAX..EDI of the result are compared.
/// </summary>
public interface IEmulatedExecutor
{
    RegisterFile Execute(ReadOnlySpan<byte> instruction32, in RegisterFile input);
}
