using Vmi.Machine.Devices;

namespace Vmi.Machine.Tests.Devices;

public sealed class NullPortTests
{
    [Fact]
    public void Reads_return_the_configured_value_at_every_width_and_writes_are_absorbed()
    {
        var bus = new IoBus();
        var a20 = new NullPort(0x02, "System Control Port A: A20 on");
        bus.Register(0x92, 1, a20);

        Assert.Equal(0x02u, bus.Read(0x92, 1));
        Assert.Equal(0x02u, bus.Read(0x92, 4));
        bus.Write(0x92, 1, 0x03);

        Assert.Equal(0x02u, bus.Read(0x92, 1)); // the fast-reset/A20 write changed nothing
        Assert.Equal(1, a20.WriteCount);
        Assert.Equal(0x03u, a20.LastWrittenValue);
        Assert.Equal(0, bus.UnclaimedAccessCount);
    }

    [Fact]
    public void Read_value_is_truncated_to_the_access_width()
    {
        var bus = new IoBus();
        bus.Register(0x80, 1, new NullPort(0xFFFF_FF7F, "POST"));

        Assert.Equal(0x7Fu, bus.Read(0x80, 1));
        Assert.Equal(0xFF7Fu, bus.Read(0x80, 2));
    }

    [Fact]
    public void ToString_carries_the_description()
    {
        Assert.Equal("NullPort(0xED delay)", new NullPort(0, "0xED delay").ToString());
    }
}
