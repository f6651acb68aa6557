using System.Buffers.Binary;

namespace Vmi.Machine.Boot;

/// <summary>
/// Builds the multiboot v1 information block the kernel receives in EBX: the information
/// structure with the memory map, boot loader name, command line, module list and module strings
/// it points to, in one piece the loader places in free RAM (<see cref="MultibootLoader"/>).
/// </summary>
/// <remarks>
/// Layout, relative to the block's address (all pointers absolute):
/// <code>
/// +0x000  multiboot_info (116 bytes per spec 0.6.96; unused fields zero)
/// +0x080  memory map: 4 entries of 24 bytes (size = 20, base u64, length u64, type u32)
/// +0x0E0  boot loader name "vmi\0"
/// +0x100  command line, NUL-terminated
/// then    module list, 16-byte aligned: 16 bytes per module (mod_start, mod_end, string, 0)
/// then    each module's string, NUL-terminated
/// </code>
/// </remarks>
public static class MultibootInfoBuilder
{
    public const uint BootloaderMagic = 0x2BADB002;

    public const uint FlagMemory = 1u << 0;
    public const uint FlagCommandLine = 1u << 2;
    public const uint FlagModules = 1u << 3;
    public const uint FlagMemoryMap = 1u << 6;
    public const uint FlagBootLoaderName = 1u << 9;

    /// <summary>The module fields are always valid (count 0 without modules), as QEMU sets them.</summary>
    public const uint InfoFlags = FlagMemory | FlagCommandLine | FlagModules | FlagMemoryMap | FlagBootLoaderName;

    public const string BootLoaderName = "vmi";

    // Offsets of the fields we fill, within multiboot_info.
    public const int FlagsOffset = 0;
    public const int MemLowerOffset = 4;
    public const int MemUpperOffset = 8;
    public const int CmdlineOffset = 16;
    public const int ModsCountOffset = 20;
    public const int ModsAddrOffset = 24;
    public const int MmapLengthOffset = 44;
    public const int MmapAddrOffset = 48;
    public const int BootLoaderNameOffset = 64;

    // Where each part goes, relative to the block's address.
    public const int MemoryMapStart = 0x80;
    public const int MemoryMapEntrySize = 24;
    public const int BootLoaderNameStart = 0xE0;
    public const int CommandLineStart = 0x100;
    public const int ModuleEntrySize = 16;

    public const uint MemoryAvailable = 1;
    public const uint MemoryReserved = 2;

    /// <summary>
    /// QEMU (like GRUB) passes "&lt;kernel path&gt; &lt;arguments&gt;" as the multiboot command line;
    /// use this to present the same shape to a kernel.
    /// </summary>
    public static string QemuStyleCommandLine(string kernelPath, string arguments) => $"{kernelPath} {arguments}";

    /// <summary>The memory map handed to the kernel, as (base, length, type) in address order.</summary>
    public static IReadOnlyList<(ulong Base, ulong Length, uint Type)> MemoryMap(uint ramBytes) =>
    [
        (GuestLayout.LowRamStart, GuestLayout.LowRamEnd - GuestLayout.LowRamStart, MemoryAvailable),
        (GuestLayout.EbdaStart, GuestLayout.EbdaEnd - GuestLayout.EbdaStart, MemoryReserved),
        (GuestLayout.BiosStart, GuestLayout.BiosEnd - GuestLayout.BiosStart, MemoryReserved),
        (GuestLayout.HighMemoryStart, ramBytes - GuestLayout.HighMemoryStart, MemoryAvailable),
    ];

    /// <summary>Offsets of the variable parts of a block, and its size.</summary>
    public readonly record struct Layout(int ModuleList, int ModuleStrings, int Size);

