using Iced.Intel;
using Vmi.Machine.Tests.Support;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Machine.Tests;

/// <summary>
/// A guest idle in HLT with only the console to wake it: the VM asks the host for input instead
/// of ending the run, and the byte arrives through the 16550's receive interrupt (IRQ 4).
/// </summary>
public sealed class HostInputWakeTests
{
    private static byte[] BuildEchoKernel()
    {
        var a = new Assembler(32);
        Label idle = a.CreateLabel(), handler = a.CreateLabel();
        a.mov(esp, TinyKernel.StackTop);
        a.lidt(__[TinyKernel.IdtrImage]);
        foreach ((ushort port, byte value) in new (ushort, byte)[]
        {
            (0x20, 0x11), (0x21, 0x20), (0x21, 0x04), (0x21, 0x01), (0x21, 0xEF), // PIC: vectors 0x20.., only IRQ4
            (0x3F9, 0x01),                                                        // UART IER: received-data interrupt
            (0x3FC, 0x08),                                                        // MCR OUT2, as PC drivers set it
        })
        {
            a.mov(dx, port);
            a.mov(al, value);
            a.@out(dx, al);
        }
        a.sti();
        a.Label(ref idle);
        a.hlt();
        a.jmp(idle);
        a.Label(ref handler);
        a.mov(dx, 0x3F8);
        a.@in(al, dx);      // RBR: the byte the host typed
        a.@out(0xF4, al);   // exit with it
        a.iretd();
        return TinyKernel.Build(a, (0x24, handler));
    }

    [Fact]
    public void AHaltedGuestIsWokenByHostInput()
    {
        var vm = Vm.BootMultiboot(new VmConfig(), BuildEchoKernel());
        int asked = 0;
        vm.WaitForHostInput = () =>
        {
            asked++;
            vm.Board.Uart.EnqueueInput("A"u8);
            return true;
        };

        VmRunResult r = vm.Run(1_000_000);

        Assert.Equal(1, asked);
        Assert.True(r.Reason == VmExitReason.DebugExit, r.Detail);
        Assert.Equal(('A' << 1) | 1, r.GuestExitCode);
    }

    [Fact]
    public void WithoutHostInputTheIdleGuestEndsTheRun()
    {
        var vm = Vm.BootMultiboot(new VmConfig(), BuildEchoKernel());
        vm.WaitForHostInput = () => false; // console closed

        VmRunResult r = vm.Run(1_000_000);

        Assert.Equal(VmExitReason.Halted, r.Reason);
        Assert.Contains("nothing can wake it", r.Detail, StringComparison.Ordinal);
    }
}
