using System.Buffers.Binary;
using System.Text;

namespace Vmi.Machine.Boot;

/// <summary>
/// Builds the multiboot v1 information structure the kernel receives in EBX, together with
/// the memory map, boot loader name and command line it points to.
/// </summary>
/// <remarks>
/// Layout of the returned bytes, placed at <see cref="GuestLayout.MultibootInfo"/> (all pointers absolute):
/// <code>
/// +0x000  multiboot_info (116 bytes per spec 0.6.96; unused fields zero)
/// +0x080  memory map: 4 entries of 24 bytes (size = 20, base u64, length u64, type u32)
/// +0x0E0  boot loader name "vmi\0"
/// +0x100  command line, NUL-terminated
/// </code>
/// </remarks>
public static class MultibootInfoBuilder
{
    public const uint BootloaderMagic = 0x2BADB002;

    public const uint FlagMemory = 1u << 0;
    public const uint FlagCommandLine = 1u << 2;
    public const uint FlagMemoryMap = 1u << 6;
    public const uint FlagBootLoaderName = 1u << 9;
    public const uint InfoFlags = FlagMemory | FlagCommandLine | FlagMemoryMap | FlagBootLoaderName;

    public const string BootLoaderName = "vmi";

    // Offsets of the fields we fill, within multiboot_info.
    public const int FlagsOffset = 0;
    public const int MemLowerOffset = 4;
    public const int MemUpperOffset = 8;
    public const int CmdlineOffset = 16;
    public const int MmapLengthOffset = 44;
    public const int MmapAddrOffset = 48;
    public const int BootLoaderNameOffset = 64;

    // Where each part goes, relative to GuestLayout.MultibootInfo.
    public const int MemoryMapStart = 0x80;
    public const int MemoryMapEntrySize = 24;
    public const int BootLoaderNameStart = 0xE0;
    public const int CommandLineStart = 0x100;

    public const uint MemoryAvailable = 1;
    public const uint MemoryReserved = 2;

    /// <summary>Longest command line (UTF-8 bytes, without the terminating NUL) that fits in the info area.</summary>
    public const int MaxCommandLineBytes = (int)(GuestLayout.MultibootInfoEnd - GuestLayout.MultibootInfo) - CommandLineStart - 1;

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

    public static byte[] Build(uint ramBytes, string commandLine, out uint infoAddress)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        if (ramBytes < GuestLayout.MinimumRamBytes)
            throw new BootImageException($"RAM size 0x{ramBytes:X} bytes is below the minimum 0x{GuestLayout.MinimumRamBytes:X} (2 MiB)");
        int nul = commandLine.IndexOf('\0', StringComparison.Ordinal);
        if (nul >= 0)
            throw new BootImageException($"command line contains a NUL character at index {nul}; the kernel would see it truncated");
        byte[] cmdline = Encoding.UTF8.GetBytes(commandLine);
        if (cmdline.Length > MaxCommandLineBytes)
            throw new BootImageException($"command line is {cmdline.Length} bytes; at most {MaxCommandLineBytes} fit in the multiboot info area");

        const uint b = GuestLayout.MultibootInfo;
        var map = MemoryMap(ramBytes);
        var bytes = new byte[CommandLineStart + cmdline.Length + 1];
        var span = bytes.AsSpan();

        PutU32(span, FlagsOffset, InfoFlags);
        PutU32(span, MemLowerOffset, GuestLayout.LowRamEnd / 1024); // 639 KiB: the EBDA is not free memory
        PutU32(span, MemUpperOffset, (ramBytes - GuestLayout.HighMemoryStart) / 1024);
        PutU32(span, CmdlineOffset, b + CommandLineStart);
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

        Encoding.ASCII.GetBytes(BootLoaderName, span[BootLoaderNameStart..]);
        cmdline.CopyTo(span[CommandLineStart..]);

        infoAddress = b;
        return bytes;
    }

    private static void PutU32(Span<byte> span, int offset, uint value) =>
        BinaryPrimitives.WriteUInt32LittleEndian(span[offset..], value);
}
