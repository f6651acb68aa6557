namespace Vmi.Machine.Devices;

/// <summary>
/// What a PC BIOS leaves in CMOS RAM for the operating system: drive types, the equipment byte
/// and the memory sizes, with the AT checksum over 0x10–0x2D (the values QEMU's pc_cmos_init
/// stores for a machine with no floppy or IDE disk).
/// </summary>
public static class CmosBiosFields
{
    /// <summary>Conventional memory below the 640 KiB video hole, as every AT BIOS reports it.</summary>
    public const int BaseMemoryKiB = 640;

    /// <summary>Equipment byte bit 1: a math coprocessor is installed.</summary>
    public const byte EquipmentMathCoprocessor = 0x02;

    // Bit 0 (floppy drives present) stays clear, and so do bits 7–6 (their count); bits 5–4 = 00
    // name a display adapter with its own BIOS (EGA/VGA), which is what QEMU and Bochs report too.

    private const uint OneMiB = 1u << 20;
    private const uint SixteenMiB = 16u << 20;

    /// <summary>Stores the fields into <paramref name="cmos"/> (the 128 CMOS bytes) for a machine with <paramref name="ramBytes"/> of RAM.</summary>
    public static void Fill(Span<byte> cmos, uint ramBytes, bool mathCoprocessor)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cmos.Length, CmosLayout.Size);
        cmos[CmosLayout.FloppyTypes] = 0;   // no drive A:, no drive B:
        cmos[CmosLayout.HardDiskTypes] = 0; // no fixed disk 0 or 1
        cmos[CmosLayout.Equipment] = mathCoprocessor ? EquipmentMathCoprocessor : (byte)0;

        int baseKiB = (int)Math.Min(BaseMemoryKiB, ramBytes / 1024);
        WriteWord(cmos, CmosLayout.BaseMemoryLow, baseKiB);

        // Extended memory in KiB above 1 MiB; 16 bits hold at most 64 MiB - 1 KiB of it.
        int extendedKiB = (int)Math.Min(0xFFFF, ramBytes > OneMiB ? (ramBytes - OneMiB) / 1024 : 0);
        WriteWord(cmos, CmosLayout.ExtendedMemoryLow, extendedKiB);
        WriteWord(cmos, CmosLayout.PostExtendedMemoryLow, extendedKiB);

        int above16MiB = (int)Math.Min(0xFFFF, ramBytes > SixteenMiB ? (ramBytes - SixteenMiB) / (64 * 1024) : 0);
        WriteWord(cmos, CmosLayout.MemoryAbove16MiBLow, above16MiB);

        int checksum = Checksum(cmos);
        cmos[CmosLayout.ChecksumHigh] = (byte)(checksum >> 8);
        cmos[CmosLayout.ChecksumLow] = (byte)checksum;
    }

    /// <summary>The 16-bit sum of bytes 0x10–0x2D, as the AT BIOS computes it before storing it at 0x2E (high) and 0x2F (low).</summary>
    public static int Checksum(ReadOnlySpan<byte> cmos)
    {
        int sum = 0;
        for (int i = CmosLayout.ChecksumFirst; i <= CmosLayout.ChecksumLast; i++)
        {
            sum += cmos[i];
        }
        return sum & 0xFFFF;
    }

    private static void WriteWord(Span<byte> cmos, int lowOffset, int value)
    {
        cmos[lowOffset] = (byte)value;
        cmos[lowOffset + 1] = (byte)(value >> 8);
    }
}
