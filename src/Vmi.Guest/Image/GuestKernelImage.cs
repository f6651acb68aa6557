using System.Diagnostics.CodeAnalysis;

namespace Vmi.Guest.Image;

/// <summary>
/// A linked ELF32 i386 guest kernel as the site tools see it: its patch sites (the <c>.vmi_sites</c>
/// records, checked), its executable sections and the symbols that name its code.
/// </summary>
public sealed class GuestKernelImage
{
    private readonly List<CodeRegion> regions;

    private GuestKernelImage(ElfKernelFile file, List<CodeRegion> regions, IReadOnlyList<VmiSite> sites)
    {
        EntryPoint = file.EntryPoint;
        CodeSections = file.CodeSections;
        Symbols = file.Symbols;
        HasSiteTable = file.SiteTable is not null;
        this.regions = regions;
        Sites = sites;
    }

    /// <summary>e_entry.</summary>
    public uint EntryPoint { get; }

    /// <summary>Whether the file has a <c>.vmi_sites</c> section (a kernel built without VMI sites has none).</summary>
    public bool HasSiteTable { get; }

    /// <summary>The patch sites, in record order.</summary>
    public IReadOnlyList<VmiSite> Sites { get; }

    /// <summary>The allocated, executable PROGBITS sections.</summary>
    public IReadOnlyList<CodeSection> CodeSections { get; }

    /// <summary>The functions and labels in <see cref="CodeSections"/>, as the symbol table lists them.</summary>
    public IReadOnlyList<CodeSymbol> Symbols { get; }

    /// <summary>The code regions (one per function or label) in address order; see <see cref="CodeRegion"/>.</summary>
    public IReadOnlyList<CodeRegion> Regions => regions;

    /// <summary>Reads <paramref name="elf"/>; throws only <see cref="GuestImageException"/>.</summary>
    public static GuestKernelImage Load(byte[] elf)
    {
        ArgumentNullException.ThrowIfNull(elf);
        ElfKernelFile file = ElfKernelFile.Read(elf);
        List<CodeRegion> regions = file.CodeSections
            .SelectMany(s => CodeMap.Build(s, file.Symbols))
            .OrderBy(r => r.Start)
            .ToList();
        List<VmiSite> sites = file.SiteTable is null ? [] : SiteTable.Read(file.SiteTable, file.SiteTableOffset, file.CodeSections, regions);
        return new GuestKernelImage(file, regions, sites);
    }

    /// <summary>Like <see cref="Load"/>, returning the <see cref="GuestImageException"/> instead of throwing it.</summary>
    public static bool TryLoad(byte[] elf, [NotNullWhen(true)] out GuestKernelImage? image, [NotNullWhen(false)] out GuestImageException? error)
    {
        try
        {
            image = Load(elf);
            error = null;
            return true;
        }
        catch (GuestImageException e)
        {
            image = null;
            error = e;
            return false;
        }
    }

    /// <summary>The name of the function or label whose code holds <paramref name="address"/>, or null.</summary>
    public string? FunctionAt(uint address) => CodeMap.Find(regions, address)?.Name;
}
