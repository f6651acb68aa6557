namespace Vmi.Machine.Boot;

/// <summary>
/// A multiboot v1 kernel, parsed and checked, ready to be copied into guest RAM (what
/// <c>qemu -kernel</c> does for a multiboot image).
/// </summary>
/// <remarks>
/// Loading follows QEMU: when the header sets flag bit 16 (the "a.out kludge") the header's
/// address fields are used even if the file is also ELF (QEMU and GRUB 2 both do this, and kernels
/// set the bit precisely to choose where they load); otherwise the file must be ELF32 i386 and
/// its PT_LOAD segments are placed at p_paddr.
/// </remarks>
public sealed class MultibootImage
{
    private readonly IReadOnlyList<long> _segmentOrigins;

    private MultibootImage(MultibootHeader header, LoadPlan plan)
    {
        HeaderOffset = header.Offset;
        HeaderFlags = header.Flags;
        Segments = plan.Segments;
        _segmentOrigins = plan.SegmentOrigins;
        EntryPoint = plan.EntryPoint;
    }

    public IReadOnlyList<LoadSegment> Segments { get; }

    /// <summary>Physical address the CPU jumps to (EAX = 0x2BADB002, EBX = info address).</summary>
    public uint EntryPoint { get; }

    /// <summary>File offset where the multiboot header was found.</summary>
    public uint HeaderOffset { get; }

    public uint HeaderFlags { get; }

    /// <summary>True when the image was placed by the header's address fields (flag bit 16) rather than as ELF.</summary>
    public bool UsesAoutKludge => (HeaderFlags & MultibootHeader.FlagAoutKludge) != 0;

    /// <summary>
    /// The kernel asked for a video mode (flag bit 2). We give it none and boot anyway, as QEMU
    /// does; the info structure simply lacks the video fields.
    /// </summary>
    public bool RequestsVideoMode => (HeaderFlags & MultibootHeader.FlagVideoMode) != 0;

    /// <summary>Parses and validates the image; any problem is a <see cref="BootImageException"/>.</summary>
    public static MultibootImage Parse(ReadOnlySpan<byte> file)
    {
        var header = MultibootHeader.Find(file);
        if (header.HasAoutKludge)
            return new MultibootImage(header, AoutKludgeReader.Read(file, header));
        if (!Elf32Reader.HasElfMagic(file))
        {
            throw new BootImageException(
                "not an ELF file (e_ident does not start with 7F 'E' 'L' 'F') and the multiboot header does not set flag bit 16 " +
                "(a.out kludge) to give load addresses instead",
                0);
        }
        return new MultibootImage(header, Elf32Reader.Read(file));
    }

    /// <summary>
    /// Checks that every segment lands in RAM of <paramref name="ramBytes"/> bytes and clear of the
    /// EBDA, the VGA hole and the option-ROM window, and that only read-only segments lie in the
    /// BIOS area. The loader's own structures are placed around the segments afterwards
    /// (<see cref="MultibootLoader"/>), so they constrain nothing here.
    /// </summary>
    /// <remarks>
    /// The BIOS area rule follows what QEMU does with the kernels GNU ld links without a linker
    /// script: <c>ld -m elf_i386 -Ttext 0x100000</c> (binutils 2.40) emits a read-only PT_LOAD
    /// holding only the ELF and program headers at 0xFF000. QEMU's multiboot loader
    /// (hw/i386/multiboot.c, load_multiboot) loads an ELF kernel with load_elf
    /// (include/hw/elf_ops.h), which makes every PT_LOAD with p_memsz &gt; 0 a ROM blob at p_paddr,
    /// headers-only segment included; it then copies the whole range from the lowest p_paddr to
    /// the highest p_paddr + p_memsz out of those blobs (rom_copy) and its option ROM writes it
    /// back there. The guest finds the headers at 0xFF000 and cannot change them, the BIOS
    /// shadow being write-protected (seen on qemu-system-i386 7.2: reading 0xFF000 gives 7F 'E',
    /// a write there is dropped). vmi matches it: such a segment is loaded into the read-only
    /// window, readable and unwritable by the guest. A writable segment there is refused, since
    /// the kernel's writes to its own data would be lost. The option-ROM window stays refused
    /// whole: vmi maps its option ROMs there, and kernels scan it for them.
    /// </remarks>
    public void ValidateFor(uint ramBytes)
    {
        if (ramBytes < GuestLayout.MinimumRamBytes)
            throw new BootImageException($"RAM size 0x{ramBytes:X} bytes is below the minimum 0x{GuestLayout.MinimumRamBytes:X} (2 MiB)");

        for (int i = 0; i < Segments.Count; i++)
        {
            var s = Segments[i];
            if (s.EndAddress > ramBytes)
            {
                throw new BootImageException(
                    $"segment {i} [0x{s.PhysicalAddress:X8}, 0x{s.EndAddress:X8}) lies beyond the end of RAM (0x{ramBytes:X8} bytes)",
                    _segmentOrigins[i]);
            }
            foreach (var (start, end, name) in ReservedRegions)
            {
                if (Overlaps(s, start, end))
                {
                    throw new BootImageException(
                        $"segment {i} [0x{s.PhysicalAddress:X8}, 0x{s.EndAddress:X8}) overlaps the {name} [0x{start:X8}, 0x{end:X8})",
                        _segmentOrigins[i]);
                }
            }
            if (s.Writable && Overlaps(s, GuestLayout.UpperBiosStart, GuestLayout.BiosEnd))
            {
                throw new BootImageException(
                    $"segment {i} [0x{s.PhysicalAddress:X8}, 0x{s.EndAddress:X8}) is writable{(UsesAoutKludge ? " (the a.out-kludge image holds data and bss)" : " (PF_W)")} " +
                    $"but overlaps the BIOS area [0x{GuestLayout.UpperBiosStart:X8}, 0x{GuestLayout.BiosEnd:X8}), which is read-only to the guest: " +
                    "the kernel's writes there would be lost; only read-only segments (like the ELF headers ld places below the text) may lie there",
                    _segmentOrigins[i]);
            }
        }
    }

    private static bool Overlaps(LoadSegment s, uint start, uint end) => s.PhysicalAddress < end && start < s.EndAddress;

    private static readonly (uint Start, uint End, string Name)[] ReservedRegions =
    [
        (GuestLayout.EbdaStart, GuestLayout.EbdaEnd, "extended BIOS data area"),
        (GuestLayout.VgaStart, GuestLayout.VgaEnd, "VGA memory hole"),
        (GuestLayout.OptionRomStart, GuestLayout.OptionRomEnd, "option-ROM window"),
    ];
}
