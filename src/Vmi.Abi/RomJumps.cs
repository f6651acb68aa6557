using System.Buffers.Binary;

namespace Vmi.Abi;

/// <summary>Encodes and decodes the jumps the ROM's entry points (rom_entry, vmi_init, get_reloc) start with.</summary>
/// <remarks>
/// The original ABI only fixed where these entry points are; that each starts with a jump into the
/// image is the rule our ROMs follow (and what <see cref="RomValidator"/> checks).
/// </remarks>
public static class RomJumps
{
    public const byte JmpRel8 = 0xEB;
    public const byte JmpRel = 0xE9;
    public const byte Nop = 0x90;
    public const byte Int3 = 0xCC;

    /// <summary>
    /// The rom_entry value for <c>E9 rel16; nop</c> to <paramref name="target"/>. The BIOS far-calls
    /// rom_entry in real mode with IP = 3 in the ROM's segment, so the displacement is from IP 6, modulo 64 KiB.
    /// </summary>
    public static uint EntryJump(int target)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(target);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(target, 0xFFFF);
        uint rel16 = (uint)(target - (RomLayout.RomEntryOffset + 3)) & 0xFFFF;
        return JmpRel | rel16 << 8 | (uint)Nop << 24;
    }

    /// <summary>
    /// Writes <c>E9 rel32</c> to <paramref name="target"/> at <paramref name="slotOffset"/> and fills the rest of the
    /// 8-byte slot with INT3 (never executed). The kernel near-calls the slot in 32-bit flat mode.
    /// </summary>
    public static void WriteSlotJump(Span<byte> image, int slotOffset, int target)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slotOffset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(slotOffset, image.Length - RomLayout.EntrySlotSize);
        var slot = image.Slice(slotOffset, RomLayout.EntrySlotSize);
        slot[0] = JmpRel;
        BinaryPrimitives.WriteInt32LittleEndian(slot[1..], target - (slotOffset + 5));
        slot[5..].Fill(Int3);
    }

    /// <summary>Decodes rom_entry as <c>EB rel8</c> or <c>E9 rel16</c> (real mode, IP wraps at 64 KiB).</summary>
    public static bool TryGetEntryTarget(ReadOnlySpan<byte> image, out int target)
    {
        target = 0;
        const int at = RomLayout.RomEntryOffset;
        if (image.Length < at + 3)
            return false;
        switch (image[at])
        {
            case JmpRel8:
                target = (at + 2 + (sbyte)image[at + 1]) & 0xFFFF;
                return true;
            case JmpRel:
                target = (at + 3 + BinaryPrimitives.ReadUInt16LittleEndian(image[(at + 1)..])) & 0xFFFF;
                return true;
            default:
                return false;
        }
    }

    /// <summary>Decodes an entry slot as <c>E9 rel32</c> or <c>EB rel8</c> (32-bit flat mode; offsets relative to the ROM base).</summary>
    public static bool TryGetSlotTarget(ReadOnlySpan<byte> image, int slotOffset, out long target)
    {
        target = 0;
        if (slotOffset < 0 || slotOffset > image.Length - 5)
            return false;
        switch (image[slotOffset])
        {
            case JmpRel8:
                target = slotOffset + 2L + (sbyte)image[slotOffset + 1];
                return true;
            case JmpRel:
                target = slotOffset + 5L + BinaryPrimitives.ReadInt32LittleEndian(image[(slotOffset + 1)..]);
                return true;
            default:
                return false;
        }
    }
}
