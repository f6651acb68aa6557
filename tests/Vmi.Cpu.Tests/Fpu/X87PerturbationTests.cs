using Vmi.Cpu.Fpu;

namespace Vmi.Cpu.Tests.Fpu;

/// <summary>
/// The differential comparison would notice an emulator that rounds one ulp off: with the rounding
/// step perturbed through <see cref="Rounder.Perturb"/> (this thread only), the same cases that pass
/// unperturbed must now fail.
/// </summary>
public sealed class X87PerturbationTests
{
    [X87OracleTheory]
    [InlineData("fmul st0,st1")]
    [InlineData("fdiv m32")]
    [InlineData("fsqrt")]
    [InlineData("fst m64")]
    public void An_off_by_one_ulp_rounding_is_caught(string name)
    {
        X87Instruction instruction = X87Catalog.Find(name);
        List<X87Case> cases = X87CaseBuilder.Build(instruction, 500, X87CaseBuilder.Seed(name) + 1);
        X87Result[] expected = X87Oracle.Run(cases);

        int Failures()
        {
            int n = 0;
            for (int i = 0; i < cases.Count; i++)
            {
                if (X87Comparer.Difference(instruction, cases[i], expected[i], X87Emulation.Run(cases[i])) is not null) n++;
            }
            return n;
        }

        Assert.Equal(0, Failures());
        try
        {
            // One unit in the last place the rounding kept, added to every rounded significand that has room.
            Rounder.Perturb = (kept, lsb) => kept + (UInt128.One << lsb) is var up && up > kept ? up : kept;
            int perturbed = Failures();
            Assert.True(perturbed > cases.Count / 10, $"only {perturbed} of {cases.Count} perturbed results were noticed");
        }
        finally
        {
            Rounder.Perturb = null;
        }
    }
}
