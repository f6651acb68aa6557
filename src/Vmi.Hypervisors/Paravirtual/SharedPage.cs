using Iced.Intel;
using Vmi.Abi;
using Vmi.Hypervisors.Costs;
using Vmi.Hypervisors.Events;
using Vmi.Hypervisors.Paging;
using Vmi.Rom;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Hypervisors.Paravirtual;

/// <summary>
/// The page a backend shares with its ROM's code, in the hypervisor's own memory at the top of
/// every address space (above the ROM's virtual_top, which the kernel leaves alone): flags the ROM
/// reads and writes without a trap, and the hypervisor reads when it must.
/// </summary>
public static class SharedPage
{
    /// <summary>Where it is in host memory (after bt's GDT and IDT copies), and so in every address space.</summary>
    public const uint HostOffset = 0x2_0000;

    public const uint Linear = ShadowMmu.MonitorBase + HostOffset;

    /// <summary>
    /// A bit per guest page frame: set while the kernel has announced the page as a page table
    /// (AllocatePage, until ReleasePage), which the hypervisor reads to validate page-table writes.
    /// Room for 2 GiB of guest RAM.
    /// </summary>
    public const uint PageTableBitmap = Linear + 0x1000;

    public const uint MaxFrames = 0x8_0000;

    /// <summary>Host offset of a page of monitor code the kernel runs (bt's system-call entry trampolines), after the bitmap.</summary>
    public const uint TrampolineOffset = HostOffset + 0x1000 + MaxFrames / 8;

    /// <summary>Host memory a backend with a shared page keeps: its descriptor-table copies' room, the page, the bitmap, the trampolines.</summary>
    public const uint HostBytes = TrampolineOffset + 0x1000;

    /// <summary>Byte: the virtual interrupt flag (1 = enabled).</summary>
    public const uint VirtualIf = Linear + 0;

    /// <summary>Byte: an interrupt arrived while the virtual flag was clear.</summary>
    public const uint Pending = Linear + 1;

    /// <summary>Byte: the lazy mode SetLazyMode last set (bit 0: MMU updates may be queued).</summary>
    public const uint LazyMmu = Linear + 0x10;

    /// <summary>
    /// Dword: the guest's CR2, written by a hypervisor that delivers page faults itself (bt) each
    /// time it does, so the kernel's page-fault handler reads it without a trap (Xen keeps the
    /// guest's CR2 in its shared vcpu_info the same way).
    /// </summary>
    public const uint Cr2 = Linear + 0x14;

    /// <summary>Dword: entries in the lazy-MMU queue.</summary>
    public const uint QueueCount = Linear + 0x20;

    /// <summary>The lazy-MMU queue: <see cref="QueueCapacity"/> entries of (entry pointer, value, SetPxE flags).</summary>
    public const uint Queue = Linear + 0x100;

    public const int QueueCapacity = 256;

    public const int QueueEntryBytes = 12;

    /// <summary>SetPxE's flag: the update is to the running address space (bits 31..12 of the flags are its linear address).</summary>
    public const uint CurrentAddressSpace = 0x10;

    /// <summary>
    /// SetPxE(value EAX, entry EDX, flags ECX). Outside lazy-MMU mode, <paramref name="outsideLazy"/>
    /// (a plain store the shadow traces, or a hypercall). Inside, an update to the running address
    /// space, whose tables the shadow follows, is appended to the shared page's queue without a
    /// trap, and the hypervisor applies the batch when the kernel leaves lazy mode, flushes the TLB
    /// or invalidates a page, loads CR3, or faults (the ABI's rule: until then the kernel must not
    /// rely on the update), or when the queue is full; an update to another address space (fork's
    /// copy, a directory being built: tables nothing runs on, which no shadow follows yet) is a plain
    /// store, free there, traced if a cached shadow does follow it. EBX is kept.
    /// </summary>
    public static CallSpec QueuedSetPxE(HypercallInstruction instruction, Action<Assembler> outsideLazy) => CallSpec.Code(a =>
    {
        Label lazy = a.CreateLabel(), queue = a.CreateLabel(), room = a.CreateLabel();
        a.test(__byte_ptr[LazyMmu], 1);
        a.jnz(lazy);
        outsideLazy(a);
        a.ret();
        a.Label(ref lazy);
        a.test(ecx, CurrentAddressSpace);
        a.jnz(queue);
        NativeStore(a);
        a.ret();
        a.Label(ref queue);
        a.push(ebx);
        a.mov(ebx, __dword_ptr[QueueCount]);
        a.cmp(ebx, QueueCapacity);
        a.jb(room);
        a.push(eax);
        a.push(ecx);
        a.push(edx);
        Hypercalls.EmitCall(a, Hypercalls.FlushMmuQueue, instruction);
        a.pop(edx);
        a.pop(ecx);
        a.pop(eax);
        a.xor(ebx, ebx);
        a.Label(ref room);
        a.lea(ebx, __dword_ptr[ebx + ebx * 2]);
        a.mov(__dword_ptr[ebx * 4 + Queue], edx);
        a.mov(__dword_ptr[ebx * 4 + Queue + 4], eax);
        a.mov(__dword_ptr[ebx * 4 + Queue + 8], ecx);
        // Counted only once written: a flush an interrupt handler causes in between never sees half an entry.
        a.inc(__dword_ptr[QueueCount]);
        a.pop(ebx);
        a.ret();
    });

