using Vmi.Cpu;
using Vmi.Hypervisors;
using Vmi.Hypervisors.Costs;
using Vmi.Hypervisors.Paravirtual;
using Vmi.Rom;

namespace Vmi.Cli.Commands;

/// <summary>
/// Where a ROM comes from, for `vmi rom build --profile` and `vmi run --rom-profile`: a fixed
/// profile (native, nop-demo), the ROM a backend would publish for a CPU model under a cost profile
/// (bt, vt, vt-npt), or a user's ROM profile FILE.
/// </summary>
internal static class RomSource
{
    public static string Names => string.Join(", ", RomProfiles.Names.Concat(HypervisorCatalog.Names.Where(n => n != "native"))) + ", or a ROM profile FILE (JSON)";

    /// <summary>The ROM for <paramref name="name"/>, or why not (naming the option).</summary>
    public static string? TryBuild(string option, string name, CpuModel model, CostProfile costs, out VmiRom? rom, out IReadOnlyList<CallDecision> decisions)
    {
        decisions = [];
        rom = RomProfiles.Build(name);
        if (rom is not null)
        {
            return null;
        }
        if (HypervisorCatalog.Create(name, costs) is Hypervisor hv)
        {
            rom = hv.BuildRom(model);
            decisions = hv.ExplainRom(model);
            return null;
        }
        if (File.Exists(name))
        {
            try
            {
                rom = RomProfileFile.Load(name);
                return null;
            }
            catch (RomProfileException e)
            {
                return $"{option}: {e.Message}";
            }
            catch (InvalidOperationException e)
            {
                return $"{option}: {name}: {e.Message}";
            }
        }
        return $"{option}: '{name}' is neither a profile ({Names}) nor a file";
    }
}
