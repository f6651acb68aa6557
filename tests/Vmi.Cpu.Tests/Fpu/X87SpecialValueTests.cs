using Vmi.Cpu.Fpu;

namespace Vmi.Cpu.Tests.Fpu;

/// <summary>
/// The SDM's special operands, every pair of them, under every rounding and precision control with
/// exceptions masked and unmasked: the emulator against the host, as in <see cref="X87DifferentialTests"/>.
/// </summary>
public sealed class X87SpecialValueTests
{
    /// <summary>One of each encoding class the SDM names (Vol. 1 §8.2.2, Table 8-3), both signs.</summary>
    public static IReadOnlyList<Float80> SpecialValues { get; } = BothSigns(
    [
        Float80.Zero,
        new Float80(1, 0),                                    // smallest denormal
        new Float80(0x7FFF_FFFF_FFFF_FFFF, 0),                // largest denormal
        new Float80(Float80.IntegerBit, 0),                   // pseudo-denormal 2^-16382
        new Float80(0xC000_0000_0000_0001, 0),                // pseudo-denormal
        new Float80(Float80.IntegerBit, 1),                   // smallest normal
        new Float80(ulong.MaxValue, 0x7FFE),                  // largest normal
        Float80.One,
        new Float80(0xC000_0000_0000_0000, Float80.Bias + 1), // 3
        new Float80(ulong.MaxValue, Float80.Bias),            // 2 - 2^-63
        new Float80(0x4000_0000_0000_0000, Float80.Bias),     // unnormal
        new Float80(Float80.IntegerBit, 0x7FFF),              // infinity
        new Float80(0, 0x7FFF),                               // pseudo-infinity
        new Float80(0xC000_0000_0000_0000, 0x7FFF),           // QNaN (the indefinite's significand)
        new Float80(0xC123_4567_89AB_CDEF, 0x7FFF),           // QNaN with payload
        new Float80(0x8000_0000_0000_0001, 0x7FFF),           // SNaN
        new Float80(0x8765_4321_0FED_CBA9, 0x7FFF),           // SNaN with payload
        new Float80(0x4000_0000_0000_0000, 0x7FFF),           // pseudo-NaN (quiet)
        new Float80(0x0000_0000_0000_0001, 0x7FFF),           // pseudo-NaN (signaling)
    ]);

    private static Float80[] BothSigns(Float80[] values) => [.. values, .. values.Select(v => v.Negate())];

    public static TheoryData<string> Instructions => new(
    [
        "fadd st0,st1", "fsub st0,st1", "fmul st0,st1", "fdiv st0,st1", "fdivr st0,st1", "fcom st1", "fucom st1", "fcomi st1",
        "fprem", "fprem1", "fscale", "fsqrt", "frndint", "fxtract", "fxam", "ftst", "fst m32", "fst m64", "fstp m80",
        "fistp m16", "fistp m64", "fbstp", "fchs",
        "f2xm1", "fyl2x", "fyl2xp1", "fptan", "fpatan", "fsin", "fcos", "fsincos",
    ]);

    private static readonly ushort[] Controls = BuildControls();

    private static ushort[] BuildControls()
    {
        var list = new List<ushort>();
        // The long run (VMI_X87_CASES set) adds 53-bit precision; the default keeps the suite quick.
        int[] precisions = Environment.GetEnvironmentVariable("VMI_X87_CASES") is null ? [0, 3] : [0, 2, 3];
        foreach (int rc in new[] { 0, 1, 2, 3 })
        {
            foreach (int pc in precisions)
            {
                list.Add((ushort)(0x7F | (pc << 8) | (rc << 10)));
            }
        }
        // Each exception unmasked on its own, then all of them.
        for (int bit = 0; bit < 6; bit++) list.Add((ushort)(0x7F & ~(1 << bit) | 0x300 | (bit << 10 & 0xC00)));
        list.Add(0x0340);
        return [.. list];
    }

    [X87OracleTheory]
    [MemberData(nameof(Instructions))]
    public void Every_pair_of_special_operands_matches_the_host(string name)
    {
        X87Instruction instruction = X87Catalog.Find(name);
        byte[] code = instruction.Encode();
        var cases = new List<X87Case>();
        foreach (Float80 a in SpecialValues)
        {
            foreach (Float80 b in SpecialValues)
            {
                foreach (ushort control in Controls)
                {
                    cases.Add(Case(code, control, a, b));
                }
            }
        }
        X87DifferentialTests.AssertEmulationMatchesHost(instruction, cases);
    }

    /// <summary>ST(0) = a, ST(1) = b, TOP = 6 (so one more push fits), the rest empty.</summary>
    internal static X87Case Case(byte[] code, ushort control, Float80 a, Float80 b)
    {
        byte[] image = new byte[X87Case.ImageSize];
        const int top = 6;
        BitConverter.TryWriteBytes(image, control | 0xFFFF_0000u);
        BitConverter.TryWriteBytes(image.AsSpan(4), (uint)(top << 11) | 0xFFFF_0000u);
        BitConverter.TryWriteBytes(image.AsSpan(8), 0x0FFFu | 0xFFFF_0000u);
        a.WriteTo(image.AsSpan(28));
        b.WriteTo(image.AsSpan(38));
        byte[] memory = new byte[16];
        b.WriteTo(memory);
        return new X87Case { Code = code, Image = image, Memory = memory, Eflags = 0 };
    }
}