    /// <summary>
    /// What one page-table update queued in lazy mode costs: the ROM's dozen instructions, applying
    /// it (<see cref="EventKind.QueuedPageTableUpdate"/>) and its share of the flush's trap.
    /// </summary>
    internal static long QueuedUpdateCost(CostProfile profile, long trap) =>
        (profile.CpiMilli * 12 / 1000) + profile.CostOf(EventKind.QueuedPageTableUpdate) + (trap / QueueCapacity);

    /// <summary>Outside lazy mode, the native store (which the shadow traces).</summary>
    public static void NativeStore(Assembler a) => a.mov(__dword_ptr[edx], eax);

    /// <summary>Outside lazy mode, a SetPxE hypercall (validated; the shadow follows without a fault).</summary>
    public static Action<Assembler> SetPxEHypercall(HypercallInstruction instruction) =>
        a => Hypercalls.EmitCall(a, (uint)VmiCall.SetPxE, instruction);

    /// <summary>SetLazyMode(mode EAX): remembered in the shared page; leaving MMU mode with updates queued flushes them (one hypercall).</summary>
    public static CallSpec SetLazyMode(HypercallInstruction instruction) => CallSpec.Code(a =>
    {
        Label done = a.CreateLabel();
        a.mov(__byte_ptr[LazyMmu], al);
        a.test(al, 1);
        a.jnz(done);
        EmitFlushIfQueued(a, instruction, done);
    });

    /// <summary>
    /// InvalPage / FlushTLB under a shadow MMU that follows every page-table write as it happens
    /// (traced, or by hypercall) and drops the TLB entries with it: there is nothing left to
    /// invalidate, so only updates still queued are applied (the ABI's rule), by one hypercall, and
    /// otherwise nothing traps.
    /// </summary>
    public static CallSpec FlushQueueOnly(HypercallInstruction instruction) => CallSpec.Code(a =>
    {
        EmitFlushIfQueued(a, instruction, a.CreateLabel());
    });

    /// <summary>The flush hypercall if anything is queued, then <paramref name="done"/>: return.</summary>
    private static void EmitFlushIfQueued(Assembler a, HypercallInstruction instruction, Label done)
    {
        a.cmp(__dword_ptr[QueueCount], 0);
        a.je(done);
        Hypercalls.EmitCall(a, Hypercalls.FlushMmuQueue, instruction);
        a.Label(ref done);
        a.ret();
    }

    /// <summary>GetCR2() → EAX from the shared page (see <see cref="Cr2"/>).</summary>
    public static CallSpec GetCr2 => CallSpec.Code(a =>
    {
        a.mov(eax, __dword_ptr[Cr2]);
        a.ret();
    });

    /// <summary>AllocatePage(pfn EAX, …) / ReleasePage(pfn EAX, …): the frame's bit set or cleared, no trap.</summary>
    public static CallSpec AnnouncePageTable(bool allocate) => CallSpec.Code(a =>
    {
        Label done = a.CreateLabel();
        a.cmp(eax, MaxFrames);
        a.jae(done); // a frame past any RAM: nothing to record (and never a store outside the bitmap)
        if (allocate)
        {
            a.bts(__dword_ptr[PageTableBitmap], eax);
        }
        else
        {
            a.btr(__dword_ptr[PageTableBitmap], eax);
        }
        a.Label(ref done);
        a.ret();
    });

    /// <summary>Records the CR2 the guest reads through <see cref="GetCr2"/> (nothing if this memory has no shared page).</summary>
    public static void RecordCr2(Vmi.Cpu.Memory.PhysicalMemory memory, uint cr2)
    {
        if (memory.HostSize >= HostBytes)
        {
            Span<byte> b = stackalloc byte[4];
            BitConverter.TryWriteBytes(b, cr2);
            memory.WriteHost(Cr2 - ShadowMmu.MonitorBase, b);
        }
    }

    /// <summary>Whether the kernel announced frame <paramref name="pfn"/> as a page table (read from host memory).</summary>
    public static bool IsAnnounced(Vmi.Cpu.Memory.PhysicalMemory memory, uint pfn)
    {
        if (pfn >= MaxFrames || memory.HostSize < HostBytes)
        {
            return false;
        }
        Span<byte> b = stackalloc byte[1];
        memory.ReadHost(PageTableBitmap - ShadowMmu.MonitorBase + pfn / 8, b);
        return (b[0] & (1 << (int)(pfn % 8))) != 0;
    }
}
