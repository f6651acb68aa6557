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
