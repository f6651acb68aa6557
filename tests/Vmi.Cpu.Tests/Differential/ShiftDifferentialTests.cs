namespace Vmi.Cpu.Tests.Differential;

/// <summary>ROL ROR RCL RCR SHL SHR SAR by 1, CL and imm8; SHLD SHRD by imm8 and CL: the emulator against the host CPU.</summary>
public sealed class ShiftDifferentialTests
{
    private static IEmulatedExecutor Emulator => new EmulatorExecutor();

    public static TheoryData<string> Forms => InstructionCatalog.Forms(InstructionFamily.Shift);

    [NativeTheory]
    [MemberData(nameof(Forms))]
    public void Matches_the_host_cpu(string form) => DifferentialRunner.Run(form, Emulator);
}
