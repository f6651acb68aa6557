using System.Buffers.Binary;

namespace Vmi.Machine.Boot;

/// <summary>
/// The setup header of a Linux x86 kernel image (bzImage), read and checked field by field
/// (Documentation/x86/boot.rst, struct setup_header in arch/x86/include/uapi/asm/bootparam.h).
/// Offsets are file offsets, which are also the offsets in the zero page (boot_params).
/// </summary>
/// <remarks>
/// vmi boots by the 32-bit boot protocol (no real-mode setup code runs) and needs protocol
/// <b>2.10</b> or later (Linux 2.6.31, 2009), the first whose header has everything that protocol
/// relies on:
/// <list type="bullet">
/// <item>2.02: cmd_line_ptr, a 32-bit pointer to the command line anywhere in memory;</item>
/// <item>2.03: initrd_addr_max, the highest address the initrd may use;</item>
/// <item>2.05: relocatable_kernel and kernel_alignment, to find where the kernel will run;</item>
/// <item>2.06: cmdline_size, the longest command line the kernel takes;</item>
/// <item>2.08: payload_offset and payload_length, where the compressed kernel lies, so the host can decompress it;</item>
/// <item>2.10: pref_address and init_size, how much memory from where the kernel runs it needs before
/// it reads the memory map: without them nothing tells the loader where its own structures are safe.</item>
/// </list>
/// A header older than that is refused, naming the version field. A zImage (loadflags bit 0 clear)
/// is refused too: it loads at 0x10000 and needs the real-mode path.
/// </remarks>
public sealed record LinuxSetupHeader
{
    public const int SetupSectsOffset = 0x1F1;
    public const int SyssizeOffset = 0x1F4;
    public const int BootFlagOffset = 0x1FE;
    public const int JumpOffset = 0x200;
    public const int HeaderMagicOffset = 0x202;
    public const int VersionOffset = 0x206;
    public const int TypeOfLoaderOffset = 0x210;
    public const int LoadflagsOffset = 0x211;
    public const int Code32StartOffset = 0x214;
    public const int RamdiskImageOffset = 0x218;
    public const int RamdiskSizeOffset = 0x21C;
    public const int HeapEndPtrOffset = 0x224;
    public const int CmdLinePtrOffset = 0x228;
    public const int InitrdAddrMaxOffset = 0x22C;
    public const int KernelAlignmentOffset = 0x230;
    public const int RelocatableKernelOffset = 0x234;
    public const int CmdlineSizeOffset = 0x238;
    public const int HardwareSubarchOffset = 0x23C;
    public const int PayloadOffsetOffset = 0x248;
    public const int PayloadLengthOffset = 0x24C;
    public const int SetupDataOffset = 0x250;
    public const int PrefAddressOffset = 0x258;
    public const int InitSizeOffset = 0x260;

    /// <summary>The last field this loader reads ends here: init_size (2.10).</summary>
    public const int MinimumHeaderEnd = InitSizeOffset + 4;

    public const ushort BootFlagValue = 0xAA55;

    /// <summary>"HdrS", little-endian.</summary>
    public const uint HeaderMagicValue = 0x5372_6448;

    public const ushort MinimumVersion = 0x020A;

    public const byte LoadedHigh = 1 << 0;
    public const byte KeepSegments = 1 << 6;
    public const byte CanUseHeap = 1 << 7;

    /// <summary>Where a bzImage's protected-mode part goes (boot.rst: "loaded at 0x100000").</summary>
    public const uint ProtectedModeLoadAddress = 0x0010_0000;

    /// <summary>setup_sects, with 0 read as 4 (boot.rst: "if this field is 0, the real value is 4").</summary>
    public required int SetupSectors { get; init; }

    public required uint Syssize { get; init; }

    public required ushort Version { get; init; }

    public required byte Loadflags { get; init; }

    public required uint Code32Start { get; init; }

    public required uint InitrdAddrMax { get; init; }

    public required uint KernelAlignment { get; init; }

    public required bool Relocatable { get; init; }

    public required uint CmdlineSize { get; init; }

    public required uint PayloadOffset { get; init; }

    public required uint PayloadLength { get; init; }

    public required ulong PrefAddress { get; init; }

    public required uint InitSize { get; init; }

