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
    /// multiboot info area and the EBDA/VGA/ROM/BIOS range, so loading cannot clobber the boot
    /// data or write into a hole.
    /// </summary>
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
                if (s.PhysicalAddress < end && start < s.EndAddress)
                {
                    throw new BootImageException(
                        $"segment {i} [0x{s.PhysicalAddress:X8}, 0x{s.EndAddress:X8}) overlaps the {name} [0x{start:X8}, 0x{end:X8})",
                        _segmentOrigins[i]);
                }
            }
        }
    }

    private static readonly (uint Start, uint End, string Name)[] ReservedRegions =
    [
        (GuestLayout.MultibootInfo, GuestLayout.MultibootInfoEnd, "multiboot info area"),
        (GuestLayout.EbdaStart, GuestLayout.EbdaEnd, "extended BIOS data area"),
        (GuestLayout.VgaStart, GuestLayout.VgaEnd, "VGA memory hole"),
        (GuestLayout.OptionRomStart, GuestLayout.OptionRomEnd, "option-ROM window"),
        (GuestLayout.UpperBiosStart, GuestLayout.BiosEnd, "BIOS area"),
    ];
}
