using Iced.Intel;
using Vmi.Abi;
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

    /// <summary>Byte: the kernel is in a lazy-MMU section (SetLazyMode 1).</summary>
    public const uint LazyMmu = Linear + 0x10;

    /// <summary>
    /// SetPxE(value EAX, entry EDX, flags ECX) outside lazy mode as a hypercall (validated, the shadow
    /// follows without a fault); inside, a plain store: a lazy section's writes mostly land in page
    /// tables no shadow follows yet (fork's copy, exit's teardown), where a store costs nothing, and
    /// the kernel may read back what it wrote. The shadow still validates whatever it later maps.
    /// </summary>
    public static CallSpec LazyAwareSetPxE(HypercallInstruction instruction) => CallSpec.Code(a =>
    {
        Label store = a.CreateLabel();
        a.cmp(__byte_ptr[LazyMmu], 0);
        a.jne(store);
        Hypercalls.EmitCall(a, (uint)VmiCall.SetPxE, instruction);
        a.ret();
        a.Label(ref store);
        a.mov(__dword_ptr[edx], eax);
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

    /// <summary>SetLazyMode(mode EAX): remembered in the shared page; nothing queued, so nothing to flush.</summary>
    public static CallSpec SetLazyMode => CallSpec.Code(a =>
    {
        a.mov(__byte_ptr[LazyMmu], al);
        a.ret();
    });
}