    /// <summary>File offset just past the setup header (0x202 + the byte at 0x201, the jump's displacement): the part a loader copies into the zero page.</summary>
    public required int HeaderEnd { get; init; }

    /// <summary>Bytes of real-mode code and header before the protected-mode part: (setup_sects + 1) × 512.</summary>
    public int SetupBytes => (SetupSectors + 1) * 512;

    /// <summary>Bytes of the protected-mode part the header claims (syssize, 16-byte paragraphs).</summary>
    public long ProtectedModeBytes => Syssize * 16L;

    public string VersionText => $"{Version >> 8}.{Version & 0xFF:D2}";

    /// <summary>
    /// Where the kernel runs (boot.rst, init_size): a relocatable kernel at the load address
    /// raised to pref_address and aligned to kernel_alignment; any other at pref_address.
    /// </summary>
    public ulong RuntimeStart(uint loadAddress)
    {
        if (!Relocatable)
        {
            return PrefAddress;
        }
        ulong at = Math.Max(loadAddress, PrefAddress);
        return (at + KernelAlignment - 1) / KernelAlignment * KernelAlignment;
    }

    /// <summary>The image has a Linux setup header: "HdrS" at 0x202.</summary>
    public static bool HasHeaderMagic(ReadOnlySpan<byte> image) =>
        image.Length >= HeaderMagicOffset + 4 && BinaryPrimitives.ReadUInt32LittleEndian(image[HeaderMagicOffset..]) == HeaderMagicValue;

    /// <summary>
    /// The image ends its first sector with the PC boot signature 55 AA but has no "HdrS": a kernel
    /// from before boot protocol 2.00, or some other boot sector.
    /// </summary>
    public static bool HasOnlyBootFlag(ReadOnlySpan<byte> image) =>
        !HasHeaderMagic(image) && image.Length >= BootFlagOffset + 2 && BinaryPrimitives.ReadUInt16LittleEndian(image[BootFlagOffset..]) == BootFlagValue;

