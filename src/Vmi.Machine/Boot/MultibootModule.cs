namespace Vmi.Machine.Boot;

/// <summary>
/// A multiboot module to load with the kernel (<c>qemu -initrd</c>): its bytes, and the string the
/// kernel finds in the module list, as given (QEMU passes "FILE ARGS").
/// </summary>
public sealed record MultibootModule(byte[] Data, byte[] String)
{
    /// <summary>The string as text, for messages (invalid UTF-8 shows as U+FFFD).</summary>
    public string Name => System.Text.Encoding.UTF8.GetString(String);
}

/// <summary>A module where the loader put it: guest RAM [<see cref="Start"/>, <see cref="End"/>).</summary>
public sealed record PlacedModule(uint Start, MultibootModule Module)
{
    public uint End => Start + (uint)Module.Data.Length;
}
