using Vmi.Cpu;

namespace Vmi.Hypervisors.Paging;

/// <summary>What the guest's own page tables say about one linear address.</summary>
internal readonly record struct GuestMapping(
    bool Fault,
    uint ErrorCode,
    uint Frame,
    bool Writable,
    bool SupervisorWritable,
    bool User,
    bool Global,
    bool Dirty,
    bool Large,
    uint TablePage);

/// <summary>
/// The i386 two-level walk over the guest's tables as the hardware performs it (4 KiB pages,
/// 4 MiB pages with CR4.PSE, U/S and R/W with CR0.WP, accessed and dirty bits written back), for
/// monitors that must consult the guest's tables themselves: a shadow-paging monitor filling a
/// shadow entry, a nested-paging unit's first dimension. Every table reference goes through
/// <paramref name="tableAddress"/> (guest-physical → host-physical), which is where a nested walk
/// adds its second dimension. A/D updates are the hardware's, not guest stores: no watcher hears them.
/// </summary>
internal static class GuestPageWalker
{
    private const uint P = 1, Rw = 2, Us = 4, A = 0x20, D = 0x40, Ps = 0x80, G = 0x100;

    public static GuestMapping Walk(Cpu.Cpu cpu, uint linear, PageAccess access, bool user, bool sideEffects, Func<uint, int, uint> tableAddress)
    {
        bool write = access == PageAccess.Write;
        bool wp = (cpu.Cr0 & Cr0Bits.WP) != 0;
        uint pdPage = cpu.Cr3 & 0xFFFF_F000;
        uint pdeAddr = tableAddress(pdPage | ((linear >> 20) & 0xFFC), 2);
        uint pde = cpu.Memory.Read32(pdeAddr);
        if ((pde & P) == 0)
        {
            return Fault(false, write, user);
        }
        if ((pde & Ps) != 0 && (cpu.Cr4 & Cr4Bits.PSE) != 0)
        {
            bool rw = (pde & Rw) != 0, us = (pde & Us) != 0;
            if (!Permitted(rw, us, write, user, wp))
            {
                return Fault(true, write, user);
            }
            uint newPde = pde | A | (write ? D : 0);
            if (sideEffects && newPde != pde)
            {
                WriteBack(cpu, pdeAddr, newPde);
            }
            return new GuestMapping(false, 0, (pde & 0xFFC0_0000) | (linear & 0x003F_F000), rw, rw || !wp, us, (pde & G) != 0, (newPde & D) != 0, true, pdPage);
        }
        uint ptPage = pde & 0xFFFF_F000;
        uint pteAddr = tableAddress(ptPage | ((linear >> 10) & 0xFFC), 1);
        uint pte = cpu.Memory.Read32(pteAddr);
        if ((pte & P) == 0)
        {
            return Fault(false, write, user);
        }
        bool rw2 = (pde & pte & Rw) != 0, us2 = (pde & pte & Us) != 0;
        if (!Permitted(rw2, us2, write, user, wp))
        {
            return Fault(true, write, user);
        }
        if (sideEffects)
        {
            if ((pde & A) == 0)
            {
                WriteBack(cpu, pdeAddr, pde | A);
            }
            uint newPte = pte | A | (write ? D : 0);
            if (newPte != pte)
            {
                WriteBack(cpu, pteAddr, newPte);
            }
            pte = newPte;
        }
        return new GuestMapping(false, 0, pte & 0xFFFF_F000, rw2, rw2 || !wp, us2, (pte & G) != 0, (pte & D) != 0, false, ptPage);
    }

    private static bool Permitted(bool rw, bool us, bool write, bool user, bool wp) =>
        user ? us && (!write || rw) : !write || rw || !wp;

    private static GuestMapping Fault(bool present, bool write, bool user) =>
        new(true, (present ? 1u : 0) | (write ? 2u : 0) | (user ? 4u : 0), 0, false, false, false, false, false, false, 0);

    private static void WriteBack(Cpu.Cpu cpu, uint address, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BitConverter.TryWriteBytes(b, value);
        cpu.TryWritePhysical(address, b);
    }
}
