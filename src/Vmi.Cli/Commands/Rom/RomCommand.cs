using System.CommandLine;

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
}
