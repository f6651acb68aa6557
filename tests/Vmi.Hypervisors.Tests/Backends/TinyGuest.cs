using Vmi.Hypervisors.Costs;
using Vmi.Machine;
using Vmi.TestSupport;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Hypervisors.Tests.Backends;

/// <summary>A flat multiboot kernel assembled in the test, booted under a backend: for mechanisms the C kernel cannot isolate.</summary>
internal static class TinyGuest
{
    public const uint Scratch = 0x1000;

    public static (Vm Vm, VmRunResult Result) Run(Hypervisor hv, string backend, Action<Iced.Intel.Assembler> code)
    {
        Vm vm = Vm.BootMultiboot(new VmConfig
        {
            CpuModel = HypervisorCatalog.DefaultCpuModel(backend),
            NominalHz = hv.Profile.TickHz,
            HostMemoryBytes = hv.HostMemoryBytes,
        }, FlatKernel.Build(code));
        hv.Attach(vm);
        return (vm, vm.Run(1_000_000));
    }

    public static CostProfile P4 => CostProfiles.Load("p4-2006");

    /// <summary>The page directory and the one page table <see cref="EnablePagingWithOneRemappedPage"/> builds.</summary>
    public const uint PageDirectory = 0x20_0000, PageTable = 0x20_1000;

    /// <summary>Frames holding 0xAAAAAAAA and 0xBBBBBBBB, and the linear page (the table's last entry) that maps one of them.</summary>
    public const uint FrameA = 0x30_0000, FrameB = 0x31_0000, RemappedPage = 0x3F_F000;

    /// <summary>The entry of <see cref="PageTable"/> that maps <see cref="RemappedPage"/>.</summary>
    public const uint RemappedEntry = PageTable + 1023 * 4;

    /// <summary>
    /// Fills frames A and B, identity-maps the first 4 MiB with 4 KiB pages except the last page,
    /// which maps frame A, and turns paging on.
    /// </summary>
    public static void EnablePagingWithOneRemappedPage(Iced.Intel.Assembler a)
    {
        Iced.Intel.Label fill = a.CreateLabel();
        a.mov(__dword_ptr[FrameA], 0xAAAA_AAAA);
        a.mov(__dword_ptr[FrameB], 0xBBBB_BBBB);
        a.mov(edi, PageDirectory);
        a.xor(eax, eax);
        a.mov(ecx, 2048);
        a.rep.stosd();
        a.mov(__dword_ptr[PageDirectory], PageTable | 3);
        a.xor(ecx, ecx);
        a.Label(ref fill);
        a.mov(eax, ecx);
        a.shl(eax, 12);
        a.or(eax, 3);
        a.mov(__dword_ptr[ecx * 4 + PageTable], eax);
        a.inc(ecx);
        a.cmp(ecx, 1023);
        a.jb(fill);
        a.mov(__dword_ptr[RemappedEntry], FrameA | 3);
        a.mov(eax, PageDirectory);
        a.mov(cr3, eax);
        a.mov(eax, cr0);
        a.or(eax, unchecked((int)0x8000_0000));
        a.mov(cr0, eax);
    }
}
