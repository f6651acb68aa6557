using System.CommandLine;
using Vmi.Abi;

namespace Vmi.Cli.Commands.Rom;

/// <summary>
/// `vmi rom verify FILE`: every violation of the ABI rules, then of what Linux's VMI client requires
/// of get_reloc's answers (found by running get_reloc for every call), one per line; exit 0 when
/// valid, 2 when not.
/// </summary>
public static class RomVerifyCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("file") { Description = "ROM image to check" };
        var command = new Command("verify", "check a ROM image against every rule of the VMI 3.0 ABI") { file };
        command.SetAction(p => Execute(p.GetValue(file)!));
        return command;
    }

    private static int Execute(FileInfo file)
    {
        if (!RomCommand.TryReadRomFile(file, out byte[] image, out string readError))
        {
            Console.Error.WriteLine($"vmi: {readError}");
            return (int)ExitCode.Usage;
        }
        IReadOnlyList<RomViolation> violations = RomValidator.Validate(image);
        if (violations.Count == 0 && LinuxClientProblems(image) is { Count: > 0 } problems)
        {
            foreach (string p in problems)
            {
                Console.WriteLine($"{file.Name}: Linux client: {p}");
            }
            Console.Error.WriteLine($"vmi: {file.Name}: valid by the ABI, but {problems.Count} answer{(problems.Count == 1 ? "" : "s")} a Linux VMI kernel cannot use");
            return (int)ExitCode.Usage;
        }
        if (violations.Count == 0)
        {
            VmiRomImage rom = RomReader.Read(image);
            Console.WriteLine($"{file.Name}: valid VMI ROM, API {rom.Header.ApiVersionMajor}.{rom.Header.ApiVersionMinor}, {image.Length} bytes, " +
                $"{rom.Manufacturer ?? "(no manufacturer)"} / {rom.Product ?? "(no product)"}");
            return (int)ExitCode.Success;
        }
        foreach (RomViolation v in violations)
        {
            Console.WriteLine($"{file.Name}: {v}");
        }
        Console.Error.WriteLine($"vmi: {file.Name}: {violations.Count} violation{(violations.Count == 1 ? "" : "s")} of the VMI ROM rules");
        return (int)ExitCode.Usage;
    }

    /// <summary>Runs get_reloc for every call with the ROM where a BIOS puts the first option ROM and checks the answers against <see cref="LinuxClientRules"/>.</summary>
    private static List<string> LinuxClientProblems(byte[] image)
    {
        const uint romBase = Vmi.Machine.VmConfig.DefaultOptionRomBase;
        var executor = new Vmi.Machine.Roms.RomExecutor(image, romBase);
        var answers = new Dictionary<VmiCall, RelocationInfo>();
        var problems = new List<string>();
        foreach (VmiCall call in VmiCalls.All)
        {
            if (executor.GetReloc((int)call, out string? failure) is RelocationInfo r)
            {
                answers[call] = r;
            }
            else
            {
                problems.Add($"{VmiCalls.AbiName(call)}: get_reloc {failure}");
            }
        }
        problems.AddRange(LinuxClientRules.Check(answers, romBase, image.Length));
        return problems;
    }
}
