namespace Vmi.Cpu.Tests.Differential;

/// <summary>MUL, IMUL with one, two and three operands, DIV, IDIV (never with inputs that raise #DE): the emulator against the host CPU.</summary>
public sealed class MulDivDifferentialTests
{
    private static IEmulatedExecutor Emulator => new EmulatorExecutor();

    public static TheoryData<string> Forms => InstructionCatalog.Forms(InstructionFamily.MulDiv);

    [NativeTheory]
    [MemberData(nameof(Forms))]
    public void Matches_the_host_cpu(string form) => DifferentialRunner.Run(form, Emulator);
}