    /// <summary>Reads and validates the header; every problem is a <see cref="BootImageException"/> naming the field, its offset and its value.</summary>
    public static LinuxSetupHeader Parse(ReadOnlySpan<byte> image)
    {
        if (image.Length < MinimumHeaderEnd)
        {
            throw new BootImageException(
                $"Linux image truncated: {image.Length} bytes is shorter than the setup header up to init_size (0x{MinimumHeaderEnd:X} bytes)", image.Length);
        }
        ushort bootFlag = U16(image, BootFlagOffset);
        if (bootFlag != BootFlagValue)
        {
            throw Field("boot_flag", BootFlagOffset, $"0x{bootFlag:X4}", $"expected 0x{BootFlagValue:X4}");
        }
        uint magic = U32(image, HeaderMagicOffset);
        if (magic != HeaderMagicValue)
        {
            throw Field("header", HeaderMagicOffset, $"0x{magic:X8}", "expected \"HdrS\" (0x53726448): a kernel older than boot protocol 2.00 cannot be booted");
        }
        ushort version = U16(image, VersionOffset);
        if (version < MinimumVersion)
        {
            throw Field("version", VersionOffset, $"0x{version:X4} (protocol {version >> 8}.{version & 0xFF:D2})",
                "vmi needs boot protocol 2.10 or later (Linux 2.6.31+), whose header has init_size and pref_address");
        }
        byte loadflags = image[LoadflagsOffset];
        if ((loadflags & LoadedHigh) == 0)
        {
            throw Field("loadflags", LoadflagsOffset, $"0x{loadflags:X2}",
                "bit 0 (LOADED_HIGH) is clear: this is a zImage, loaded at 0x10000 by real-mode code; vmi boots bzImages only");
        }
        int headerEnd = HeaderMagicOffset + image[JumpOffset + 1];
        if (image[JumpOffset] != 0xEB || headerEnd < MinimumHeaderEnd)
        {
            throw Field("jump", JumpOffset, $"0x{U16(image, JumpOffset):X4}",
                $"expected a short jump (EB xx) past the end of the header at 0x{MinimumHeaderEnd:X} or later");
        }
        int setupSects = image[SetupSectsOffset] == 0 ? 4 : image[SetupSectsOffset];
        int setupBytes = (setupSects + 1) * 512;
        if (setupBytes < headerEnd || setupBytes >= image.Length)
        {
            throw Field("setup_sects", SetupSectsOffset, $"{image[SetupSectsOffset]}",
                $"the setup part of {setupBytes} bytes must hold the header (to 0x{headerEnd:X}) and leave a protected-mode part in the {image.Length}-byte file");
        }
        uint syssize = U32(image, SyssizeOffset);
        long protectedBytes = image.Length - setupBytes;
        if (syssize == 0 || syssize * 16L > protectedBytes)
        {
            throw Field("syssize", SyssizeOffset, $"0x{syssize:X}",
                $"the protected-mode part is 0x{protectedBytes:X} bytes after {setupBytes} bytes of setup, so syssize (16-byte units) must be 1..0x{protectedBytes / 16:X}: the file is truncated or the header wrong");
        }
        uint alignment = U32(image, KernelAlignmentOffset);
        bool relocatable = image[RelocatableKernelOffset] != 0;
        if (relocatable && (alignment == 0 || !uint.IsPow2(alignment)))
        {
            throw Field("kernel_alignment", KernelAlignmentOffset, $"0x{alignment:X}", "a relocatable kernel's alignment must be a power of two");
        }
        uint cmdlineSize = U32(image, CmdlineSizeOffset);
        if (cmdlineSize == 0)
        {
            throw Field("cmdline_size", CmdlineSizeOffset, "0", "the kernel must accept at least an empty command line");
        }
        uint payloadOffset = U32(image, PayloadOffsetOffset);
        uint payloadLength = U32(image, PayloadLengthOffset);
        if (payloadLength < 4 || payloadOffset + (long)payloadLength > syssize * 16L)
        {
            throw Field("payload_length", PayloadLengthOffset, $"0x{payloadLength:X} (payload_offset 0x{payloadOffset:X})",
                $"the payload must lie inside the 0x{syssize * 16L:X}-byte protected-mode part and hold at least its 4-byte size trailer");
        }
        ulong pref = U64(image, PrefAddressOffset);
        uint initSize = U32(image, InitSizeOffset);
        var header = new LinuxSetupHeader
        {
            SetupSectors = setupSects,
            Syssize = syssize,
            Version = version,
            Loadflags = loadflags,
            Code32Start = U32(image, Code32StartOffset),
            InitrdAddrMax = U32(image, InitrdAddrMaxOffset),
            KernelAlignment = alignment,
            Relocatable = relocatable,
            CmdlineSize = cmdlineSize,
            PayloadOffset = payloadOffset,
            PayloadLength = payloadLength,
            PrefAddress = pref,
            InitSize = initSize,
            HeaderEnd = headerEnd,
        };
        ulong runtime = header.RuntimeStart(ProtectedModeLoadAddress);
        if (runtime < ProtectedModeLoadAddress || runtime >= 1UL << 32)
        {
            throw Field("pref_address", PrefAddressOffset, $"0x{pref:X}", "the kernel would run below 1 MiB or above 4 GiB, where a 32-bit PC kernel cannot");
        }
        if (initSize == 0 || runtime + initSize > 1UL << 32)
        {
            throw Field("init_size", InitSizeOffset, $"0x{initSize:X}",
                $"the kernel's memory footprint from 0x{runtime:X} must be non-empty and end below 4 GiB");
        }
        return header;
    }

    /// <summary>The protected-mode part: what the in-guest decompressor runs from, loaded at 1 MiB.</summary>
    public ReadOnlySpan<byte> ProtectedModePart(ReadOnlySpan<byte> image) => image.Slice(SetupBytes, (int)ProtectedModeBytes);

    /// <summary>The compressed kernel inside the protected-mode part, size trailer included.</summary>
    public ReadOnlySpan<byte> Payload(ReadOnlySpan<byte> image) => image.Slice(SetupBytes + (int)PayloadOffset, (int)PayloadLength);

    private static BootImageException Field(string name, int offset, string value, string why) =>
        new($"Linux setup header field {name} (offset 0x{offset:X}) is {value}: {why}", offset);

    private static ushort U16(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt16LittleEndian(b[at..]);

    private static uint U32(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b[at..]);

    private static ulong U64(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt64LittleEndian(b[at..]);
}
