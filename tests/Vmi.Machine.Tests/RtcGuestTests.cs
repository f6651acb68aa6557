using Iced.Intel;
using Vmi.Machine.Tests.Support;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Machine.Tests;

/// <summary>
/// Hand-assembled kernels that use the CMOS clock of the whole machine the way Linux does: reading
/// the time around the update cycle as mc146818_get_time does, waiting for UIP's falling edge as
/// 2.6-era kernels did, and taking update-ended interrupts on IRQ 8 through both PICs. Guest time
/// runs at 10 MHz here, so a guest second is ten million instructions.
/// </summary>
public sealed class RtcGuestTests
{
    private const long TenMHz = 10_000_000;
    private const uint Result = TinyKernel.Data;
    private const uint Counter = TinyKernel.Data + 0x20;
    private static readonly DateTime Start = new(2026, 12, 1, 12, 0, 0, DateTimeKind.Utc);

    /// <summary>Reads CMOS byte <paramref name="index"/> into AL.</summary>
    private static void ReadCmos(Assembler a, byte index)
    {
        a.mov(al, index);
        a.@out(0x70, al);
        a.@in(al, 0x71);
    }

    private static void WriteCmos(Assembler a, byte index, byte value)
    {
        a.mov(al, index);
        a.@out(0x70, al);
        a.mov(al, value);
        a.@out(0x71, al);
    }

    /// <summary>
    /// Linux's mc146818_avoid_UIP + mc146818_get_time: sample the seconds, retry while UIP is set,
    /// read every byte, and accept the reading only if UIP is still clear and the seconds unchanged.
    /// </summary>
    private static byte[] GetTimeKernel()
    {
        var a = new Assembler(32);
        Label retry = a.CreateLabel();
        a.mov(esp, TinyKernel.StackTop);
        a.Label(ref retry);
        ReadCmos(a, 0x00);
        a.mov(bl, al);
        ReadCmos(a, 0x0A);
        a.test(al, 0x80);
        a.jnz(retry);
        ReadCmos(a, 0x00);
        a.cmp(al, bl);
        a.jne(retry);
        byte[] indexes = [0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32, 0x06, 0x0B, 0x0D];
        for (int i = 0; i < indexes.Length; i++)
        {
            ReadCmos(a, indexes[i]);
            a.mov(__byte_ptr[Result + (uint)i], al);
        }
        ReadCmos(a, 0x0A);
        a.test(al, 0x80);
        a.jnz(retry);
        ReadCmos(a, 0x00);
        a.cmp(al, bl);
        a.jne(retry);
        a.mov(al, 0);
        a.@out(0xF4, al);
        return TinyKernel.Build(a);
    }

    [Fact]
    public void A_guest_reads_the_configured_time_as_mc146818_get_time_does()
    {
        var vm = Vm.BootMultiboot(new VmConfig { RtcStart = Start, NominalHz = TenMHz }, GetTimeKernel());
        VmRunResult r = vm.Run(1_000_000);

        Assert.True(r.Reason == VmExitReason.DebugExit, r.Detail);
        // seconds, minutes, hours, day, month, year, century, weekday (Tuesday), B (24 h BCD), D (VRT)
        Assert.Equal([0x00, 0x00, 0x12, 0x01, 0x12, 0x26, 0x20, 0x03, 0x02, 0x80], Bytes(vm, Result, 10));
    }

    /// <summary>
    /// The 2.6-era get_cmos_time: wait for UIP to rise, then for it to fall, and read the seconds
    /// just after the update. Without a clock behind port 0x71 UIP reads as 1 forever.
    /// </summary>
    [Fact]
    public void A_guest_waiting_for_UIPs_falling_edge_reads_just_after_the_update()
    {
        var a = new Assembler(32);
        Label waitRise = a.CreateLabel(), waitFall = a.CreateLabel();
        a.mov(esp, TinyKernel.StackTop);
        a.Label(ref waitRise);
        ReadCmos(a, 0x0A);
        a.test(al, 0x80);
        a.jz(waitRise);
        a.Label(ref waitFall);
        ReadCmos(a, 0x0A);
        a.test(al, 0x80);
        a.jnz(waitFall);
        ReadCmos(a, 0x00);
        a.mov(__byte_ptr[Result], al);
        a.mov(al, 0);
        a.@out(0xF4, al);
        var vm = Vm.BootMultiboot(new VmConfig { RtcStart = Start, NominalHz = TenMHz }, TinyKernel.Build(a));

        VmRunResult r = vm.Run(20_000_000);

        Assert.True(r.Reason == VmExitReason.DebugExit, r.Detail);
        Assert.Equal(0x01, vm.Memory.Read8(Result));
        Assert.InRange(r.GuestSeconds, 1.0, 1.000_01); // UIP fell at the update, one guest second in
    }

    [Fact]
    public void Update_ended_interrupts_reach_the_CPU_on_IRQ_8_and_wake_it_from_HLT()
    {
        var a = new Assembler(32);
        Label loop = a.CreateLabel(), handler = a.CreateLabel();
        a.mov(esp, TinyKernel.StackTop);
        a.lidt(__[TinyKernel.IdtrImage]);
        foreach ((byte port, byte value) in new (byte, byte)[]
        {
            (0x20, 0x11), (0x21, 0x20), (0x21, 0x04), (0x21, 0x01), // master: vectors 0x20.., slave on IR2
            (0xA0, 0x11), (0xA1, 0x28), (0xA1, 0x02), (0xA1, 0x01), // slave: vectors 0x28.., cascade identity 2
            (0x21, 0xFB), (0xA1, 0xFE),                             // only the cascade and IRQ 8 unmasked
        })
        {
            a.mov(al, value);
            a.@out(port, al);
        }
        WriteCmos(a, 0x0B, 0x12); // UIE, 24 h BCD; the PIT is never programmed
        a.sti();
        a.Label(ref loop);
        a.hlt();
        a.cmp(__dword_ptr[Counter], 3);
        a.jb(loop);
        a.cli();
        a.mov(al, 0);
        a.@out(0xF4, al);
        a.Label(ref handler);
        a.inc(__dword_ptr[Counter]);
        ReadCmos(a, 0x0C); // acknowledge at the RTC, as rtc-cmos does
        a.mov(__byte_ptr[Result], al);
        a.mov(al, 0x20);
        a.@out(0xA0, al);
        a.@out(0x20, al);
        a.iretd();
        var vm = Vm.BootMultiboot(new VmConfig { RtcStart = Start, NominalHz = TenMHz }, TinyKernel.Build(a, (0x28, handler)));

        VmRunResult r = vm.Run(1_000_000);

        Assert.True(r.Reason == VmExitReason.DebugExit, r.Detail);
        Assert.Equal(3, r.Counters.ExternalInterrupts);
        Assert.Equal(0xD0, vm.Memory.Read8(Result)); // IRQF | PF (the 1024 Hz tap runs) | UF
        Assert.InRange(r.GuestSeconds, 3.0, 3.000_01);
        Assert.True(r.Instructions < 1000, $"HLT must skip idle time, but {r.Instructions} instructions ran");
    }

    private static byte[] Bytes(Vm vm, uint address, int count)
    {
        var bytes = new byte[count];
        vm.Memory.ReadBytes(address, bytes);
        return bytes;
    }
}
