namespace Vmi.Cli.Commands;

/// <summary>The most bytes of an input a command reads, what the input should be, and the cap as a user reads it.</summary>
internal sealed record InputLimit(long MaxBytes, string What, string Describe)
{
    /// <summary>
    /// A multiboot kernel is parsed whole in host memory. Its loadable part must fit the guest's
    /// RAM (at most 2040 MiB), but the file may also hold symbols and debug information, so RAM
    /// is no bound on the file. 256 MiB is several times a 32-bit vmlinux with full debug
    /// information, and what a mistaken path (a disk image, /dev/zero) may cost in host memory
    /// before it is refused, on top of the guest's RAM.
    /// </summary>
    public static readonly InputLimit Kernel = new(256L << 20, "a kernel", "256 MiB");

    /// <summary>An option ROM lives in the 128 KiB window a VMI kernel scans (the ABI's own size rule).</summary>
    public static readonly InputLimit OptionRom = new(Vmi.Abi.RomLayout.MaxImageSize, "an option ROM",
        $"{Vmi.Abi.RomLayout.MaxImageSize} bytes, the 0x{Vmi.Abi.RomLayout.ScanStart:X}-0x{Vmi.Abi.RomLayout.ScanEnd - 1:X} window");
}

/// <summary>
/// Reads the files commands take as input, with a size cap, so that no input costs more host
/// memory than it could usefully be: a regular file larger than the cap is refused by its size
/// before anything is read (a sparse 1 GiB file too), and a file that reports no size (a pipe,
/// /dev/zero) is read only up to one byte past the cap.
/// </summary>
internal static class InputFile
{
    private const int ChunkBytes = 1 << 20;

    /// <summary>
    /// The file's bytes, or false with the problem as "PATH: problem" (the caller puts "vmi: " and
    /// the input's role in front).
    /// </summary>
    public static bool TryRead(FileInfo file, InputLimit limit, out byte[] bytes, out string error)
    {
        bytes = [];
        string path = file.FullName;
        try
        {
            if (Directory.Exists(path))
            {
                error = $"{path}: is a directory";
                return false;
            }
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            // Devices and pipes report 0 (or cannot say): only the read below can tell their size.
            long length = stream.CanSeek ? stream.Length : 0;
            if (length > limit.MaxBytes)
            {
                error = $"{path}: {length} bytes: too large for {limit.What} (at most {limit.Describe})";
                return false;
            }
            if (!TryReadCapped(stream, limit.MaxBytes, out bytes))
            {
                error = $"{path}: more than {limit.MaxBytes} bytes: too large for {limit.What} (at most {limit.Describe})";
                return false;
            }
            error = "";
            return true;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            error = $"{path}: no such file";
        }
        catch (UnauthorizedAccessException)
        {
            error = $"{path}: permission denied";
        }
        catch (IOException e)
        {
            error = $"{path}: {e.Message}";
        }
        return false;
    }

    /// <summary>Reads to the end, in chunks, giving up once more than <paramref name="maxBytes"/> arrived.</summary>
    private static bool TryReadCapped(Stream stream, long maxBytes, out byte[] bytes)
    {
        var chunks = new List<byte[]>();
        long total = 0;
        while (true)
        {
            var chunk = new byte[(int)Math.Min(ChunkBytes, maxBytes + 1 - total)];
            int n = stream.ReadAtLeast(chunk, chunk.Length, throwOnEndOfStream: false);
            chunks.Add(n == chunk.Length ? chunk : chunk[..n]);
            total += n;
            if (total > maxBytes)
            {
                bytes = [];
                return false;
            }
            if (n < chunk.Length)
            {
                break;
            }
        }
        bytes = new byte[total];
        long at = 0;
        foreach (byte[] c in chunks)
        {
            c.CopyTo(bytes, at);
            at += c.Length;
        }
        return true;
    }
}
