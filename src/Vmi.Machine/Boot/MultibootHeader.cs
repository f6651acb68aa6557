using System.Buffers.Binary;

namespace Vmi.Machine.Boot;

/// <summary>The multiboot v1 header as found in the image, plus the search that finds it.</summary>
internal readonly record struct MultibootHeader(uint Offset, uint Flags)
{
    public const uint Magic = 0x1BADB002;

    /// <summary>The spec requires the whole header to lie within the first 8192 bytes of the file.</summary>
    public const int SearchWindow = 8192;

    public const uint FlagPageAlignModules = 1u << 0;
    public const uint FlagMemoryInfo = 1u << 1;
    public const uint FlagVideoMode = 1u << 2;
    public const uint FlagAoutKludge = 1u << 16;

    /// <summary>Bits 0-15 are "required" features: a loader that does not know one must refuse the image.</summary>
    private const uint RequiredMask = 0x0000_FFFF;
    private const uint KnownRequired = FlagPageAlignModules | FlagMemoryInfo | FlagVideoMode;

    // Field offsets relative to the header start.
    public const int FlagsField = 4;
    public const int ChecksumField = 8;
    public const int HeaderAddrField = 12;
    public const int LoadAddrField = 16;
    public const int LoadEndAddrField = 20;
    public const int BssEndAddrField = 24;
    public const int EntryAddrField = 28;

    public bool HasAoutKludge => (Flags & FlagAoutKludge) != 0;

    /// <summary>Bytes the header occupies: the address fields come with bit 16, the video fields with bit 2.</summary>
    public int Length => (Flags & FlagVideoMode) != 0 ? 48 : HasAoutKludge ? 32 : 12;

    public uint Field(ReadOnlySpan<byte> file, int fieldOffset) =>
        BinaryPrimitives.ReadUInt32LittleEndian(file.Slice((int)Offset + fieldOffset, 4));

    /// <summary>Finds the first 4-byte aligned magic with a valid checksum in the search window, and checks its flags.</summary>
    public static MultibootHeader Find(ReadOnlySpan<byte> file)
    {
        int window = Math.Min(file.Length, SearchWindow);
        int? badChecksumAt = null;
        for (int off = 0; off + 12 <= window; off += 4)
        {
            if (ReadU32(file, off) != Magic)
                continue;
            uint flags = ReadU32(file, off + FlagsField);
            uint checksum = ReadU32(file, off + ChecksumField);
            if (unchecked(Magic + flags + checksum) != 0)
            {
                badChecksumAt ??= off;
                continue;
            }
            var header = new MultibootHeader((uint)off, flags);
            header.CheckFlagsAndLength(file);
            return header;
        }

        if (badChecksumAt is { } bad)
        {
            uint flags = ReadU32(file, bad + FlagsField);
            uint checksum = ReadU32(file, bad + ChecksumField);
            throw new BootImageException(
                $"multiboot header at offset 0x{bad:X} has a bad checksum: magic 0x{Magic:X8} + flags 0x{flags:X8} + checksum 0x{checksum:X8} " +
                $"= 0x{unchecked(Magic + flags + checksum):X8}, must be 0",
                bad + ChecksumField);
        }

        // Name a header that exists but is too far in: the usual cause is a linker script that
        // does not put the header section first.
        for (int off = SearchWindow - 8; off + 12 <= file.Length; off += 4)
        {
            if (ReadU32(file, off) == Magic &&
                unchecked(Magic + ReadU32(file, off + FlagsField) + ReadU32(file, off + ChecksumField)) == 0)
            {
                throw new BootImageException(
                    $"multiboot header found at offset 0x{off:X}, but it must lie entirely within the first {SearchWindow} bytes of the file " +
                    "(put the header section first in the linker script)",
                    off);
            }
        }

        throw new BootImageException(
            $"no multiboot header (magic 0x{Magic:X8}, 4-byte aligned, valid checksum) in the first {SearchWindow} bytes of the " +
            $"{file.Length}-byte file: not a multiboot v1 kernel");
    }

    private void CheckFlagsAndLength(ReadOnlySpan<byte> file)
    {
        uint unknown = Flags & RequiredMask & ~KnownRequired;
        if (unknown != 0)
        {
            throw new BootImageException(
                $"multiboot header flags 0x{Flags:X8} request required features this loader does not provide (bits 0x{unknown:X4}); " +
                "the multiboot spec says the loader must refuse such a kernel",
                Offset + FlagsField);
        }

        long end = (long)Offset + Length;
        if (end > Math.Min(file.Length, SearchWindow))
        {
            throw new BootImageException(
                $"multiboot header at offset 0x{Offset:X} is {Length} bytes long with flags 0x{Flags:X8} and would end at 0x{end:X}, " +
                $"past {(end > file.Length ? $"the end of the {file.Length}-byte file" : $"the {SearchWindow}-byte search window")}",
                Offset);
        }
    }

    private static uint ReadU32(ReadOnlySpan<byte> file, int offset) =>
        BinaryPrimitives.ReadUInt32LittleEndian(file.Slice(offset, 4));
}
