using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests.SystemLevel;

/// <summary>The model-specific registers a kernel touches before it has an IDT to catch a #GP.</summary>
public sealed class MsrTests
{
    [Fact]
    public void TheMicrocodeRevisionMsrReadsZeroAndAcceptsIntelsClearingWrite()
    {
        var h = new H();

        Assert.True(h.Cpu.TryWriteMsr(0x8B, 0));
        Assert.True(h.Cpu.TryReadMsr(0x8B, out ulong revision));
        Assert.Equal(0ul, revision);
        Assert.False(h.Cpu.TryReadMsr(0x8C, out _)); // a neighbour nobody implements still faults
    }
}
