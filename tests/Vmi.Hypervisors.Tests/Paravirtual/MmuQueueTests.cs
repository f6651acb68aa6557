using Iced.Intel;
using Vmi.Abi;
using Vmi.Hypervisors.Events;
using Vmi.Hypervisors.HardwareAssisted;
using Vmi.Hypervisors.Paravirtual;
using Vmi.Hypervisors.Tests.Backends;
using Vmi.Machine;
using Vmi.Rom;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Hypervisors.Tests.Paravirtual;

/// <summary>
/// The lazy-MMU queue in the shared page, filled by a guest itself as the ROM's SetPxE would fill
/// it: what the hypervisor applies when it is flushed, what it refuses, and the ABI's rule that a
/// page fault applies deferred updates first.
/// </summary>
public sealed class MmuQueueTests
{
    private const uint FrameA = TinyGuest.FrameA, FrameB = TinyGuest.FrameB, Linear = TinyGuest.RemappedPage, Entry = TinyGuest.RemappedEntry;

    private static void Queue(Assembler a, int index, uint entry, uint value, uint flags = 1)
    {
        uint at = SharedPage.Queue + (uint)(index * SharedPage.QueueEntryBytes);
        a.mov(__dword_ptr[at], entry);
        a.mov(__dword_ptr[at + 4], value);
        a.mov(__dword_ptr[at + 8], flags);
    }

    private static void Hypercall(Assembler a, uint number)
    {
        a.mov(ebx, number);
        a.vmcall();
    }

    private static void Exit(Assembler a)
    {
        a.mov(al, 0);
        a.@out(0xF4, al);
    }

    /// <summary>Three queued updates (one mapping memory beyond RAM, one misaligned, one real), flushed by the private hypercall.</summary>
    private static void QueueThreeAndFlush(Assembler a)
    {
        TinyGuest.EnablePagingWithOneRemappedPage(a);
        a.mov(eax, __dword_ptr[Linear]); // shadowed now
        Queue(a, 0, Entry, 0x7000_0000 | 3);
        Queue(a, 1, Entry + 2, FrameB | 3);
        Queue(a, 2, Entry, FrameB | 3);
        a.mov(__dword_ptr[SharedPage.QueueCount], 3);
        a.mov(ebx, __dword_ptr[Linear]);
        a.mov(__dword_ptr[TinyGuest.Scratch], ebx); // queued, not applied: still frame A
        Hypercall(a, Hypercalls.FlushMmuQueue);
        a.mov(ebx, __dword_ptr[Linear]);
        a.mov(__dword_ptr[TinyGuest.Scratch + 4], ebx);
        a.mov(ebx, __dword_ptr[SharedPage.QueueCount]);
        a.mov(__dword_ptr[TinyGuest.Scratch + 8], ebx);
        Exit(a);
    }

    [Fact]
    public void AFlushAppliesTheQueuedUpdatesInOrderAndRefusesWhatItMustWithoutATraceEach()
    {
        var vt = new VtHypervisor(TinyGuest.P4);

        (Vm vm, VmRunResult r) = TinyGuest.Run(vt, "vt", QueueThreeAndFlush);

        Assert.Equal(1, r.GuestExitCode);
        Assert.Equal(0xAAAA_AAAAu, vm.Memory.Read32(TinyGuest.Scratch));
        Assert.Equal(0xBBBB_BBBBu, vm.Memory.Read32(TinyGuest.Scratch + 4));
        Assert.Equal(0u, vm.Memory.Read32(TinyGuest.Scratch + 8)); // the queue is empty again
        var byDetail = vt.Events.CountsByDetail;
        Assert.Equal(1, byDetail[(EventKind.ExitHypercall, "flush MMU queue")]);
        Assert.Equal(1, byDetail[(EventKind.QueuedPageTableUpdate, "SetPxE")]);
        Assert.Equal(1, byDetail[(EventKind.QueuedPageTableUpdate, "SetPxE refused (maps memory the guest does not own)")]);
        Assert.Equal(1, byDetail[(EventKind.QueuedPageTableUpdate, "SetPxE refused (misaligned entry pointer)")]);
        Assert.Equal(0, vt.Events[EventKind.TracingFault]);
        Assert.Equal(FrameB | 3, vm.Memory.Read32(Entry) & 0xFFFF_F003);
    }

    [Fact]
    public void ACountPastTheQueueIsRefusedWholeAndNothingIsApplied()
    {
        var vt = new VtHypervisor(TinyGuest.P4);

        (Vm vm, VmRunResult r) = TinyGuest.Run(vt, "vt", a =>
        {
            TinyGuest.EnablePagingWithOneRemappedPage(a);
            Queue(a, 0, Entry, FrameB | 3);
            a.mov(__dword_ptr[SharedPage.QueueCount], SharedPage.QueueCapacity + 1);
            Hypercall(a, Hypercalls.FlushMmuQueue);
            a.mov(ebx, __dword_ptr[Linear]);
            a.mov(__dword_ptr[TinyGuest.Scratch], ebx);
            Exit(a);
        });

        Assert.Equal(1, r.GuestExitCode);
        Assert.Equal(0xAAAA_AAAAu, vm.Memory.Read32(TinyGuest.Scratch));
        Assert.Equal(1, vt.Events.CountsByDetail[(EventKind.QueuedPageTableUpdate, "queue refused (count past its end)")]);
        Assert.Equal(FrameA | 3, vm.Memory.Read32(Entry) & 0xFFFF_F003);
    }

    [Fact]
    public void APageFaultAppliesDeferredUpdatesFirstAndTheAccessThenSucceeds()
    {
        // The remapped page is unmapped (by hypercall), then mapped again only in the queue: the
        // read faults, the hypervisor applies the queue and retries, and the guest (which has no
        // IDT: a fault delivered to it would end the run in a triple fault) reads frame B.
        var vt = new VtHypervisor(TinyGuest.P4);

        (Vm vm, VmRunResult r) = TinyGuest.Run(vt, "vt", a =>
        {
            TinyGuest.EnablePagingWithOneRemappedPage(a);
            a.mov(eax, 0);
            a.mov(edx, Entry);
            a.mov(ecx, 1);
            Hypercall(a, (uint)VmiCall.SetPxE);
            Queue(a, 0, Entry, FrameB | 3);
            a.mov(__dword_ptr[SharedPage.QueueCount], 1);
            a.mov(ebx, __dword_ptr[Linear]);
            a.mov(__dword_ptr[TinyGuest.Scratch], ebx);
            Exit(a);
        });

        Assert.Equal(1, r.GuestExitCode);
        Assert.Equal(0xBBBB_BBBBu, vm.Memory.Read32(TinyGuest.Scratch));
        Assert.Equal(1, vt.Events.CountsByDetail[(EventKind.QueuedPageTableUpdate, "SetPxE")]);
        Assert.Equal(0, vt.Events[EventKind.TrueGuestPageFault]);
    }
}
