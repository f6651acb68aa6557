using Vmi.Machine.Boot;

namespace Vmi.Machine.Roms;

/// <summary>Where an option ROM may go: 2 KiB aligned inside 0xC0000–0xDFFFF, the window a VMI kernel scans.</summary>
public static class OptionRomWindow
{
    public const uint Alignment = 2048;

    /// <summary>Why a ROM of <paramref name="length"/> bytes cannot be placed at <paramref name="romBase"/>, or null if it can.</summary>
    public static string? PlacementError(uint romBase, long length)
    {
        if (romBase % Alignment != 0 || romBase < GuestLayout.OptionRomStart || romBase >= GuestLayout.OptionRomEnd)
        {
            return $"ROM base 0x{romBase:X} must be 2 KiB aligned inside 0x{GuestLayout.OptionRomStart:X}-0x{GuestLayout.OptionRomEnd - 1:X}";
        }
        if (length <= 0 || romBase + length > GuestLayout.OptionRomEnd)
        {
            return $"a {length}-byte ROM at 0x{romBase:X} does not fit below 0x{GuestLayout.OptionRomEnd:X}";
        }
        return null;
    }
}
