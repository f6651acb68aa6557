using Iced.Intel;
using Vmi.Cpu.Tests.Support;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Cpu.Tests.SystemLevel;

public sealed class SmokeTests
{
    [Fact]
    public void LabelMemoryOperand()
    {
        var h = new GuestHarness();
        GuestProgram p = h.Load((a, l) =>
        {
            a.mov(__byte_ptr[l["next"] + 1], 0x42);
            l.Define(a, "next");
            a.mov(al, 0);
            a.hlt();
        });
        h.RunUntilHalt();
        Assert.Equal(0x42u, h.Cpu.Eax & 0xFF);
        Assert.Equal(p.Address + 7, p["next"]);
    }
}
