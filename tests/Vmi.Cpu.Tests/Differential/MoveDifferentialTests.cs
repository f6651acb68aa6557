namespace Vmi.Cpu.Tests.Differential;

/// <summary>SETcc CMOVcc XADD CMPXCHG XCHG MOVZX MOVSX CBW CWDE CWD CDQ LAHF SAHF CMC CLC STC LEA: the emulator against the host CPU.</summary>
public sealed class MoveDifferentialTests
{
    private static IEmulatedExecutor Emulator => new EmulatorExecutor();

    public static TheoryData<string> Forms => InstructionCatalog.Forms(InstructionFamily.Move);

    [NativeTheory]
    [MemberData(nameof(Forms))]
    public void Matches_the_host_cpu(string form) => DifferentialRunner.Run(form, Emulator);
}
