using Vmi.Machine.Devices;

namespace Vmi.Machine.Tests.Devices;

public sealed class DebugExitPortTests
{
    [Theory]
    [InlineData(1, 0x10u, 0x21)]
    [InlineData(1, 0x00u, 0x01)]
    [InlineData(1, 0x1FFu, 0x1FF)] // masked to the byte: v = 0xFF
    [InlineData(2, 0x1234u, 0x2469)]
    [InlineData(4, 0x0001_0000u, 0x0002_0001)]
    public void A_write_of_v_exits_with_v_shifted_left_or_1(int size, uint value, int expected)
    {
        var exits = new List<int>();
        var bus = new IoBus();
        bus.Register(0x501, 2, new DebugExitPort(exits.Add));

        bus.Write(0x501, size, value);

        Assert.Equal([expected], exits);
    }

    /// <summary>
    /// QEMU's isa-debug-exit at 0xF4 with iosize=4, as its TCG memory core dispatches port I/O: the
    /// whole access goes to the region holding its first port, which refuses it when the offset is
    /// not a multiple of the width (an "unaligned" access); ending past the region is not checked.
    /// </summary>
    [Theory]
    [InlineData(0xF4, 1, true)]
    [InlineData(0xF4, 2, true)]
    [InlineData(0xF4, 4, true)]
    [InlineData(0xF5, 1, true)]
    [InlineData(0xF5, 2, false)]
    [InlineData(0xF5, 4, false)]
    [InlineData(0xF6, 1, true)]
    [InlineData(0xF6, 2, true)]
    [InlineData(0xF6, 4, false)]
    [InlineData(0xF7, 1, true)]
    [InlineData(0xF7, 2, false)]
    [InlineData(0xF7, 4, false)]
    public void A_write_exits_only_when_aligned_to_its_width_inside_the_range(int port, int size, bool exits)
    {
        var exitCodes = new List<int>();
        var bus = new IoBus();
        var device = new DebugExitPort(exitCodes.Add);
        bus.Register(0xF4, 4, device);

        bus.Write((ushort)port, size, 0x0403_0201);

        Assert.Equal(exits ? [(int)(((0x0403_0201u & IoBus.AllOnes(size)) << 1) | 1)] : [], exitCodes);
        Assert.Equal(exits ? 0 : 1, device.MissedAccessCount);
    }

    [Fact]
    public void Reads_return_zero_and_do_not_exit()
    {
        var exits = new List<int>();
        var bus = new IoBus();
        bus.Register(0x501, 1, new DebugExitPort(exits.Add));

        Assert.Equal(0u, bus.Read(0x501, 1));
        Assert.Equal(0u, bus.Read(0x501, 4));
        Assert.Empty(exits);
    }

    [Fact]
    public void Unsupported_width_is_counted_and_ignored()
    {
        var exits = new List<int>();
        var port = new DebugExitPort(exits.Add);

        port.Write(0, 3, 0x10);

        Assert.Empty(exits);
        Assert.Equal(1, port.MissedAccessCount);
    }
}
