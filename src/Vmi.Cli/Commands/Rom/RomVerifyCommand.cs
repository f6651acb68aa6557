using System.CommandLine;
using Vmi.Abi;

namespace Vmi.Cli.Commands.Rom;

/// <summary>`vmi rom verify FILE`: every violation of the ABI rules, one per line; exit 0 when valid, 2 when not.</summary>
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
}
