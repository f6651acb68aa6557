using System.CommandLine;
using Vmi.Abi;
using Vmi.Guest.Image;
using Vmi.Machine;
using Vmi.Machine.Roms;
using Vmi.Rom;

namespace Vmi.Cli.Commands;

/// <summary>
/// `vmi sites KERNEL.elf [--rom FILE | --rom-profile NAME] [--rom-base ADDR] [--json]`: a guest
/// kernel's patch sites by call and, with a ROM, what the kernel turns each call's sites into for
/// that ROM's get_reloc answers (get_reloc is run on a scratch CPU; the kernel is not run).
/// Exit 0; 1 when the kernel would refuse the ROM's answers or get_reloc fails; 2 for bad input.
/// </summary>
public static class SitesCommand
{
    public static Command Create()
    {
        var kernel = new Argument<FileInfo>("kernel") { Description = "linked ELF32 i386 guest kernel with a .vmi_sites section" };
        var rom = new Option<FileInfo?>("--rom") { Description = "option ROM image whose get_reloc answers to apply" };
        var romProfile = new Option<string?>("--rom-profile") { Description = "build the ROM from a profile instead: " + string.Join(", ", RomProfiles.Names) };
        var romBase = new Option<string?>("--rom-base") { Description = "physical address of the ROM while asking it (2 KiB aligned in 0xC0000-0xDFFFF, default 0xC0000)" };
        var json = new Option<bool>("--json") { Description = "machine-readable output" };
        var command = new Command("sites", "list a guest kernel's VMI patch sites and what a ROM makes of them") { kernel, rom, romProfile, romBase, json };
        command.SetAction(p => Execute(p.GetValue(kernel)!, p.GetValue(rom), p.GetValue(romProfile), p.GetValue(romBase), p.GetValue(json)));
        return command;
    }

    /// <summary>The ROM the sites are planned for: its image, where it is mapped, and how the user named it.</summary>
    internal sealed record RomChoice(byte[] Image, uint Base, string Source);

    private static int Execute(FileInfo kernel, FileInfo? romFile, string? profile, string? baseText, bool json)
    {
        if (!InputFile.TryRead(kernel, InputLimit.Kernel, out byte[] bytes, out string readError))
        {
            return Fail(ExitCode.Usage, readError);
        }
        if (!GuestKernelImage.TryLoad(bytes, out GuestKernelImage? image, out GuestImageException? error))
        {
            return Fail(ExitCode.Usage, $"{kernel.Name}: {error.Message}");
        }
        if (ResolveRom(romFile, profile, baseText, out RomChoice? rom) is string romError)
        {
            return Fail(ExitCode.Usage, romError);
        }
        Dictionary<VmiCall, RelocationInfo>? answers = null;
        if (rom is not null)
        {
            answers = [];
            var executor = new RomExecutor(rom.Image, rom.Base);
            foreach (VmiCall call in image.Sites.Select(s => s.Call).Distinct().Order())
            {
                if (executor.GetReloc((int)call, out string? failure) is not RelocationInfo answer)
                {
                    return Fail(ExitCode.Failure, $"{rom.Source}: get_reloc for {VmiCalls.AbiName(call)} {failure}");
                }
                answers[call] = answer;
            }
        }

        var report = SitesReport.Build(kernel, image, rom, answers);
        if (json)
        {
            report.WriteJson();
        }
        else
        {
            report.WriteText();
        }
        if (report.Rejected.Count > 0)
        {
            return Fail(ExitCode.Failure, $"{kernel.Name}: the kernel would refuse {rom!.Source}'s answers: {report.Rejected[0]}" +
                (report.Rejected.Count > 1 ? $" (and {report.Rejected.Count - 1} more)" : ""));
        }
        return (int)ExitCode.Success;
    }

    /// <summary>The ROM named by --rom or --rom-profile at --rom-base, or null without one; a message for bad input.</summary>
    private static string? ResolveRom(FileInfo? file, string? profile, string? baseText, out RomChoice? rom)
    {
        rom = null;
        if (file is not null && profile is not null)
        {
            return "--rom and --rom-profile are mutually exclusive";
        }
        if (file is null && profile is null)
        {
            return baseText is null ? null : "--rom-base needs --rom or --rom-profile";
        }
        uint romBase = VmConfig.DefaultOptionRomBase;
        if (baseText is not null && !AddressParser.TryParse(baseText, out romBase))
        {
            return $"--rom-base: '{baseText}' is not an address";
        }
        byte[] image;
        string source;
        if (profile is not null)
        {
            if (RomProfiles.Build(profile) is not VmiRom built)
            {
                return $"--rom-profile: unknown profile '{profile}' (known: {string.Join(", ", RomProfiles.Names)})";
            }
            image = built.Image;
            source = $"profile {profile.ToLowerInvariant()}";
        }
        else
        {
            if (!Rom.RomCommand.TryReadRomFile(file!, out image, out string readError))
            {
                return $"--rom {readError}";
            }
            // get_reloc is found through the header: without a ROM header there is nothing to ask.
            if (Rom.RomCommand.FatalViolation(RomValidator.Validate(image)) is RomViolation fatal)
            {
                return $"--rom {file!.Name}: not a usable VMI ROM: {fatal}";
            }
            source = file!.Name;
        }
        if (OptionRomWindow.PlacementError(romBase, image.Length) is string problem)
        {
            return $"--rom-base: {problem}";
        }
        rom = new RomChoice(image, romBase, source);
        return null;
    }

    private static int Fail(ExitCode code, string message)
    {
        Console.Error.WriteLine($"vmi: {message}");
        return (int)code;
    }
}
