using Vmi.Cpu;
using Vmi.Hypervisors;
using Vmi.Hypervisors.Costs;

namespace Vmi.Cli.Commands;

/// <summary>
/// A hypervisor backend as the command line chose it (--hypervisor, --cost-profile, --cpu), checked
/// before anything runs: a backend is created fresh for every VM (<see cref="Create"/>), since one
/// instance keeps the counts of the one VM it is attached to.
/// </summary>
internal sealed record BackendChoice(string Name, CostProfile Profile, CpuModel Model)
{
    /// <summary>The profile --cost-profile defaults to: the processor the backends are calibrated on.</summary>
    public const string DefaultProfile = "p4-2006";

    public static string BackendNames => string.Join(", ", HypervisorCatalog.Names);

    public static string CpuNames => string.Join(", ", CpuModel.All.Select(m => m.Name));

    /// <summary>
    /// Resolves the options of `vmi run`: without --hypervisor, no backend (and --cost-profile is a
    /// usage error) and the CPU model is --cpu or the machine's default. The message of the first
    /// problem, naming its option, or null.
    /// </summary>
    public static string? Resolve(string? hypervisor, string? costProfile, string? cpu, out BackendChoice? backend, out CpuModel model)
    {
        backend = null;
        model = CpuModel.Pentium4;
        if (cpu is not null)
        {
            if (CpuModel.Find(cpu) is not CpuModel found)
            {
                return $"--cpu: unknown model '{cpu}' (known: {CpuNames})";
            }
            model = found;
        }
        if (hypervisor is null)
        {
            return costProfile is null ? null : "--cost-profile needs --hypervisor (the profile prices a backend's events)";
        }
        if (LoadProfile(costProfile, out CostProfile? profile) is string profileError)
        {
            return profileError;
        }
        if (ResolveBackend(hypervisor, profile!, cpu is null ? null : model, out BackendChoice? chosen) is string error)
        {
            return error;
        }
        backend = chosen!;
        model = chosen!.Model;
        return null;
    }

    /// <summary>
    /// One backend by name with a profile and a CPU model (default: the backend's own), refused if
    /// the backend cannot run on that model.
    /// </summary>
    public static string? ResolveBackend(string name, CostProfile profile, CpuModel? cpu, out BackendChoice? backend)
    {
        backend = null;
        if (!HypervisorCatalog.Names.Contains(name, StringComparer.OrdinalIgnoreCase))
        {
            return $"--hypervisor: unknown backend '{name}' (known: {BackendNames})";
        }
        CpuModel model = cpu ?? HypervisorCatalog.DefaultCpuModel(name);
        var choice = new BackendChoice(name.ToLowerInvariant(), profile, model);
        if (choice.Create().RefuseCpuModel(model) is string refusal)
        {
            return $"--cpu: {refusal}";
        }
        backend = choice;
        return null;
    }

    /// <summary>A cost profile by built-in name or file; the message names the file, the key and the place.</summary>
    public static string? LoadProfile(string? nameOrPath, out CostProfile? profile)
    {
        profile = null;
        try
        {
            profile = CostProfiles.Load(nameOrPath ?? DefaultProfile);
            return null;
        }
        catch (CostProfileException e)
        {
            return $"--cost-profile: {e.Message}";
        }
    }

    /// <summary>A fresh, unattached backend.</summary>
    public Hypervisor Create() => HypervisorCatalog.Create(Name, Profile)
        ?? throw new InvalidOperationException($"the catalog lists '{Name}' but cannot create it");
}
