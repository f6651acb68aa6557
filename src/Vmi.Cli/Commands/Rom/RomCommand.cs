using System.CommandLine;
using Vmi.Abi;

namespace Vmi.Cli.Commands.Rom;

/// <summary>`vmi rom build|dump|verify`: make, inspect and check VMI option ROMs.</summary>
public static class RomCommand
{
    public static Command Create() => new("rom", "build, inspect and verify VMI ROM images")
    {
        RomBuildCommand.Create(),
        RomDumpCommand.Create(),
        RomVerifyCommand.Create(),
    };

    /// <summary>Reads a ROM file of at most the option-ROM window's size, or says why not ("PATH: problem").</summary>
    internal static bool TryReadRomFile(FileInfo file, out byte[] image, out string error) =>
        InputFile.TryRead(file, InputLimit.OptionRom, out image, out error);

    /// <summary>
    /// The most basic broken rule (signatures before offsets) among <paramref name="violations"/> that
    /// makes the ROM unusable to ask anything: no header, no VMI signature, wrong major, no get_reloc.
    /// </summary>
    internal static RomViolation? FatalViolation(IReadOnlyList<RomViolation> violations) =>
        violations.FirstOrDefault(v => v.Field is RomFields.ImageLength or RomFields.RomSignature
            or RomFields.VromSignature or RomFields.ApiVersionMaj or RomFields.GetReloc or RomFields.RomLength);
}
