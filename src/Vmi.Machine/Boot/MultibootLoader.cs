namespace Vmi.Machine.Boot;

/// <summary>Everything a multiboot boot puts in guest RAM, and where.</summary>
public sealed record BootPlan(
    IReadOnlyList<LoadSegment> Segments,
    IReadOnlyList<PlacedModule> Modules,
    uint InfoAddress,
    byte[] Info,
    uint BootGdtAddress,
    uint EntryPoint);

/// <summary>
/// Lays out a multiboot boot: the kernel's segments where the kernel asks, then the loader's own
/// pieces in the RAM the kernel leaves free.
/// </summary>
/// <remarks>
/// The multiboot spec (0.6.96 §3.3) lets the loader put the information structure, the strings
/// and module list it points to, and the modules anywhere outside the kernel; the boot GDT
/// likewise. So nothing has a fixed address: each piece goes, first fit, after the kernel's
/// segments are known and clear of them and of each other, and outside the kernel's whole span
/// (first segment to last, as QEMU and GRUB treat it) unless only the gaps inside it are left.
/// In order:
/// <list type="number">
/// <item>modules, page-aligned (header flag bit 0 asks for it; we always do), in order, from the
/// first page above the kernel's highest segment as QEMU places them, or lower down when there is
/// no room above;</item>
/// <item>the boot GDT, from 0x500 (QEMU's option ROM keeps its own out of the kernel's way too);</item>
/// <item>the information block, from 0x9000, QEMU's address for it.</item>
/// </list>
/// Only when free RAM has no gap big enough is the boot refused, and the error lists what took it.
/// </remarks>
public static class MultibootLoader
{
    public const int BootGdtSize = 24;
    public const uint ModuleAlignment = 4096;

    public static BootPlan Plan(MultibootImage image, uint ramBytes, ReadOnlySpan<byte> commandLine, IReadOnlyList<MultibootModule> modules)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(modules);
        image.ValidateFor(ramBytes);
        var layout = MultibootInfoBuilder.Measure(commandLine, modules);

        var ram = new GuestRamAllocator(ramBytes);
        for (int i = 0; i < image.Segments.Count; i++)
        {
            var s = image.Segments[i];
            ram.Take(s.PhysicalAddress, s.EndAddress, $"kernel segment {i}");
        }
        ulong kernelStart = image.Segments.Min(s => s.PhysicalAddress);
        ulong kernelEnd = image.Segments.Max(s => s.EndAddress);
        ram.Avoid(kernelStart, kernelEnd);

        var placed = new List<PlacedModule>(modules.Count);
        for (int i = 0; i < modules.Count; i++)
        {
            uint at = ram.Place((ulong)modules[i].Data.Length, ModuleAlignment, $"module {i} '{modules[i].Name}'", kernelEnd);
            placed.Add(new PlacedModule(at, modules[i]));
        }
        uint gdt = ram.Place(BootGdtSize, 8, "the boot GDT", GuestLayout.PreferredBootGdt);
        uint info = ram.Place((ulong)layout.Size, 16, "the multiboot information", GuestLayout.PreferredMultibootInfo);
        return new BootPlan(image.Segments, placed, info, MultibootInfoBuilder.Build(ramBytes, commandLine, placed, info), gdt, image.EntryPoint);
    }
}
