using System.Runtime.CompilerServices;

namespace Vmi.Machine.Devices;

public enum BusError
{
    None,

    /// <summary>A port in the range is already claimed by another device.</summary>
    Overlap,

    /// <summary>The range has length 0.</summary>
    ZeroSizedRange,

    /// <summary>The length is negative or the range runs past port 0xFFFF.</summary>
    InvalidRange,
}

/// <summary>
/// The x86 I/O port space. Backed by one slot per port (64 Ki slots, about 1 MiB) so that each IN/OUT is a
/// single array index instead of a range search: the port space is small enough that Firecracker's
/// sorted-range <c>Bus</c> buys nothing here. Devices receive offsets from their base port.
/// </summary>
/// <remarks>
/// A multi-byte access goes to the device that owns its first port, like Firecracker's bus; a device that
/// cares about accesses straddling its end handles that itself. Unclaimed ports read as all ones because
/// nothing drives the ISA data bus and its pull-ups win; writes to them are dropped. Values are truncated to
/// the access width in both directions, so devices never see or leak stale upper bits.
/// </remarks>
public sealed class IoBus
{
    private const int PortCount = 0x10000;

    private readonly Slot[] _slots = new Slot[PortCount];
    private readonly ulong[] _reportedUnclaimed = new ulong[PortCount / 64];

    public long UnclaimedAccessCount { get; private set; }

    /// <summary>
    /// Debug hook (kvmtool's I/O-port debug switch): called with (port, size, isWrite) the first time each
    /// unclaimed port is touched, so a log shows every probed port once without flooding.
    /// </summary>
    public Action<ushort, int, bool>? UnclaimedAccessObserver { get; set; }

    /// <summary>All ones of an access width; widths other than 1 and 2 are treated as 4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint AllOnes(int size) => size switch
    {
        1 => 0xFFu,
        2 => 0xFFFFu,
        _ => 0xFFFF_FFFFu,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsValidSize(int size) => size is 1 or 2 or 4;

    public BusError TryRegister(ushort basePort, int length, IPortDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        BusError error = Check(basePort, length, out _);
        if (error != BusError.None)
        {
            return error;
        }

        for (int port = basePort; port < basePort + length; port++)
        {
            _slots[port] = new Slot(device, basePort);
        }

        return BusError.None;
    }

    /// <exception cref="InvalidOperationException">The range is invalid or overlaps a registered device;
    /// the message names the ports and the device already there.</exception>
    public void Register(ushort basePort, int length, IPortDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        BusError error = Check(basePort, length, out int conflict);
        if (error == BusError.None)
        {
            TryRegister(basePort, length, device);
            return;
        }

        string range = length > 0
            ? $"ports 0x{basePort:X4}-0x{basePort + length - 1:X4}"
            : $"port 0x{basePort:X4} with length {length}";
        string reason = error switch
        {
            BusError.Overlap =>
                $"port 0x{conflict:X4} is already claimed by {_slots[conflict].Device} (registered at 0x{_slots[conflict].Base:X4})",
            BusError.ZeroSizedRange => "the range is empty",
            _ => "the range runs past port 0xFFFF",
        };
        throw new InvalidOperationException($"Cannot register {device} at {range}: {reason} ({error}).");
    }

    /// <summary>The device claiming <paramref name="port"/>, or null.</summary>
    public IPortDevice? DeviceAt(ushort port) => _slots[port].Device;

    public uint Read(ushort port, int size)
    {
        Slot slot = _slots[port];
        if (slot.Device is { } device)
        {
            return device.Read((ushort)(port - slot.Base), size) & AllOnes(size);
        }

        OnUnclaimed(port, size, isWrite: false);
        return AllOnes(size);
    }

    public void Write(ushort port, int size, uint value)
    {
        Slot slot = _slots[port];
        if (slot.Device is { } device)
        {
            device.Write((ushort)(port - slot.Base), size, value & AllOnes(size));
            return;
        }

        OnUnclaimed(port, size, isWrite: true);
    }

    private BusError Check(ushort basePort, int length, out int conflict)
    {
        conflict = -1;
        if (length == 0)
        {
            return BusError.ZeroSizedRange;
        }

        if (length < 0 || basePort + length > PortCount)
        {
            return BusError.InvalidRange;
        }

        for (int port = basePort; port < basePort + length; port++)
        {
            if (_slots[port].Device is not null)
            {
                conflict = port;
                return BusError.Overlap;
            }
        }

        return BusError.None;
    }

    private void OnUnclaimed(ushort port, int size, bool isWrite)
    {
        UnclaimedAccessCount++;
        if (UnclaimedAccessObserver is { } observer)
        {
            ref ulong word = ref _reportedUnclaimed[port >> 6];
            ulong bit = 1UL << (port & 63);
            if ((word & bit) == 0)
            {
                word |= bit;
                observer(port, size, isWrite);
            }
        }
    }

    private readonly record struct Slot(IPortDevice? Device, ushort Base);
}
