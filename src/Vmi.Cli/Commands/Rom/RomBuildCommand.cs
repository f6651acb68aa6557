using System.CommandLine;
using Vmi.Abi;
using Vmi.Rom;

namespace Vmi.Cli.Commands.Rom;

/// <summary>`vmi rom build --profile NAME -o FILE [--base ADDR]`.</summary>
public static class RomBuildCommand
{
    public static Command Create()
    {
        var profile = new Option<string>("--profile", "-p") { Description = "ROM profile: " + string.Join(", ", RomProfiles.Names), Required = true };
        var output = new Option<FileInfo>("--output", "-o") { Description = "file to write the ROM image to", Required = true };
        var romBase = new Option<string?>("--base") { Description = "physical address the ROM is meant for (checked: 2 KiB aligned in 0xC0000-0xDFFFF); the image itself is position-independent" };
        var command = new Command("build", "build a VMI ROM image from a profile") { profile, output, romBase };
        command.SetAction(p => Execute(p.GetValue(profile)!, p.GetValue(output)!, p.GetValue(romBase)));
        return command;
    }

    private static int Execute(string profileName, FileInfo output, string? baseText)
    {
        VmiRom? rom = RomProfiles.Build(profileName);
        if (rom is null)
        {
            Console.Error.WriteLine($"vmi: --profile: unknown profile '{profileName}' (known: {string.Join(", ", RomProfiles.Names)})");
            return (int)ExitCode.Usage;
        }
        uint romBase = Vmi.Machine.VmConfig.DefaultOptionRomBase;
        if (baseText is not null && !AddressParser.TryParse(baseText, out romBase))
        {
            Console.Error.WriteLine($"vmi: --base: '{baseText}' is not an address");
            return (int)ExitCode.Usage;
        }
        if (Vmi.Machine.Roms.OptionRomWindow.PlacementError(romBase, rom.Image.Length) is string problem)
        {
            Console.Error.WriteLine($"vmi: --base: {problem}");
            return (int)ExitCode.Usage;
        }
        using (OutputFile? file = OutputFile.TryCreate("--output", output.FullName, out string error))
        {
            if (file is null)
            {
                Console.Error.WriteLine($"vmi: {error}");
                return (int)ExitCode.Usage;
            }
            file.Write(rom.Image);
            file.Dispose();
            if (file.Problem is string writeProblem)
            {
                Console.Error.WriteLine($"vmi: {writeProblem}");
                return (int)ExitCode.Failure;
            }
        }
        int calls = rom.Types.Values.Count(t => t is RelocationType.CallRel or RelocationType.JumpRel);
        int nops = rom.Types.Values.Count(t => t == RelocationType.Nop);
        Console.WriteLine($"wrote {output.Name}: profile {rom.Profile}, {rom.Image.Length} bytes ({rom.Image.Length / RomLayout.BlockSize} x 512), " +
            $"{calls} call/jump, {nops} nop, {VmiCalls.Count - calls - nops} native; checksum 0; fits at 0x{romBase:X}");
        return (int)ExitCode.Success;
    }
}
