using Vmi.Cpu.Fpu;

namespace Vmi.Cpu.Tests.Fpu;

/// <summary>Random cases for one instruction: every rounding and precision control, masked and unmasked exceptions, every stack depth.</summary>
public static class X87CaseBuilder
{
    public static List<X87Case> Build(X87Instruction instruction, int count, int seed)
    {
        var g = new X87OperandGenerator(seed);
        byte[] code = instruction.Encode();
        var cases = new List<X87Case>(count);
        for (int n = 0; n < count; n++)
        {
            cases.Add(One(instruction, code, g));
        }
        return cases;
    }

    /// <summary>A stable seed from a name (string.GetHashCode differs per process).</summary>
    public static int Seed(string name)
    {
        int h = 17;
        foreach (char ch in name) h = unchecked(h * 31 + ch);
        return h;
    }

    private static X87Case One(X87Instruction instruction, byte[] code, X87OperandGenerator g)
    {
        Random rng = g.Random;
        int masks = g.Chance(70) ? 0x3F : rng.Next(64);
        int precision = g.Chance(5) ? 1 : rng.Next(3) switch { 0 => 0, 1 => 2, _ => 3 };
        ushort control = (ushort)(masks | 0x40 | (precision << 8) | (rng.Next(4) << 10) | (g.Chance(10) ? 0x1000 : 0));
        int top = rng.Next(8);
        // Sticky flags already set, but only masked ones: an unmasked one would be pending before the instruction.
        int flags = g.Chance(25) ? rng.Next(64) & masks : 0;
        if ((flags & 1) != 0 && g.Chance(50)) flags |= FpuExceptions.StackFault;
        int conditions = rng.Next(16);
        ushort status = (ushort)(flags | (top << 11) | ((conditions & 7) << 8) | ((conditions >> 3) << 14));

        int depth = rng.Next(20) switch
        {
            0 => 0,
            1 or 2 => 1,
            < 12 => 2,
            < 16 => rng.Next(3, 8),
            _ => 8,
        };
        var st = new Float80[8];
        (st[0], st[1]) = Operands(instruction.Profile, g);
        for (int i = 2; i < 8; i++) st[i] = g.Value();

        byte[] image = new byte[X87Case.ImageSize];
        BitConverter.TryWriteBytes(image, control | 0xFFFF_0000u);
        BitConverter.TryWriteBytes(image.AsSpan(4), status | 0xFFFF_0000u);
        int tags = 0;
        for (int i = 0; i < 8; i++)
        {
            int physical = (top + i) & 7;
            int tag = i < depth ? rng.Next(3) : 3;
            tags |= tag << (2 * physical);
            st[i].WriteTo(image.AsSpan(28 + 10 * i));
        }
        BitConverter.TryWriteBytes(image.AsSpan(8), (uint)tags | 0xFFFF_0000u);

        byte[] memory = new byte[16];
        rng.NextBytes(memory);
        WriteMemoryOperand(instruction.Memory, memory, g, st[0]);
        return new X87Case { Code = code, Image = image, Memory = memory, Eflags = (uint)rng.Next() & EFlags.Arith };
    }

    private static (Float80, Float80) Operands(X87Profile profile, X87OperandGenerator g)
    {
        switch (profile)
        {
            case X87Profile.Remainder when g.Chance(80):
                {
                    int e = g.Exponent();
                    int delta = g.Chance(70) ? g.Random.Next(-3, 68) : g.Random.Next(60, 200);
                    return (g.Finite(Math.Clamp(e + delta, 1, 0x7FFE)), g.Finite(Math.Clamp(e, 1, 0x7FFE)));
                }
            case X87Profile.Scale when g.Chance(70):
                {
                    int scale = g.Chance(80) ? g.Random.Next(-70, 71) : g.Random.Next(-40000, 40000);
                    Float80 b = IntegerConversion.FromInt64(scale);
                    if (g.Chance(30))
                    {
                        var op = new FpuOperation(FpuControl.Initial);
                        b = Arithmetic.Add(ref op, b, Float80.Pack(false, Float80.Bias - 1, Float80.IntegerBit), RoundingFormat.Extended);
                    }
                    return (g.Value(), b);
                }
            case X87Profile.Exp2 or X87Profile.Log or X87Profile.LogPlusOne or X87Profile.Trig or X87Profile.Angle when g.Chance(85):
                return X87TranscendentalOperands.Draw(profile, g);
            default:
                {
                    Float80 a = g.Value();
                    return (a, g.Value(a.Exponent));
                }
        }
    }

    private static void WriteMemoryOperand(X87MemoryOperand m, byte[] memory, X87OperandGenerator g, Float80 st0)
    {
        switch (m)
        {
            case X87MemoryOperand.Single: BitConverter.TryWriteBytes(memory, g.SingleBits()); break;
            case X87MemoryOperand.Double: BitConverter.TryWriteBytes(memory, g.DoubleBits()); break;
            case X87MemoryOperand.Extended: g.Value(st0.Exponent).WriteTo(memory); break;
            case X87MemoryOperand.Int16: BitConverter.TryWriteBytes(memory, (short)g.Integer(16)); break;
            case X87MemoryOperand.Int32: BitConverter.TryWriteBytes(memory, (int)g.Integer(32)); break;
            case X87MemoryOperand.Int64: BitConverter.TryWriteBytes(memory, g.Integer(64)); break;
            case X87MemoryOperand.Bcd: g.Bcd().CopyTo(memory, 0); break;
            case X87MemoryOperand.ControlWord:
                BitConverter.TryWriteBytes(memory, (ushort)(g.Random.Next(0x10000) | 0x3F));
                break;
        }
    }
}
