using Vmi.Machine.Boot;
using static Vmi.Machine.Tests.Boot.TestElfBuilder;

namespace Vmi.Machine.Tests.Boot;

/// <summary>Where the loader puts modules, the boot GDT and the information block, given the kernel's segments.</summary>
public sealed class MultibootLoaderTests
{
    private const uint Ram = 64u << 20;

    private static MultibootImage Kernel(params (uint Address, uint MemorySize)[] segments)
    {
        var b = new TestElfBuilder { Entry = segments[0].Address };
        foreach (var (address, size) in segments)
            b.Segments.Add(new Segment(address, Pattern(0x10, 1), size, address, Flags: 7));
        return MultibootImage.Parse(b.Build());
    }

    private static MultibootModule Module(int size, string name = "m") => new(new byte[size], System.Text.Encoding.ASCII.GetBytes(name));

    private static BootPlan Plan(MultibootImage kernel, uint ram = Ram, params MultibootModule[] modules) =>
        MultibootLoader.Plan(kernel, ram, "cmd"u8, modules);

    private static void AssertClear(BootPlan plan, ulong start, ulong end)
    {
        Assert.False(plan.BootGdtAddress < end && start < plan.BootGdtAddress + (ulong)MultibootLoader.BootGdtSize, $"boot GDT at 0x{plan.BootGdtAddress:X}");
        Assert.False(plan.InfoAddress < end && start < plan.InfoAddress + (ulong)plan.Info.Length, $"information at 0x{plan.InfoAddress:X}");
        foreach (var m in plan.Modules)
            Assert.False(m.Start < end && start < Math.Max(m.End, m.Start + 1UL), $"module at 0x{m.Start:X}");
    }

    [Fact]
    public void UsualKernel_GetsQemusAddresses()
    {
        var plan = Plan(MultibootImage.Parse(Valid().Build()));

        Assert.Equal(GuestLayout.PreferredBootGdt, plan.BootGdtAddress);
        Assert.Equal(GuestLayout.PreferredMultibootInfo, plan.InfoAddress);
    }

    [Fact]
    public void KernelAt0x500_MovesTheBootGdtPastItsWholeSpan()
    {
        var plan = Plan(Kernel((0x500, 0x100), (0x2000, 0x100)));

        AssertClear(plan, 0x500, 0x2100); // the gap between the segments is the kernel's too
        Assert.Equal(0x2100u, plan.BootGdtAddress);
        Assert.Equal(GuestLayout.PreferredMultibootInfo, plan.InfoAddress);
    }

    [Fact]
    public void KernelOver0x9000_MovesTheInformationPastIt()
    {
        var plan = Plan(Kernel((0x7000, 0x100), (0x8000, 0x7000)));

        AssertClear(plan, 0x7000, 0xF000);
        Assert.Equal(0xF000u, plan.InfoAddress);
        Assert.Equal(GuestLayout.PreferredBootGdt, plan.BootGdtAddress);
    }

    [Fact]
    public void Modules_ArePageAlignedInOrderAboveTheKernel()
    {
        var plan = Plan(MultibootImage.Parse(Valid().Build()), Ram, Module(0x1001, "a"), Module(0, "empty"), Module(5, "c"));

        // Valid() ends at 0x103000.
        Assert.Equal([0x0010_3000u, 0x0010_5000u, 0x0010_5000u], plan.Modules.Select(m => m.Start));
        Assert.Equal([0x0010_4001u, 0x0010_5000u, 0x0010_5005u], plan.Modules.Select(m => m.End));
    }

    [Fact]
    public void Modules_GoBelowTheKernelWhenThereIsNoRoomAbove()
    {
        // The kernel runs to 16 KiB short of the end of 2 MiB of RAM.
        var plan = Plan(Kernel((0x10_0000, 0xF_C000)), 2u << 20, Module(0x8000));

        Assert.Equal(0x1000u, plan.Modules[0].Start);
        AssertClear(plan, 0x10_0000, 0x1F_C000);
    }

    [Fact]
    public void GapsInsideTheKernelAreUsedOnlyWhenNothingElseIsLeft()
    {
        // Low memory and all of high memory but a gap between two segments are the kernel's.
        var plan = Plan(Kernel((0x500, 0x9F700), (0x10_0000, 0x8_0000), (0x18_1000, 0x7_F000)), 2u << 20);

        Assert.Equal(0x18_0000u, plan.BootGdtAddress);
        Assert.InRange(plan.InfoAddress, 0x18_0000u, 0x18_1000u - (uint)plan.Info.Length);
    }

    [Fact]
    public void NoRoom_NamesWhatWasToBePlacedAndWhatTookTheRam()
    {
        var e = Assert.Throws<BootImageException>(() => Plan(Kernel((0x500, 0x9F700), (0x10_0000, 0x10_0000)), 2u << 20));

        Assert.Contains("no room in RAM for the boot GDT (0x18 bytes", e.Message, StringComparison.Ordinal);
        Assert.Contains("free RAM [0x00000500, 0x0009FC00) and [0x00100000, 0x00200000)", e.Message, StringComparison.Ordinal);
        Assert.Contains("kernel segment 0 [0x00000500, 0x0009FC00), kernel segment 1 [0x00100000, 0x00200000)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ModuleTooBigForRam_IsNamed()
    {
        var e = Assert.Throws<BootImageException>(() => Plan(MultibootImage.Parse(Valid().Build()), 2u << 20, Module(1 << 20, "big.bin x")));

        Assert.Contains("no room in RAM for module 0 'big.bin x' (0x100000 bytes, 4096-byte aligned)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SegmentsStillHaveToFit() =>
        Assert.Throws<BootImageException>(() => Plan(Kernel((0x10_0000, 0x20_0000)), 2u << 20));
}
