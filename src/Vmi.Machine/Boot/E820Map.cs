using System.Buffers.Binary;

namespace Vmi.Machine.Boot;

/// <summary>One range of the BIOS E820 memory map: [Base, Base + Length) of <see cref="Type"/>.</summary>
public readonly record struct E820Entry(ulong Base, ulong Length, uint Type)
{
    public ulong End => Base + Length;
}

/// <summary>
/// The E820 memory map a PC BIOS would report for this machine's RAM, as the Linux boot protocol
/// hands it over in the zero page (boot_params.e820_table, 20-byte struct boot_e820_entry).
/// </summary>
/// <remarks>
/// The usable ranges are those the multiboot loader reports (<see cref="MultibootInfoBuilder.MemoryMap"/>):
/// conventional memory below the 1 KiB EBDA, and everything from 1 MiB to the end of RAM. Of the
/// legacy hole, the EBDA and the whole read-only window are reported reserved: the option-ROM window,
/// where vmi maps option ROMs (a VMI ROM among them) that the kernel must not take for free memory,
/// and the BIOS area above it. The VGA window is not RAM and is left out, as SeaBIOS leaves it.
/// </remarks>
public static class E820Map
{
    public const uint Usable = 1;
    public const uint Reserved = 2;

    /// <summary>sizeof(struct boot_e820_entry): addr u64, size u64, type u32, packed.</summary>
    public const int EntrySize = 20;

    /// <summary>E820_MAX_ENTRIES_ZEROPAGE.</summary>
    public const int MaxZeroPageEntries = 128;

    public static IReadOnlyList<E820Entry> For(uint ramBytes)
    {
        if (ramBytes < GuestLayout.MinimumRamBytes)
        {
            throw new BootImageException($"RAM size 0x{ramBytes:X} bytes is below the minimum 0x{GuestLayout.MinimumRamBytes:X} (2 MiB)");
        }
        return
        [
            new(GuestLayout.LowRamStart, GuestLayout.LowRamEnd - GuestLayout.LowRamStart, Usable),
            new(GuestLayout.EbdaStart, GuestLayout.EbdaEnd - GuestLayout.EbdaStart, Reserved),
            new(GuestLayout.OptionRomStart, GuestLayout.OptionRomEnd - GuestLayout.OptionRomStart, Reserved),
            new(GuestLayout.UpperBiosStart, GuestLayout.BiosEnd - GuestLayout.UpperBiosStart, Reserved),
            new(GuestLayout.HighMemoryStart, ramBytes - GuestLayout.HighMemoryStart, Usable),
        ];
    }

    /// <summary>Writes <paramref name="entries"/> as struct boot_e820_entry[] at the start of <paramref name="table"/>.</summary>
    public static void Write(IReadOnlyList<E820Entry> entries, Span<byte> table)
    {
        for (int i = 0; i < entries.Count; i++)
        {
            Span<byte> e = table.Slice(i * EntrySize, EntrySize);
            BinaryPrimitives.WriteUInt64LittleEndian(e, entries[i].Base);
            BinaryPrimitives.WriteUInt64LittleEndian(e[8..], entries[i].Length);
            BinaryPrimitives.WriteUInt32LittleEndian(e[16..], entries[i].Type);
        }
    }
}
