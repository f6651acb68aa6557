using Vmi.Cpu.Fpu;
using Xunit.Abstractions;

namespace Vmi.Cpu.Tests.Fpu;

/// <summary>
/// How closely the transcendental instructions follow the host bit for bit. The differential suite
/// lets their results sit one ulp from the host's (the host's are within 1 ulp, not correctly
/// rounded); this counts how often they are exactly equal, requires a floor per instruction, and
/// proves with a deliberate one-ulp error (<see cref="Rounder.Perturb"/>) that the floor would notice.
/// <c>VMI_X87_CASES</c> sets the number of cases (default 2000).
/// </summary>
public sealed class X87TranscendentalAccuracyTests(ITestOutputHelper output)
{
    /// <summary>The least share of cases (in percent) that must match the host in every bit, C1 included.</summary>
    public static TheoryData<string, int> Floors => new()
    {
        { "f2xm1", 91 },
        { "fyl2x", 94 },
        { "fyl2xp1", 90 },
        { "fptan", 89 },
        { "fpatan", 96 },
        { "fsin", 96 },
        { "fcos", 96 },
        { "fsincos", 95 },
    };

    private readonly record struct Tally(int Exact, int RoundingDirection, int OneUlp, int Different, int Total)
    {
        public double ExactPercent => 100.0 * Exact / Total;

        public override string ToString() =>
            $"{Total} cases: {Exact} exact ({ExactPercent:F2}%), {RoundingDirection} C1 only, {OneUlp} one ulp apart, {Different} different";
    }

    private static Tally Count(X87Instruction instruction, List<X87Case> cases, X87Result[] expected)
    {
        int exact = 0, direction = 0, ulp = 0, different = 0;
        for (int i = 0; i < cases.Count; i++)
        {
            switch (X87Comparer.Compare(instruction, cases[i], expected[i], X87Emulation.Run(cases[i]), out _))
            {
                case X87Match.Exact: exact++; break;
                case X87Match.RoundingDirection: direction++; break;
                case X87Match.WithinOneUlp: ulp++; break;
                default: different++; break;
            }
        }
        return new Tally(exact, direction, ulp, different, cases.Count);
    }

    [X87OracleTheory]
    [MemberData(nameof(Floors))]
    public void Most_results_equal_the_host_in_every_bit(string name, int floorPercent)
    {
        X87Instruction instruction = X87Catalog.Find(name);
        List<X87Case> cases = X87CaseBuilder.Build(instruction, X87DifferentialTests.CasesPerInstruction, X87CaseBuilder.Seed(name) + 3);
        Tally tally = Count(instruction, cases, X87Oracle.Run(cases));
        output.WriteLine($"{name}: {tally}");
        Assert.Equal(0, tally.Different);
        Assert.True(tally.ExactPercent >= floorPercent, $"{name}: {tally}; the floor is {floorPercent}%");
    }

    [X87OracleTheory]
    [InlineData("fsin")]
    [InlineData("fyl2x")]
    [InlineData("fpatan")]
    public void A_one_ulp_error_is_caught(string name)
    {
        X87Instruction instruction = X87Catalog.Find(name);
        List<X87Case> cases = X87CaseBuilder.Build(instruction, 500, X87CaseBuilder.Seed(name) + 5);
        X87Result[] expected = X87Oracle.Run(cases);
        int floor = Floors.First(row => (string)row[0] == name)[1] is int f ? f : 100;
        try
        {
            // One unit in the last place, added to every rounded significand that has room.
            Rounder.Perturb = (kept, lsb) => kept + (UInt128.One << lsb) is var up && up > kept ? up : kept;
            Tally perturbed = Count(instruction, cases, expected);
            output.WriteLine($"{name} perturbed: {perturbed}");
            Assert.True(perturbed.ExactPercent < floor || perturbed.Different > 0, $"a one-ulp error went unnoticed: {perturbed}");
        }
        finally
        {
            Rounder.Perturb = null;
        }
    }
}
