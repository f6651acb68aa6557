namespace Vmi.Machine.Boot;

/// <summary>
/// One piece of the kernel to copy into guest RAM: <see cref="FileBytes"/> at
/// <see cref="PhysicalAddress"/>, then zeroes up to <see cref="MemorySize"/> (the bss).
/// The parser guarantees <c>FileBytes.Length &lt;= MemorySize</c> and that the range does not wrap 4 GiB.
/// </summary>
public sealed record LoadSegment(uint PhysicalAddress, byte[] FileBytes, uint MemorySize)
{
    /// <summary>Exclusive end address, as a 64-bit value so a segment ending exactly at 4 GiB is representable.</summary>
    public ulong EndAddress => (ulong)PhysicalAddress + MemorySize;

    /// <summary>
    /// The kernel may write to this segment (ELF PF_W; always for an a.out-kludge image, whose one
    /// range holds data and bss). Only a segment the kernel never writes may lie in the read-only
    /// BIOS area (see <see cref="MultibootImage.ValidateFor"/>).
    /// </summary>
    public bool Writable { get; init; } = true;
}
