using System.Text;
using Iced.Intel;
using Xunit.Sdk;

namespace Vmi.Cpu.Tests.Differential;

/// <summary>Runs one form's cases on the host CPU and on the emulator and fails on the first disagreement.</summary>
public static class DifferentialRunner
{
    // One oracle for the whole test run: it serialises calls internally, and one page is enough.
    private static readonly Lazy<NativeOracle> Oracle = new(() => new NativeOracle());

    private static readonly Register[] FullRegisters =
        [Register.EAX, Register.ECX, Register.EDX, Register.EBX, Register.EBP, Register.ESI, Register.EDI];

    public static void Run(string formName, IEmulatedExecutor emulator)
    {
        var form = InstructionCatalog.Get(formName);
        var generator = new CaseGenerator(form);
        var oracle = Oracle.Value;

        string? firstFailure = null;
        var failures = 0;
        for (var index = 0; index < form.Cases; index++)
        {
            var @case = generator.Next();
            var expected = oracle.Execute(@case.Bytes, @case.Input);

            RegisterFile actual;
            try
            {
                actual = emulator.Execute(@case.Bytes, @case.Input);
            }
            catch (Exception e) when (e is not XunitException)
            {
                throw new XunitException(
                    $"{form.Name}: the emulator threw on case #{index} (seed 0x{generator.Seed:X16}).\n" +
                    Describe(@case, expected, null, InstructionCatalog.UndefinedFor(@case.Instruction, @case.Input)) +
                    $"\n  exception:   {e}");
            }

            var undefined = InstructionCatalog.UndefinedFor(@case.Instruction, @case.Input);
            if (Differences(expected, actual, undefined).Count == 0) continue;

            failures++;
            firstFailure ??= $"First mismatch, case #{index}:\n" + Describe(@case, expected, actual, undefined);
        }

        if (failures > 0)
        {
            throw new XunitException(
                $"{form.Name}: {failures} of {form.Cases} cases differ from the host CPU (seed 0x{generator.Seed:X16}).\n" +
                firstFailure);
        }
    }

    /// <summary>Compared: EAX..EDI bit for bit except an undefined result, and the seven flags minus the undefined ones.</summary>
    private static List<string> Differences(in RegisterFile expected, in RegisterFile actual, UndefinedOutputs undefined)
    {
        var differences = new List<string>();
        foreach (var register in FullRegisters)
        {
            var mask = RegisterMask(register, undefined.Result);
            var e = NativeOracle.ReadRegister(expected, register) & mask;
            var a = NativeOracle.ReadRegister(actual, register) & mask;
            if (e != a)
                differences.Add($"{register.ToString().ToLowerInvariant()} (native {e:X8}, emulated {a:X8}{(mask == uint.MaxValue ? "" : $", compared bits {mask:X8}")})");
        }

        var flagMask = FlagBits.Compared & ~undefined.Flags;
        var flagDiff = (expected.Eflags ^ actual.Eflags) & flagMask;
        if (flagDiff != 0)
        {
            differences.Add(
                $"flags {FlagBits.Describe(flagDiff)} (native [{FlagBits.Describe(expected.Eflags & flagMask)}], " +
                $"emulated [{FlagBits.Describe(actual.Eflags & flagMask)}])");
        }

        return differences;
    }

    /// <summary>The bits of <paramref name="full"/> that are compared when <paramref name="undefinedResult"/> is undefined.</summary>
    private static uint RegisterMask(Register full, Register undefinedResult)
    {
        if (undefinedResult == Register.None || undefinedResult.GetFullRegister32() != full) return uint.MaxValue;
        return undefinedResult switch
        {
            Register.AH or Register.CH or Register.DH or Register.BH => ~0xFF00u,
            _ when undefinedResult.IsGPR8() => ~0xFFu,
            _ when undefinedResult.IsGPR16() => ~0xFFFFu,
            _ => 0u,
        };
    }

    private static string Describe(in DifferentialCase @case, in RegisterFile expected, RegisterFile? actual, UndefinedOutputs undefined)
    {
        var text = new StringBuilder();
        text.Append("  instruction: ").Append(Format(@case.Instruction))
            .Append("   (bytes ").Append(Convert.ToHexString(@case.Bytes)).Append(")\n");
        text.Append("  input:       ").Append(@case.Input).Append('\n');
        text.Append("  native:      ").Append(expected).Append('\n');
        if (actual is { } emulated)
        {
            text.Append("  emulated:    ").Append(emulated).Append('\n');
            text.Append("  differs in:  ").Append(string.Join("; ", Differences(expected, emulated, undefined))).Append('\n');
        }

        text.Append("  not compared (undefined): ")
            .Append(undefined.Flags == 0 ? "no flags" : "flags " + FlagBits.Describe(undefined.Flags))
            .Append(undefined.Result == Register.None ? "" : $", result in {undefined.Result.ToString().ToLowerInvariant()}");
        return text.ToString();
    }

    private static string Format(in Instruction instruction)
    {
        var formatter = new IntelFormatter();
        formatter.Options.SpaceAfterOperandSeparator = true;
        formatter.Options.HexPrefix = "0x";
        formatter.Options.HexSuffix = "";
        var output = new StringOutput();
        formatter.Format(instruction, output);
        return output.ToStringAndReset();
    }
}
