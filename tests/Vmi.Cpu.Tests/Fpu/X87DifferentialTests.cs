namespace Vmi.Cpu.Tests.Fpu;

/// <summary>
/// Every x87 instruction form of <see cref="X87Catalog"/> run on random operands by the host's x87
/// and by the emulator's, compared bit for bit (<see cref="X87Comparer"/> says what is compared).
/// <c>VMI_X87_CASES</c> sets the number of cases per instruction (default 2000).
/// </summary>
public sealed class X87DifferentialTests
{
    public static int CasesPerInstruction =>
        int.TryParse(Environment.GetEnvironmentVariable("VMI_X87_CASES"), out int n) && n > 0 ? n : 2000;

    /// <summary>How many differing cases a failure lists (<c>VMI_X87_SHOW</c>, default 12).</summary>
    public static int DifferencesShown =>
        int.TryParse(Environment.GetEnvironmentVariable("VMI_X87_SHOW"), out int n) && n > 0 ? n : 12;

    public static TheoryData<string> Instructions => X87Catalog.Names();

    [X87OracleTheory]
    [MemberData(nameof(Instructions))]
    public void Matches_the_host_x87(string name)
    {
        X87Instruction instruction = X87Catalog.Find(name);
        List<X87Case> cases = X87CaseBuilder.Build(instruction, CasesPerInstruction, X87CaseBuilder.Seed(name));
        AssertEmulationMatchesHost(instruction, cases);
    }

    /// <summary>Runs <paramref name="cases"/> on the host's x87 and on the emulator; fails listing the first differences.</summary>
    internal static void AssertEmulationMatchesHost(X87Instruction instruction, List<X87Case> cases)
    {
        X87Result[] expected = X87Oracle.Run(cases);
        var differences = new List<string>();
        int failures = 0;
        for (int i = 0; i < cases.Count; i++)
        {
            string? d = X87Comparer.Difference(instruction, cases[i], expected[i], X87Emulation.Run(cases[i]));
            if (d is null) continue;
            failures++;
            if (differences.Count < DifferencesShown) differences.Add(d);
        }
        Assert.True(failures == 0, $"{failures} of {cases.Count} cases differ from the host:\n{string.Join('\n', differences)}");
    }
}
