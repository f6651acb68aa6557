using System.CommandLine;
using Vmi.Abi;
using Vmi.Cpu;
using Vmi.Hypervisors.Costs;
using Vmi.Hypervisors.Paravirtual;
using Vmi.Rom;

namespace Vmi.Cli.Commands.Rom;

/// <summary>`vmi rom build --profile NAME|FILE -o FILE [--base ADDR] [--cpu MODEL] [--cost-profile P] [--explain]`.</summary>
public static class RomBuildCommand
{
    public static Command Create()
    {
        var profile = new Option<string>("--profile", "-p") { Description = "ROM profile: " + RomSource.Names, Required = true };
        var cpu = new Option<string?>("--cpu") { Description = $"CPU model a backend's ROM is built for: {BackendChoice.CpuNames} (default: the backend's own)" };
        var costProfile = new Option<string?>("--cost-profile") { Description = $"cost profile a backend's ROM decisions are derived from (default {BackendChoice.DefaultProfile})" };
        var explain = new Option<bool>("--explain") { Description = "print each call's decision and the costs compared" };
        var output = new Option<FileInfo>("--output", "-o") { Description = "file to write the ROM image to", Required = true };
        var romBase = new Option<string?>("--base") { Description = "physical address the ROM is meant for (checked: 2 KiB aligned in 0xC0000-0xDFFFF); the image itself is position-independent" };
        var command = new Command("build", "build a VMI ROM image from a profile, a backend, or a ROM profile file") { profile, output, romBase, cpu, costProfile, explain };
        command.SetAction(p => Execute(p.GetValue(profile)!, p.GetValue(output)!, p.GetValue(romBase), p.GetValue(cpu), p.GetValue(costProfile), p.GetValue(explain)));
        return command;
    }

    private static int Execute(string profileName, FileInfo output, string? baseText, string? cpuName, string? costProfileName, bool explain)
    {
        CpuModel model = Vmi.Hypervisors.HypervisorCatalog.DefaultCpuModel(profileName);
        if (cpuName is not null && CpuModel.Find(cpuName) is not CpuModel named)
        {
            Console.Error.WriteLine($"vmi: --cpu: unknown model '{cpuName}' (known: {BackendChoice.CpuNames})");
            return (int)ExitCode.Usage;
        }
        else if (cpuName is not null)
        {
            model = CpuModel.Find(cpuName)!;
        }
        if (BackendChoice.LoadProfile(costProfileName, out CostProfile? costs) is string costError)
        {
            Console.Error.WriteLine($"vmi: {costError}");
            return (int)ExitCode.Usage;
        }
        if (RomSource.TryBuild("--profile", profileName, model, costs!, out VmiRom? built, out IReadOnlyList<CallDecision> decisions) is string romError)
        {
            Console.Error.WriteLine($"vmi: {romError}");
            return (int)ExitCode.Usage;
        }
        VmiRom rom = built!;
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
        if (explain)
        {
            foreach (CallDecision d in decisions)
            {
                Console.WriteLine($"{VmiCalls.AbiName(d.Call),-20} {d.Type,-8} {d.Form,-36} {d.Why}");
            }
        }
        int calls = rom.Types.Values.Count(t => t is RelocationType.CallRel or RelocationType.JumpRel);
        int nops = rom.Types.Values.Count(t => t == RelocationType.Nop);
        Console.WriteLine($"wrote {output.Name}: profile {rom.Profile}, {rom.Image.Length} bytes ({rom.Image.Length / RomLayout.BlockSize} x 512), " +
            $"{calls} call/jump, {nops} nop, {VmiCalls.Count - calls - nops} native; checksum 0; fits at 0x{romBase:X}");
        return (int)ExitCode.Success;
    }
}
