using System.Buffers.Binary;

namespace Vmi.Machine.Boot;

/// <summary>
/// Builds the zero page (struct boot_params, arch/x86/include/uapi/asm/bootparam.h) the kernel
/// receives in ESI: a clean 4 KiB page with the image's setup header copied in and the fields a
/// 32-bit boot loader owns filled (boot.rst, "32-bit boot protocol").
/// </summary>
/// <remarks>
/// Only the setup header is taken from the image, from 0x1F1 to its end as the jump at 0x200 gives
/// it; everything else starts zero, as boot.rst asks ("initialize to zero, then load the setup
/// header"); a loader that copied more would also copy the sentinel at 0x1EF and make the kernel
/// distrust the page. No real-mode code runs, so there is no setup heap: CAN_USE_HEAP and
/// heap_end_ptr stay clear. KEEP_SEGMENTS is cleared too: the kernel loads its own segments from
/// its own GDT (kernels since 5.8 ignore the flag anyway).
/// </remarks>
public static class LinuxZeroPage
{
    public const int Size = 4096;

    // struct boot_params, outside the setup header.
    public const int ExtRamdiskImageOffset = 0x0C0;
    public const int ExtRamdiskSizeOffset = 0x0C4;
    public const int ExtCmdLinePtrOffset = 0x0C8;
    public const int AltMemKOffset = 0x1E0;
    public const int E820EntriesOffset = 0x1E8;
    public const int SentinelOffset = 0x1EF;
    public const int E820TableOffset = 0x2D0;

    /// <summary>type_of_loader 0xFF: a boot loader without an assigned ID (boot.rst).</summary>
    public const byte UndefinedLoader = 0xFF;

    /// <summary>The zero page for <paramref name="image"/> with the given command line and initrd (address 0 and size 0: none).</summary>
    public static byte[] Build(ReadOnlySpan<byte> image, LinuxSetupHeader header, IReadOnlyList<E820Entry> memoryMap,
        uint commandLineAddress, uint initrdAddress, uint initrdSize)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(memoryMap);
        if (memoryMap.Count > E820Map.MaxZeroPageEntries)
        {
            throw new ArgumentException($"{memoryMap.Count} E820 entries do not fit the zero page's {E820Map.MaxZeroPageEntries}", nameof(memoryMap));
        }
        var page = new byte[Size];
        Span<byte> p = page;
        image[LinuxSetupHeader.SetupSectsOffset..header.HeaderEnd].CopyTo(p[LinuxSetupHeader.SetupSectsOffset..]);

        p[LinuxSetupHeader.TypeOfLoaderOffset] = UndefinedLoader;
        p[LinuxSetupHeader.LoadflagsOffset] = (byte)(header.Loadflags & ~(LinuxSetupHeader.CanUseHeap | LinuxSetupHeader.KeepSegments));
        PutU16(p, LinuxSetupHeader.HeapEndPtrOffset, 0);
        PutU32(p, LinuxSetupHeader.Code32StartOffset, header.Code32Start);
        PutU32(p, LinuxSetupHeader.CmdLinePtrOffset, commandLineAddress);
        PutU32(p, LinuxSetupHeader.RamdiskImageOffset, initrdAddress);
        PutU32(p, LinuxSetupHeader.RamdiskSizeOffset, initrdSize);
        // A PC with no hardware sub-architecture and no setup_data list.
        PutU32(p, LinuxSetupHeader.HardwareSubarchOffset, 0);
        BinaryPrimitives.WriteUInt64LittleEndian(p[LinuxSetupHeader.SetupDataOffset..], 0);

        ulong extendedKiB = 0;
        foreach (E820Entry e in memoryMap)
        {
            if (e.Type == E820Map.Usable && e.Base >= GuestLayout.HighMemoryStart)
            {
                extendedKiB += e.Length / 1024;
            }
        }
        // The fallback size a kernel uses when it finds no E820 map (boot.rst calls it alt_mem_k): KiB above 1 MiB.
        PutU32(p, AltMemKOffset, (uint)extendedKiB);
        p[E820EntriesOffset] = (byte)memoryMap.Count;
        E820Map.Write(memoryMap, p[E820TableOffset..]);
        return page;
    }

    private static void PutU16(Span<byte> p, int at, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(p[at..], v);

    private static void PutU32(Span<byte> p, int at, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(p[at..], v);
}
