using Iced.Intel;
using Vmi.Abi;
using Vmi.Hypervisors.Events;
using Vmi.Hypervisors.HardwareAssisted;
using Vmi.Hypervisors.Tests.Backends;
using Vmi.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Hypervisors.Tests.Paravirtual;

/// <summary>A guest that calls the PTE hypercall itself, with arguments a real hypervisor must refuse.</summary>
public sealed class HypercallValidationTests
{
    private const uint FrameA = TinyGuest.FrameA, FrameB = TinyGuest.FrameB, Linear = TinyGuest.RemappedPage, Entry = TinyGuest.RemappedEntry;

    /// <summary>SetPxE(value, entry) by VMCALL; EAX (the result) is stored at Scratch + 4 × slot.</summary>
    private static void SetPxE(Assembler a, uint value, uint entry, int slot)
    {
        a.mov(eax, value);
        a.mov(edx, entry);
        a.mov(ecx, 1); // level PT
        a.mov(ebx, (uint)VmiCall.SetPxE);
        a.vmcall();
        a.mov(__dword_ptr[TinyGuest.Scratch + 4u * (uint)slot], eax);
    }

    private static void Guest(Assembler a)
    {
        TinyGuest.EnablePagingWithOneRemappedPage(a);
        a.mov(eax, __dword_ptr[Linear]); // shadowed now
        SetPxE(a, 0x7000_0000 | 3, Entry, 0);      // a frame beyond the guest's 64 MiB: the hypervisor's, or nobody's
        SetPxE(a, FrameB | 3, Entry + 2, 1);       // misaligned entry pointer
        SetPxE(a, FrameB | 3, FrameA + 0x10, 2);   // a data page, not a page table
        a.mov(ebx, __dword_ptr[Linear]);
        a.mov(__dword_ptr[TinyGuest.Scratch + 12], ebx); // still frame A: nothing was applied
        SetPxE(a, FrameB | 3, Entry, 4);           // a real update: applied, and the shadow follows at once
        a.mov(ebx, __dword_ptr[Linear]);
        a.mov(__dword_ptr[TinyGuest.Scratch + 20], ebx);
        a.mov(al, 0);
        a.@out(0xF4, al);
    }

    [Fact]
    public void ThePteHypercallRefusesWhatTheGuestDoesNotOwnCountsItAndAppliesNothing()
    {
        var vt = new VtHypervisor(TinyGuest.P4);

        (Vm vm, VmRunResult r) = TinyGuest.Run(vt, "vt", Guest);

        Assert.Equal(1, r.GuestExitCode);
        Assert.Equal(0xFFFF_FFFFu, vm.Memory.Read32(TinyGuest.Scratch + 0));
        Assert.Equal(0xFFFF_FFFFu, vm.Memory.Read32(TinyGuest.Scratch + 4));
        Assert.Equal(0xFFFF_FFFFu, vm.Memory.Read32(TinyGuest.Scratch + 8));
        Assert.Equal(0xAAAA_AAAAu, vm.Memory.Read32(TinyGuest.Scratch + 12));
        Assert.Equal(FrameB | 3, vm.Memory.Read32(TinyGuest.Scratch + 16) & 0xFFFF_F003);
        Assert.Equal(0xBBBB_BBBBu, vm.Memory.Read32(TinyGuest.Scratch + 20));
        var byDetail = vt.Events.CountsByDetail;
        Assert.Equal(1, byDetail[(EventKind.ExitHypercall, "SetPxE refused (maps memory the guest does not own)")]);
        Assert.Equal(1, byDetail[(EventKind.ExitHypercall, "SetPxE refused (misaligned entry pointer)")]);
        Assert.Equal(1, byDetail[(EventKind.ExitHypercall, "SetPxE refused (not a page table)")]);
        Assert.Equal(1, byDetail[(EventKind.ExitHypercall, "SetPxE")]);
        Assert.Equal(0, vt.Events[EventKind.TracingFault]); // the applied write needed no trace
        Assert.Equal(FrameB | 3, vm.Memory.Read32(Entry) & 0xFFFF_F003);
    }
}
