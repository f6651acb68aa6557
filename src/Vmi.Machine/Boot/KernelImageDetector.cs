using System.Buffers.Binary;

namespace Vmi.Machine.Boot;

/// <summary>The boot protocols <c>vmi run</c> speaks.</summary>
public enum KernelImageKind
{
    Multiboot,
    Linux,
}

/// <summary>Tells a Linux kernel from a multiboot one by the image's own headers.</summary>
public static class KernelImageDetector
{
    /// <summary>
    /// Linux when the image has a setup header ("HdrS" at 0x202), and also when it ends its first
    /// sector with the boot flag 55 AA but has no multiboot magic in the multiboot search window:
    /// that is a Linux kernel older than boot protocol 2.00, and <see cref="LinuxSetupHeader.Parse"/>
    /// says so by name instead of the multiboot loader reporting a missing multiboot header.
    /// Everything else is handed to the multiboot loader, which says what it lacks.
    /// </summary>
    public static KernelImageKind Detect(ReadOnlySpan<byte> image)
    {
        if (LinuxSetupHeader.HasHeaderMagic(image))
        {
            return KernelImageKind.Linux;
        }
        return LinuxSetupHeader.HasOnlyBootFlag(image) && !HasMultibootMagic(image) ? KernelImageKind.Linux : KernelImageKind.Multiboot;
    }

    private static bool HasMultibootMagic(ReadOnlySpan<byte> image)
    {
        int window = Math.Min(image.Length, MultibootHeader.SearchWindow);
        for (int at = 0; at + 4 <= window; at += 4)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(image[at..]) == MultibootHeader.Magic)
            {
                return true;
            }
        }
        return false;
    }
}
