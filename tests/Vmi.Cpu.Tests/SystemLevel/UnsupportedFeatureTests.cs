using Iced.Intel;
using Vmi.Cpu.Tests.Support;
using static Iced.Intel.AssemblerRegisters;
using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests.SystemLevel;

/// <summary>
/// Task gates, task switches, call gates and virtual-8086 mode are deliberately not emulated: the
/// VM must stop with <see cref="CpuExitReason.Unsupported"/> and a diagnostic, never half-run them
/// or throw on the host.
/// </summary>
public sealed class UnsupportedFeatureTests
{
    private const ushort GateSelector = H.FirstFreeSelector;

    private static CpuExit RunToStop(H h)
    {
        CpuExit exit = h.Cpu.Run(1000);
        Assert.True(exit.Reason == CpuExitReason.Unsupported, $"{exit.Reason}: {exit.Detail}");
        Assert.False(string.IsNullOrEmpty(exit.Detail));
        return exit;
    }

    [Fact]
    public void InterruptThroughTaskGateStops()
    {
        var h = new H();
        h.SetGate(0x44, 0, type: 0x5, selector: H.TssSelector);
        var a = new Assembler(32);
        a.@int(0x44);
        h.Load(a);

        CpuExit exit = RunToStop(h);

        Assert.Contains("task gate", exit.Detail);
        Assert.Equal(H.NoVector, h.LastVector);
    }

    [Fact]
    public void ExceptionThroughTaskGateStops()
    {
        // The classic use: #DF through a task gate to get a known-good stack.
        var h = new H();
        h.SetGate(Vectors.UD, 0, type: 0x5, selector: H.TssSelector);
        var a = new Assembler(32);
        a.ud2();
        h.Load(a);

        CpuExit exit = RunToStop(h);

        Assert.Contains("task gate", exit.Detail);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FarTransferThroughCallGateStops(bool call)
    {
        var h = new H();
        // 32-bit call gate (type 0xC), DPL 3, target Code0:CodeBase.
        h.Memory.Write32(H.GdtBase + GateSelector, (H.CodeBase & 0xFFFF) | ((uint)H.Code0 << 16));
        h.Memory.Write32(H.GdtBase + GateSelector + 4, (H.CodeBase & 0xFFFF_0000) | 0xEC00);
        var a = new Assembler(32);
        if (call)
        {
            a.call(GateSelector | 3, 0);
        }
        else
        {
            a.jmp(GateSelector | 3, 0);
        }
        GuestProgram p = h.Load(a);
        h.EnterRing(3, p.Address, H.Ring3StackTop);

        CpuExit exit = RunToStop(h);

        Assert.Contains("call gate", exit.Detail);
        Assert.Equal(3, h.Cpu.Cpl);
    }

    [Fact]
    public void FarJumpToTssStops()
    {
        var h = new H();
        h.SetDescriptor(GateSelector, H.TssBase, H.TssLimit, 0x89, 0); // available TSS
        var a = new Assembler(32);
        a.jmp(GateSelector, 0);
        h.Load(a);

        CpuExit exit = RunToStop(h);

        Assert.Contains("task switch", exit.Detail);
    }

    [Fact]
    public void IretWithNestedTaskStops()
    {
        var h = new H();
        var a = new Assembler(32);
        a.push(EFlags.NT | EFlags.Reserved1);
        a.popfd();
        a.iretd();
        h.Load(a);

        CpuExit exit = RunToStop(h);

        Assert.Contains("NT", exit.Detail);
    }

    [Fact]
    public void IretToVirtual8086ModeStops()
    {
        var h = new H();
        var a = new Assembler(32);
        for (int i = 0; i < 4; i++)
        {
            a.push(0); // GS, FS, DS, ES of the V86 frame
        }
        a.push(0);            // SS
        a.push(0x1000);       // ESP
        a.push(EFlags.VM | EFlags.Reserved1);
        a.push(0);            // CS
        a.push(0x100);        // EIP
        a.iretd();
        h.Load(a);

        CpuExit exit = RunToStop(h);

        Assert.Contains("virtual-8086", exit.Detail);
        Assert.Equal(0u, h.Cpu.Eflags & EFlags.VM);
    }

    [Fact]
    public void RunningAgainAfterAStopDoesNotThrow()
    {
        var h = new H();
        h.SetGate(0x44, 0, type: 0x5, selector: H.TssSelector);
        var a = new Assembler(32);
        a.@int(0x44);
        h.Load(a);

        RunToStop(h);
        CpuExit again = h.Cpu.Run(1000);

        Assert.Equal(CpuExitReason.Unsupported, again.Reason);
    }
}
