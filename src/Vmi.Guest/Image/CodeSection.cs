namespace Vmi.Guest.Image;

/// <summary>An executable section of the kernel: where it is linked and its bytes in the file.</summary>
public sealed record CodeSection(string Name, uint Address, byte[] Bytes)
{
    /// <summary>One past the last address (64-bit: a section may end exactly at 4 GiB).</summary>
    public ulong End => Address + (ulong)Bytes.Length;

    /// <summary>Whether all of [<paramref name="address"/>, +<paramref name="length"/>) lies in the section.</summary>
    public bool Contains(uint address, int length) => address >= Address && address + (ulong)length <= End;

    /// <summary>The bytes at [<paramref name="address"/>, +<paramref name="length"/>), which must lie in the section.</summary>
    public ReadOnlySpan<byte> Slice(uint address, int length) => Bytes.AsSpan((int)(address - Address), length);
}
