using System.Globalization;
using System.Text;

namespace Vmi.TestSupport.Linux;

/// <summary>
/// A Linux initramfs: a cpio archive in the "newc" format the kernel unpacks into its rootfs
/// (Documentation/driver-api/early-userspace/buffer-format.rst): per entry a 110-byte ASCII header
/// ("070701" and 13 eight-digit hex fields), the NUL-terminated name padded to 4 bytes, the data
/// padded to 4 bytes; "TRAILER!!!" ends it. Entries are written in the order added, so a directory
/// must come before what it holds.
/// </summary>
public sealed class Initramfs
{
    private const uint Directory = 0x4000, RegularFile = 0x8000, CharacterDevice = 0x2000;

    private readonly MemoryStream archive = new();
    private uint nextInode = 1;

    public Initramfs AddDirectory(string path, uint permissions = 0x1ED) => Add(path, Directory | permissions, [], 0, 0);

    public Initramfs AddFile(string path, byte[] contents, uint permissions = 0x1A4) => Add(path, RegularFile | permissions, contents, 0, 0);

    public Initramfs AddExecutable(string path, byte[] contents) => AddFile(path, contents, 0x1ED);

    /// <summary>A character device node (e.g. /dev/console, 5:1, which the kernel opens for init's stdio before any devtmpfs exists).</summary>
    public Initramfs AddCharacterDevice(string path, uint major, uint minor, uint permissions = 0x180) => Add(path, CharacterDevice | permissions, [], major, minor);

    /// <summary>The archive, with its trailer.</summary>
    public byte[] ToArray()
    {
        var copy = new MemoryStream();
        archive.WriteTo(copy);
        WriteEntry(copy, "TRAILER!!!", 0, 0, [], 0, 0);
        return copy.ToArray();
    }

    private Initramfs Add(string path, uint mode, byte[] data, uint rdevMajor, uint rdevMinor)
    {
        string name = path.TrimStart('/');
        if (name.Length == 0 || name.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{path}' is not a path an initramfs can hold", nameof(path));
        }
        WriteEntry(archive, name, nextInode++, mode, data, rdevMajor, rdevMinor);
        return this;
    }

    private static void WriteEntry(Stream to, string name, uint inode, uint mode, byte[] data, uint rdevMajor, uint rdevMinor)
    {
        byte[] nameBytes = Encoding.UTF8.GetBytes(name + "\0");
        uint nlink = (mode & 0xF000) == Directory ? 2u : 1u;
        var header = new StringBuilder("070701");
        foreach (uint field in new[] { inode, mode, 0u, 0u, mode == 0 ? 1u : nlink, 0u, (uint)data.Length, 0u, 0u, rdevMajor, rdevMinor, (uint)nameBytes.Length, 0u })
        {
            header.Append(field.ToString("X8", CultureInfo.InvariantCulture));
        }
        byte[] headerBytes = Encoding.ASCII.GetBytes(header.ToString());
        to.Write(headerBytes);
        to.Write(nameBytes);
        Pad(to, headerBytes.Length + nameBytes.Length);
        to.Write(data);
        Pad(to, data.Length);
    }

    private static void Pad(Stream to, int length)
    {
        for (int i = length; i % 4 != 0; i++)
        {
            to.WriteByte(0);
        }
    }
}