    /// <summary>
    /// Checks the strings (a NUL inside one would truncate it for the kernel) and lays the block
    /// out, so the loader knows its size before choosing where it goes.
    /// </summary>
    public static Layout Measure(ReadOnlySpan<byte> commandLine, IReadOnlyList<MultibootModule> modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        if (commandLine.IndexOf((byte)0) is int nul and >= 0)
            throw new BootImageException($"command line contains a NUL byte at index {nul}; the kernel would see it truncated");
        long strings = 0;
        for (int i = 0; i < modules.Count; i++)
        {
            if (modules[i].String.AsSpan().IndexOf((byte)0) is int at and >= 0)
                throw new BootImageException($"module {i} string '{modules[i].Name}' contains a NUL byte at index {at}; the kernel would see it truncated");
            strings += modules[i].String.Length + 1;
        }
        long list = Align16(CommandLineStart + (long)commandLine.Length + 1);
        long moduleStrings = list + (long)ModuleEntrySize * modules.Count;
        long size = moduleStrings + strings;
        if (size > int.MaxValue)
            throw new BootImageException($"the command line and module strings need 0x{size:X} bytes of multiboot information, more than a 32-bit guest can hold");
        return new Layout((int)list, (int)moduleStrings, (int)size);
    }

    /// <summary>The block to copy to <paramref name="baseAddress"/>, for a machine with <paramref name="ramBytes"/> of RAM.</summary>
    public static byte[] Build(uint ramBytes, ReadOnlySpan<byte> commandLine, IReadOnlyList<PlacedModule> modules, uint baseAddress)
    {
        ArgumentNullException.ThrowIfNull(modules);
        if (ramBytes < GuestLayout.MinimumRamBytes)
            throw new BootImageException($"RAM size 0x{ramBytes:X} bytes is below the minimum 0x{GuestLayout.MinimumRamBytes:X} (2 MiB)");
        Layout layout = Measure(commandLine, modules.Select(m => m.Module).ToList());
        uint b = baseAddress;
        var map = MemoryMap(ramBytes);
        var bytes = new byte[layout.Size];
        var span = bytes.AsSpan();

        PutU32(span, FlagsOffset, InfoFlags);
        PutU32(span, MemLowerOffset, GuestLayout.LowRamEnd / 1024); // 639 KiB: the EBDA is not free memory
        PutU32(span, MemUpperOffset, (ramBytes - GuestLayout.HighMemoryStart) / 1024);
        PutU32(span, CmdlineOffset, b + CommandLineStart);
        PutU32(span, ModsCountOffset, (uint)modules.Count);
        PutU32(span, ModsAddrOffset, b + (uint)layout.ModuleList);
        PutU32(span, MmapLengthOffset, (uint)(map.Count * MemoryMapEntrySize));
        PutU32(span, MmapAddrOffset, b + MemoryMapStart);
        PutU32(span, BootLoaderNameOffset, b + BootLoaderNameStart);

        for (int i = 0; i < map.Count; i++)
        {
            // The size field counts the bytes after itself, so a kernel steps by size + 4.
            var entry = span.Slice(MemoryMapStart + i * MemoryMapEntrySize, MemoryMapEntrySize);
            BinaryPrimitives.WriteUInt32LittleEndian(entry, MemoryMapEntrySize - 4);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[4..], map[i].Base);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[12..], map[i].Length);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[20..], map[i].Type);
        }

        System.Text.Encoding.ASCII.GetBytes(BootLoaderName, span[BootLoaderNameStart..]);
        commandLine.CopyTo(span[CommandLineStart..]);

        int stringAt = layout.ModuleStrings;
        for (int i = 0; i < modules.Count; i++)
        {
            var entry = span.Slice(layout.ModuleList + i * ModuleEntrySize, ModuleEntrySize);
            BinaryPrimitives.WriteUInt32LittleEndian(entry, modules[i].Start);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[4..], modules[i].End);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[8..], b + (uint)stringAt);
            modules[i].Module.String.CopyTo(span[stringAt..]);
            stringAt += modules[i].Module.String.Length + 1;
        }
        return bytes;
    }

    private static long Align16(long value) => (value + 15) & ~15L;

    private static void PutU32(Span<byte> span, int offset, uint value) =>
        BinaryPrimitives.WriteUInt32LittleEndian(span[offset..], value);
}
