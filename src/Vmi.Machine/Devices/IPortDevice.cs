namespace Vmi.Machine.Devices;

/// <summary>
/// A device on the x86 I/O port bus. It sees offsets from the base port the board registered it at,
/// never absolute port numbers (Firecracker <c>BusDevice</c>), so the same chip can sit at any address.
/// </summary>
/// <remarks>
/// <paramref name="size"/> is 1, 2 or 4 bytes (IN/OUT AL, AX, EAX). A device counts and ignores widths it
/// does not support and never throws on guest input; a width it ignores reads as all ones.
/// </remarks>
public interface IPortDevice
{
    uint Read(ushort offset, int size);

    void Write(ushort offset, int size, uint value);
}
