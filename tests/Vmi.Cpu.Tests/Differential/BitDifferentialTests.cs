namespace Vmi.Cpu.Tests.Differential;

/// <summary>BT BTS BTR BTC with register and imm8 offsets, BSF BSR, BSWAP: the emulator against the host CPU.</summary>
public sealed class BitDifferentialTests
{
    private static IEmulatedExecutor Emulator => new EmulatorExecutor();

    public static TheoryData<string> Forms => InstructionCatalog.Forms(InstructionFamily.Bit);

    [NativeTheory]
    [MemberData(nameof(Forms))]
    public void Matches_the_host_cpu(string form) => DifferentialRunner.Run(form, Emulator);
}
