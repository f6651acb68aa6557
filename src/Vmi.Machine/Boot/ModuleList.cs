namespace Vmi.Machine.Boot;

/// <summary>
/// Reads a module list given the way <c>qemu -initrd</c> takes one: "FILE [ARGS][,FILE [ARGS]…]".
/// </summary>
/// <remarks>
/// Same rules as QEMU's load_multiboot (hw/i386/multiboot.c) with get_opt_value
/// (util/qemu-option.c): items are separated by ',', and ",," stands for a literal comma in a
/// file name or its arguments. The file name ends at the first space. The module's string is the
/// whole item, "FILE ARGS", with ",," already turned into ","; that is what the kernel finds in
/// the module list (checked against qemu-system-i386 7.2). Work is on bytes, so arguments that are
/// not UTF-8 reach the kernel unchanged.
/// </remarks>
public static class ModuleList
{
    /// <summary>Each item's file name and module string, in order.</summary>
    public static IReadOnlyList<(string Path, byte[] String)> Split(ReadOnlySpan<byte> list)
    {
        var items = new List<(string, byte[])>();
        var item = new List<byte>();
        int i = 0;
        while (true)
        {
            bool end = i == list.Length;
            if (!end && list[i] != (byte)',')
            {
                item.Add(list[i++]);
                continue;
            }
            if (!end && i + 1 < list.Length && list[i + 1] == (byte)',')
            {
                item.Add((byte)',');
                i += 2;
                continue;
            }
            items.Add(Item(items.Count, [.. item]));
            item.Clear();
            if (end)
                return items;
            i++;
        }
    }

    /// <summary>One item: the file name is everything before the first space.</summary>
    private static (string Path, byte[] String) Item(int index, byte[] text)
    {
        int space = Array.IndexOf(text, (byte)' ');
        string path = System.Text.Encoding.UTF8.GetString(text, 0, space < 0 ? text.Length : space);
        if (path.Length == 0)
        {
            throw new BootImageException(
                $"module {index} has no file name (item '{System.Text.Encoding.UTF8.GetString(text)}'; items are \"FILE [ARGS]\" separated by ',', ',,' is a literal comma)");
        }
        return (path, text);
    }

    /// <summary>
    /// Splits the list and reads every module file with <paramref name="read"/> (default: the whole
    /// file); a file that cannot be read (<paramref name="read"/> throws an I/O error) is a
    /// <see cref="BootImageException"/> naming it.
    /// </summary>
    public static IReadOnlyList<MultibootModule> Load(ReadOnlySpan<byte> list, Func<string, byte[]>? read = null)
    {
        read ??= File.ReadAllBytes;
        var modules = new List<MultibootModule>();
        foreach (var (path, text) in Split(list))
        {
            try
            {
                modules.Add(new MultibootModule(read(path), text));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
            {
                throw new BootImageException($"module {modules.Count}: cannot read '{path}': {e.Message}");
            }
        }
        return modules;
    }
}
