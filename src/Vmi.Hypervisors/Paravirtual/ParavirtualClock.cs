using Vmi.Abi;
using Vmi.Cpu;
using Vmi.Machine;
using Vmi.Rom;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Hypervisors.Paravirtual;

/// <summary>
/// The hypervisor's clock and alarm, offered through the VMI timer calls: GetCycleFrequency from
/// the ROM (the guest clock's rate), GetCycleCounter, SetAlarm, CancelAlarm and GetWallclockTime
/// as hypercalls. An alarm is delivered as IRQ0 through the PIC (wiring 0, the only one this PC
/// has), one-shot or periodic, at the guest-clock tick its expiry names, so a kernel that uses it
/// needs no PIT. The wall clock starts at a fixed time and follows guest time (deterministic).
/// </summary>
internal sealed class ParavirtualClock
{
    private readonly Vm vm;

    public ParavirtualClock(Vm vm)
    {
        this.vm = vm;
        vm.Board.AlarmArmed = () => alarm != 0;
    }

    /// <summary>Guest wall-clock time at power-on: 2026-01-01T00:00:00Z (fixed, so runs repeat exactly).</summary>
    public const long EpochAtPowerOnSeconds = 1_767_225_600;

    private const uint Periodic = 0x100, ApicWiring = 0x1_0000;

    private int alarm;
    private ulong period;

    public static readonly VmiCall[] HypercallCalls = [VmiCall.GetCycleCounter, VmiCall.SetAlarm, VmiCall.CancelAlarm, VmiCall.GetWallclockTime];

    /// <summary>GetCycleFrequency in the ROM: the guest clock's ticks per second, a constant.</summary>
    public static CallSpec Frequency(long cyclesPerSecond) => CallSpec.Code(a =>
    {
        a.mov(eax, (uint)cyclesPerSecond);
        a.mov(edx, (uint)((ulong)cyclesPerSecond >> 32));
        a.ret();
    });

    /// <summary>WallclockUpdated: the wall clock is never stepped here.</summary>
    public static CallSpec NeverUpdated => CallSpec.Code(a =>
    {
        a.xor(eax, eax);
        a.ret();
    });

    /// <summary>Carries out a timer hypercall; false for another call. Sets <paramref name="refusal"/> when the arguments are not ones this PC can honour.</summary>
    public bool TryHandle(VmiCall call, out string? refusal)
    {
        refusal = null;
        Vmi.Cpu.Cpu cpu = vm.Cpu;
        switch (call)
        {
            case VmiCall.GetCycleCounter:
                {
                    ulong tsc = Tsc();
                    cpu.Eax = (uint)tsc;
                    cpu.Edx = (uint)(tsc >> 32);
                    return true;
                }
            case VmiCall.SetAlarm:
                {
                    uint flags = cpu.Eax;
                    ulong expiry = cpu.Edx | ((ulong)cpu.Ecx << 32);
                    if (!cpu.TryReadLinear32(cpu.Esp + Hypercalls.FirstStackArgumentOffset, user: false, out uint low, out _)
                        || !cpu.TryReadLinear32(cpu.Esp + Hypercalls.FirstStackArgumentOffset + 4, user: false, out uint high, out _))
                    {
                        refusal = "SetAlarm refused (period not readable)";
                        return true;
                    }
                    if ((flags & ApicWiring) != 0 || (flags & 0xFF) > 1)
                    {
                        refusal = "SetAlarm refused (only counter 0/1 wired to IRQ0)";
                        return true;
                    }
                    period = (flags & Periodic) != 0 ? low | ((ulong)high << 32) : 0;
                    Arm(expiry);
                    return true;
                }
            case VmiCall.CancelAlarm:
                Cancel();
                return true;
            case VmiCall.GetWallclockTime:
                {
                    long ns = EpochAtPowerOnSeconds * 1_000_000_000 + vm.Clock.DeviceCyclesAt(vm.Clock.Ticks, 1_000_000_000);
                    cpu.Eax = (uint)ns;
                    cpu.Edx = (uint)((ulong)ns >> 32);
                    return true;
                }
            default:
                return false;
        }
    }

    private ulong Tsc()
    {
        vm.Cpu.TryReadMsr(0x10, out ulong tsc);
        return tsc;
    }

    private void Arm(ulong expiry)
    {
        Cancel();
        ulong now = Tsc();
        long delay = expiry > now ? (long)Math.Min(expiry - now, (ulong)long.MaxValue / 2) : 0;
        alarm = vm.Timers.Schedule(vm.Clock.Ticks + Math.Max(1, delay), () => Fire(expiry));
    }

    private void Cancel()
    {
        if (alarm != 0)
        {
            vm.Timers.Cancel(alarm);
            alarm = 0;
        }
    }

    private void Fire(ulong expiry)
    {
        alarm = 0;
        // A rising edge on IRQ0 (the line idles high, as the PIT leaves it when it is not counting).
        var irq0 = vm.Board.Pic.GetLine(0);
        irq0.Set(false);
        irq0.Set(true);
        if (period != 0)
        {
            Arm(expiry + period);
        }
    }
}
