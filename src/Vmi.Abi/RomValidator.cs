using System.Buffers.Binary;
using static Vmi.Abi.RomLayout;

namespace Vmi.Abi;

/// <summary>
/// Checks a ROM image against the ABI and the rules our ROMs follow, reporting every broken rule with its offset and
/// field. Never throws; an empty list means the image is acceptable.
/// </summary>
public static partial class RomValidator
{
    public static IReadOnlyList<RomViolation> Validate(ReadOnlySpan<byte> image)
    {
        var v = new List<RomViolation>();
        if (image.Length < HeaderSize)
        {
            // Nothing else can be located without the header.
            v.Add(new(image.Length, RomFields.ImageLength, $"image is {image.Length} bytes; the ROM header alone is {HeaderSize}"));
            return v;
        }

        var header = RomReader.DecodeHeader(image);
        CheckSignatures(image, v);
        CheckLength(image, header, v);
        CheckChecksum(image, header, v);
        CheckEntryJump(image, v);
        CheckSlotJump(image, VmiInitOffset, RomFields.VmiInit, v);
        CheckSlotJump(image, GetRelocOffset, RomFields.GetReloc, v);
        CheckPci(image, header, v);
        CheckPnp(image, header, v);
        CheckString(image, header.LicenseOffset, LicenseOffsetOffset, RomFields.LicenseOffs, RomFields.License, v);
        return v;
    }

    // The kernel's discovery checks, in the ABI's order: rom_signature, vrom_signature, api_version_maj == 3.
    private static void CheckSignatures(ReadOnlySpan<byte> image, List<RomViolation> v)
    {
        ushort romSignature = BinaryPrimitives.ReadUInt16LittleEndian(image[RomSignatureOffset..]);
        if (romSignature != RomSignature)
            v.Add(new(RomSignatureOffset, RomFields.RomSignature, $"is 0x{romSignature:X4}, must be 0x{RomSignature:X4} (bytes 55 AA)"));

        uint vromSignature = BinaryPrimitives.ReadUInt32LittleEndian(image[VromSignatureOffset..]);
        if (vromSignature != VromSignature)
            v.Add(new(VromSignatureOffset, RomFields.VromSignature, $"is 0x{vromSignature:X8}, must be 0x{VromSignature:X8} (\"cVmi\")"));

        byte major = image[ApiVersionMajorOffset];
        if (major != ApiVersionMajor)
            v.Add(new(ApiVersionMajorOffset, RomFields.ApiVersionMaj, $"is {major}, must be {ApiVersionMajor}"));
    }

    // rom_length * 512 is what the BIOS maps and checksums, so it must be exactly the image; and the image must fit
    // the 128 KiB option-ROM window in whole 512-byte blocks.
    private static void CheckLength(ReadOnlySpan<byte> image, RomHeader header, List<RomViolation> v)
    {
        if (header.RomLength == 0)
            v.Add(new(RomLengthOffset, RomFields.RomLength, "is 0"));
        else if (header.ImageSize != image.Length)
            v.Add(new(RomLengthOffset, RomFields.RomLength, $"is {header.RomLength} ({header.ImageSize} bytes), but the image is {image.Length} bytes"));

        if (image.Length % BlockSize != 0)
            v.Add(new(image.Length, RomFields.ImageLength, $"{image.Length} bytes is not a multiple of {BlockSize}"));
        if (image.Length > MaxImageSize)
            v.Add(new(MaxImageSize, RomFields.ImageLength, $"{image.Length} bytes exceeds the {MaxImageSize}-byte option-ROM window 0x{ScanStart:X5}..0x{ScanEnd - 1:X5}"));
    }

    // The 8-bit sum of rom_length * 512 bytes must be 0 (the API 2.0 rule; BIOSes and QEMU's firmware require it too).
    // If rom_length is unusable, the violation above already says so and there is nothing to sum.
    private static void CheckChecksum(ReadOnlySpan<byte> image, RomHeader header, List<RomViolation> v)
    {
        int size = header.ImageSize;
        if (size == 0 || size > image.Length)
            return;
        byte sum = RomWriter.Checksum(image[..size]);
        if (sum != 0)
            v.Add(new(size - 1, RomFields.Checksum, $"8-bit sum of the first {size} bytes is 0x{sum:X2}, must be 0x00"));
    }

    // rom_entry is real-mode code the BIOS far-calls; our ROMs put a jump there (EB rel8 or E9 rel16).
    private static void CheckEntryJump(ReadOnlySpan<byte> image, List<RomViolation> v)
    {
        if (!RomJumps.TryGetEntryTarget(image, out int target))
            v.Add(new(RomEntryOffset, RomFields.RomEntry, $"starts with 0x{image[RomEntryOffset]:X2}; must be a real-mode jump (EB rel8 or E9 rel16)"));
        else if (target >= image.Length)
            v.Add(new(RomEntryOffset, RomFields.RomEntry, $"jumps to 0x{target:X4}, outside the {image.Length}-byte image"));
    }

    // The ABI fixes only where vmi_init and get_reloc are (8-byte slots the kernel near-calls in 32-bit flat mode);
    // that each slot starts with a jump into the image (E9 rel32 or EB rel8) is the rule our ROMs follow.
    private static void CheckSlotJump(ReadOnlySpan<byte> image, int slot, string field, List<RomViolation> v)
    {
        if (!RomJumps.TryGetSlotTarget(image, slot, out long target))
            v.Add(new(slot, field, $"starts with 0x{image[slot]:X2}; must be a near jump (E9 rel32 or EB rel8)"));
        else if (target < 0 || target >= image.Length)
            v.Add(new(slot, field, $"jumps to {FormatTarget(target)}, outside the {image.Length}-byte image"));
    }

    private static string FormatTarget(long target) => target < 0 ? $"-0x{-target:X}" : $"0x{target:X4}";
}
