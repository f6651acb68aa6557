namespace Vmi.Cpu.Tests.Differential;

/// <summary>ADD OR ADC SBB AND SUB XOR CMP TEST INC DEC NEG NOT in every encoding: the emulator against the host CPU.</summary>
public sealed class AluDifferentialTests
{
    private static IEmulatedExecutor Emulator => new EmulatorExecutor();

    public static TheoryData<string> Forms => InstructionCatalog.Forms(InstructionFamily.Alu);

    [NativeTheory]
    [MemberData(nameof(Forms))]
    public void Matches_the_host_cpu(string form) => DifferentialRunner.Run(form, Emulator);
}
