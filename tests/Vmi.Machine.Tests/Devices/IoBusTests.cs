using Vmi.Machine.Devices;

namespace Vmi.Machine.Tests.Devices;

public sealed class IoBusTests
{
    [Fact]
    public void Overlapping_registration_is_refused_and_the_first_device_keeps_its_ports()
    {
        var bus = new IoBus();
        var first = new NullPort(0x11, "first");
        var second = new NullPort(0x22, "second");
        Assert.Equal(BusError.None, bus.TryRegister(0x3F8, 8, first));

        Assert.Equal(BusError.Overlap, bus.TryRegister(0x3FF, 2, second));
        Assert.Equal(BusError.Overlap, bus.TryRegister(0x3F0, 9, second));
        Assert.Equal(0x11u, bus.Read(0x3FF, 1));
        Assert.Equal(0xFFu, bus.Read(0x400, 1)); // the refused range claimed nothing
    }

    [Fact]
    public void Register_throws_naming_the_ports_and_the_device_already_there()
    {
        var bus = new IoBus();
        bus.Register(0x3F8, 8, new NullPort(0, "COM1"));

        var ex = Assert.Throws<InvalidOperationException>(() => bus.Register(0x3FC, 4, new NullPort(0, "intruder")));

        Assert.Contains("0x03FC-0x03FF", ex.Message);
        Assert.Contains("NullPort(COM1)", ex.Message);
        Assert.Contains("NullPort(intruder)", ex.Message);
        Assert.Contains(nameof(BusError.Overlap), ex.Message);
    }

    [Fact]
    public void Empty_and_out_of_range_registrations_are_refused()
    {
        var bus = new IoBus();
        var device = new NullPort(0, "d");

        Assert.Equal(BusError.ZeroSizedRange, bus.TryRegister(0x100, 0, device));
        Assert.Equal(BusError.InvalidRange, bus.TryRegister(0x100, -1, device));
        Assert.Equal(BusError.InvalidRange, bus.TryRegister(0xFFFF, 2, device));
        Assert.Equal(BusError.None, bus.TryRegister(0xFFFF, 1, device));
        Assert.Throws<InvalidOperationException>(() => bus.Register(0x200, 0, device));
    }

    [Fact]
    public void Adjacent_ranges_do_not_overlap()
    {
        var bus = new IoBus();
        Assert.Equal(BusError.None, bus.TryRegister(0x20, 2, new NullPort(1, "a")));
        Assert.Equal(BusError.None, bus.TryRegister(0x22, 2, new NullPort(2, "b")));
        Assert.Equal(BusError.None, bus.TryRegister(0x1E, 2, new NullPort(3, "c")));
        Assert.Equal(3u, bus.Read(0x1F, 1));
        Assert.Equal(1u, bus.Read(0x21, 1));
        Assert.Equal(2u, bus.Read(0x22, 1));
    }

    [Theory]
    [InlineData(1, 0xFFu)]
    [InlineData(2, 0xFFFFu)]
    [InlineData(4, 0xFFFF_FFFFu)]
    public void Unclaimed_ports_read_all_ones_of_the_access_width(int size, uint expected)
    {
        var bus = new IoBus();
        Assert.Equal(expected, bus.Read(0x1234, size));
        bus.Write(0x1234, size, 0);
        Assert.Equal(2, bus.UnclaimedAccessCount);
    }

    [Fact]
    public void Devices_see_offsets_from_their_base_not_absolute_ports()
    {
        var bus = new IoBus();
        var device = new RecordingDevice();
        bus.Register(0x3F8, 8, device);

        bus.Read(0x3FD, 1);
        bus.Write(0x3FA, 2, 0xBEEF);

        Assert.Equal([(false, 5, 1, 0u), (true, 2, 2, 0xBEEFu)], device.Accesses);
        Assert.Equal(0, bus.UnclaimedAccessCount);
    }

    [Fact]
    public void Values_are_truncated_to_the_access_width_in_both_directions()
    {
        var bus = new IoBus();
        var device = new RecordingDevice { ReadValue = 0xAABB_CCDD };
        bus.Register(0x60, 1, device);

        Assert.Equal(0xDDu, bus.Read(0x60, 1));
        Assert.Equal(0xCCDDu, bus.Read(0x60, 2));
        bus.Write(0x60, 1, 0x1234_5678);
        Assert.Equal(0x78u, device.Accesses[^1].Value);
    }

    [Fact]
    public void Unclaimed_observer_reports_each_port_once()
    {
        var bus = new IoBus();
        var seen = new List<(ushort Port, int Size, bool IsWrite)>();
        bus.UnclaimedAccessObserver = (port, size, isWrite) => seen.Add((port, size, isWrite));

        bus.Read(0x80, 1);
        bus.Write(0x80, 1, 0);
        bus.Write(0xED, 2, 0);

        Assert.Equal([(0x80, 1, false), (0xED, 2, true)], seen);
        Assert.Equal(3, bus.UnclaimedAccessCount);
    }

    [Fact]
    public void Port_accesses_through_the_devices_do_not_allocate()
    {
        var bus = new IoBus();
        var pic = new DualPic();
        long retired = 0;
        var clock = new Vmi.Machine.Time.GuestClock(1_000_000_000, () => retired);
        var timers = new Vmi.Machine.Time.TimerQueue();
        bus.Register(0x20, 2, pic.Master);
        bus.Register(0xA0, 2, pic.Slave);
        bus.Register(0x40, 4, new Pit8254(clock, timers, pic.GetLine(0)));
        bus.Register(0x3F8, 8, new Uart16550(Stream.Null, pic.GetLine(4)));
        bus.Register(0x80, 1, new NullPort(0, "POST"));
        bus.Write(0x43, 1, 0x34);
        bus.Write(0x40, 1, 0xA9);
        bus.Write(0x40, 1, 0x04);

        void Burst()
        {
            for (int i = 0; i < 100; i++)
            {
                retired += 1000;
                bus.Write(0x3F8, 1, (uint)'x');
                bus.Read(0x3FD, 1);
                bus.Write(0x43, 1, 0x00);
                bus.Read(0x40, 1);
                bus.Read(0x40, 1);
                bus.Write(0x20, 1, 0x20);
                bus.Read(0x21, 1);
                bus.Write(0x80, 1, 0);
                bus.Read(0x1234, 4);
                timers.RunDue(clock.Ticks);
            }
        }

        Burst(); // warm up: JIT, static initialisation
        long before = GC.GetAllocatedBytesForCurrentThread();
        Burst();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private sealed class RecordingDevice : IPortDevice
    {
        public List<(bool IsWrite, int Offset, int Size, uint Value)> Accesses { get; } = [];

        public uint ReadValue { get; init; }

        public uint Read(ushort offset, int size)
        {
            Accesses.Add((false, offset, size, 0));
            return ReadValue;
        }

        public void Write(ushort offset, int size, uint value) => Accesses.Add((true, offset, size, value));
    }
}
