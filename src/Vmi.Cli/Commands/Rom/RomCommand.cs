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

    /// <summary>Largest file we bother reading: anything bigger cannot be an option ROM.</summary>
    private const long MaxFileBytes = 16 << 20;

    /// <summary>Reads a ROM file, or prints one line and returns null.</summary>
    internal static byte[]? ReadRomFile(FileInfo file)
    {
        try
        {
            if (!file.Exists)
            {
                Console.Error.WriteLine($"vmi: {file.FullName}: no such file");
                return null;
            }
            if (file.Length > MaxFileBytes)
            {
                Console.Error.WriteLine($"vmi: {file.Name}: {file.Length} bytes is far too large for an option ROM (at most 131072)");
                return null;
            }
            return File.ReadAllBytes(file.FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"vmi: {file.FullName}: {e.Message}");
            return null;
        }
    }
}
