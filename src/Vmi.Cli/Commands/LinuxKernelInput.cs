using Vmi.Machine.Boot;

namespace Vmi.Cli.Commands;

/// <summary>`vmi run` with a Linux bzImage: reads the initrd, plans the boot and says what will be loaded.</summary>
internal static class LinuxKernelInput
{
    /// <summary>
    /// The boot plan for <paramref name="image"/>, or null with a usage error (exit 2) in
    /// <paramref name="error"/>: an initrd that cannot be read (capped at the guest's RAM, like
    /// every input), or any problem in the image or the parameters, naming the field.
    /// Unless <paramref name="quiet"/>, the plan's one-line description goes to stderr, after a
    /// note when the kernel is to decompress itself.
    /// </summary>
    public static LinuxBootPlan? TryPlan(byte[] image, string kernelName, ulong memoryBytes, byte[] commandLine, string? initrdPath, bool guestDecompress, bool quiet,
        out string error)
    {
        byte[]? initrd = null;
        if (initrdPath is not null)
        {
            var limit = new InputLimit((long)memoryBytes, "an initrd", $"the guest's RAM, {memoryBytes >> 20} MiB");
            if (!InputFile.TryRead(new FileInfo(initrdPath), limit, out initrd, out string readError))
            {
                error = $"--initrd: {readError}";
                return null;
            }
        }
        LinuxBootPlan plan;
        try
        {
            plan = LinuxLoader.Plan(image, (uint)Math.Min(memoryBytes, uint.MaxValue), commandLine, initrd, hostDecompression: !guestDecompress);
        }
        catch (BootImageException e)
        {
            error = $"{kernelName}: {e.Message}";
            return null;
        }
        if (!quiet)
        {
            if (plan.FallbackReason is string why)
            {
                Console.Error.WriteLine($"vmi: note: {why}; booting the compressed image at code32_start so the kernel decompresses itself");
            }
            Console.Error.WriteLine($"vmi: {plan.Describe()}");
        }
        error = "";
        return plan;
    }
}
