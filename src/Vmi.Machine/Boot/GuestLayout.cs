namespace Vmi.Machine.Boot;

/// <summary>
/// Guest-physical addresses of the PC memory map, in one place so the machine, the loader and
/// the firmware tables cannot disagree. "End" constants are exclusive.
/// </summary>
/// <remarks>
/// <code>
/// 0x00000000 ┬ real-mode IVT                     (IvtStart..IvtEnd)
/// 0x00000400 ┼ BIOS data area                    (BdaStart..BdaEnd)
/// 0x00000500 ┼ free conventional RAM             kernel segments, or the loader's boot GDT and info
/// 0x0009FC00 ┼ extended BIOS data area (EBDA)     reserved, 1 KiB
/// 0x000A0000 ┼ VGA frame buffer hole             not RAM
/// 0x000C0000 ┼ option-ROM window                 read-only, where option ROMs are mapped
/// 0x000E0000 ┼ upper BIOS area                   read-only
/// 0x000F0000 ┼ system BIOS                       read-only, reserved
/// 0x00100000 ┴ extended memory: kernels load here
/// </code>
/// The loader's own structures (boot GDT, multiboot information, command line, module list,
/// modules) have no fixed place: <see cref="MultibootLoader"/> puts them in free RAM once the
/// kernel's segments are known, preferring the addresses below when the kernel leaves them free.
/// </remarks>
public static class GuestLayout
{
    public const uint IvtStart = 0x0000_0000;
    public const uint IvtEnd = 0x0000_0400;
    public const uint BdaStart = 0x0000_0400;
    public const uint BdaEnd = 0x0000_0500;

    /// <summary>Conventional RAM usable by the guest: 639 KiB, the rest of the first 640 KiB is the EBDA.</summary>
    public const uint LowRamStart = 0x0000_0000;
    public const uint LowRamEnd = 0x0009_FC00;

    public const uint EbdaStart = 0x0009_FC00;
    public const uint EbdaEnd = 0x000A_0000;

    /// <summary>Legacy VGA window; memory-mapped I/O, never RAM.</summary>
    public const uint VgaStart = 0x000A_0000;
    public const uint VgaEnd = 0x000C_0000;

    /// <summary>Where the BIOS scans for option ROMs (VGA BIOS at the start, then others on 2 KiB boundaries).</summary>
    public const uint OptionRomStart = 0x000C_0000;
    public const uint OptionRomEnd = 0x000E_0000;

    public const uint UpperBiosStart = 0x000E_0000;
    public const uint UpperBiosEnd = 0x000F_0000;

    public const uint BiosStart = 0x000F_0000;
    public const uint BiosEnd = 0x0010_0000;

    /// <summary>1 MiB: first byte of extended memory, the usual kernel load address.</summary>
    public const uint HighMemoryStart = 0x0010_0000;

    /// <summary>
    /// Where the multiboot information block goes when the kernel leaves it free: QEMU's address
    /// for its info structure and memory map (below 64 KiB, above the IVT/BDA, clear of the EBDA).
    /// </summary>
    public const uint PreferredMultibootInfo = 0x0000_9000;

    /// <summary>Smallest RAM size we boot with: 1 MiB of legacy space plus 1 MiB for the kernel.</summary>
    public const uint MinimumRamBytes = 0x0020_0000;

    /// <summary>
    /// Where the loader puts the three-entry flat GDT (null, code 0x08, data 0x10) it leaves for the
    /// kernel, as QEMU's multiboot option ROM does, when the kernel leaves this free: a kernel that
    /// reloads segment registers before its own LGDT still finds valid descriptors.
    /// </summary>
    public const uint PreferredBootGdt = 0x0000_0500;

    public const ushort BootCodeSelector = 0x08;
    public const ushort BootDataSelector = 0x10;

    /// <summary>The option-ROM and BIOS window is read-only to the guest, as on a PC.</summary>
    public const uint ReadOnlyWindowStart = OptionRomStart;
    public const uint ReadOnlyWindowEnd = BiosEnd;
}
