using System.Runtime.CompilerServices;
using Vmi.Cpu.Memory;

namespace Vmi.Cpu;

/// <summary>The kind of access, for permission checks and the #PF error code.</summary>
internal enum Access : byte
{
    Read,
    Write,
    Execute,
}

/// <summary>
/// Linear-address accesses: the inline TLB fast path and the slow path that walks the two-level
/// i386 page tables (4 KiB pages, 4 MiB pages with CR4.PSE), checks U/S and R/W (with CR0.WP),
/// sets accessed/dirty bits, raises #PF with CR2 and the error code, and fills the TLB.
/// All methods return false with a pending fault instead of throwing.
/// </summary>
public sealed unsafe partial class Cpu
{
    private const uint PteP = 1, PteRw = 2, PteUs = 4, PteA = 0x20, PteD = 0x40, PtePs = 0x80, PteG = 0x100;

    /// <summary>Translates <paramref name="linear"/>; on failure a #PF is pending.</summary>
    internal bool Translate(uint linear, Access access, bool user, out uint physical)
    {
        Counters.TlbMisses++;
        if (paging is not null)
        {
            return TranslateThroughBackend(linear, access, user, out physical);
        }
        if ((Cr0Value & Cr0Bits.PG) == 0)
        {
            physical = linear;
            if (Memory.IsRam(linear & ~0xFFFu, 4096))
            {
                TlbFill(linear >> 12, (linear & ~0xFFFu) | TlbReadSuper | TlbReadUser | TlbWriteSuper | TlbWriteUser);
            }
            return true;
        }
        Counters.PageWalks++;
        bool write = access == Access.Write;
        uint pdeAddr = (Cr3Value & 0xFFFF_F000) | ((linear >> 20) & 0xFFC);
        uint pde = Memory.Read32(pdeAddr);
        if ((pde & PteP) == 0)
        {
            return PageFault(linear, write, user, present: false, out physical);
        }
        bool largePage = (pde & PtePs) != 0 && (Cr4Value & Cr4Bits.PSE) != 0;
        uint rw, us, frame, global;
        bool dirty;
        if (largePage)
        {
            rw = pde & PteRw;
            us = pde & PteUs;
            if (!Permitted(rw, us, write, user))
            {
                return PageFault(linear, write, user, present: true, out physical);
            }
            uint newPde = pde | PteA | (write ? PteD : 0);
            if (newPde != pde)
            {
                Memory.WriteUnwatched(pdeAddr, 4, newPde);
            }
            dirty = (newPde & PteD) != 0;
            frame = (pde & 0xFFC0_0000) | (linear & 0x003F_F000);
            global = pde & PteG;
        }
        else
        {
            uint pteAddr = (pde & 0xFFFF_F000) | ((linear >> 10) & 0xFFC);
            uint pte = Memory.Read32(pteAddr);
            if ((pte & PteP) == 0)
            {
                return PageFault(linear, write, user, present: false, out physical);
            }
            rw = pde & pte & PteRw;
            us = pde & pte & PteUs;
            if (!Permitted(rw, us, write, user))
            {
                return PageFault(linear, write, user, present: true, out physical);
            }
            if ((pde & PteA) == 0)
            {
                Memory.WriteUnwatched(pdeAddr, 4, pde | PteA);
            }
            uint newPte = pte | PteA | (write ? PteD : 0);
            if (newPte != pte)
            {
                Memory.WriteUnwatched(pteAddr, 4, newPte);
            }
            dirty = (newPte & PteD) != 0;
            frame = pte & 0xFFFF_F000;
            global = pte & PteG;
        }
        physical = frame | (linear & 0xFFF);
        if (Memory.IsRam(frame, 4096))
        {
            // Write bits only once the dirty bit is set, so the first write still walks and sets D.
            bool wp = (Cr0Value & Cr0Bits.WP) != 0;
            uint e = frame | TlbReadSuper;
            if (us != 0) e |= TlbReadUser;
            if (dirty && (rw != 0 || !wp)) e |= TlbWriteSuper;
            if (dirty && rw != 0 && us != 0) e |= TlbWriteUser;
            if (global != 0) e |= TlbGlobal;
            TlbFill(linear >> 12, e);
            if (largePage) NoteLargePageFill(linear);
        }
        return true;
    }

    private bool Permitted(uint rw, uint us, bool write, bool user)
    {
        if (user)
        {
            return us != 0 && (!write || rw != 0);
        }
        return !write || rw != 0 || (Cr0Value & Cr0Bits.WP) == 0;
    }

    private bool PageFault(uint linear, bool write, bool user, bool present, out uint physical)
    {
        physical = 0;
        uint err = (present ? 1u : 0) | (write ? 2u : 0) | (user ? 4u : 0);
        pendingFault = new CpuFault(Vectors.PF, true, err, linear);
        hasFaultInstruction = false;
        return false;
    }

    /// <summary>A TLB miss under a backend's translation: its answer, checked against the access, cached in the TLB.</summary>
    private bool TranslateThroughBackend(uint linear, Access access, bool user, out uint physical)
    {
        bool write = access == Access.Write;
        PageTranslation t = paging!.Translate(this, linear, (PageAccess)access, user);
        if (t.IsFault)
        {
            physical = 0;
            pendingFault = new CpuFault(Vectors.PF, true, t.ErrorCode, linear);
            hasFaultInstruction = false;
            return false;
        }
        if ((user && !t.User) || (write && (user ? !t.Writable : !t.SupervisorWritable)))
        {
            // The backend mapped the page without the right asked for: the guest sees a protection fault.
            return PageFault(linear, write, user, present: true, out physical);
        }
        physical = t.Frame | (linear & 0xFFF);
        if (Memory.IsBacked(t.Frame, 4096))
        {
            uint e = t.Frame | TlbReadSuper;
            if (t.User) e |= TlbReadUser;
            if (t.SupervisorWritable) e |= TlbWriteSuper;
            if (t.Writable && t.User) e |= TlbWriteUser;
            if (t.Global) e |= TlbGlobal;
            TlbFill(linear >> 12, e);
        }
        return true;
    }

    // ---- linear reads -------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool ReadLin8(uint lin, out uint value)
    {
        uint e = tlb[lin >> 12];
        if ((e & tlbReadMask) != 0)
        {
            value = Memory.Ram[(e & 0xFFFF_F000) | (lin & 0xFFF)];
            return true;
        }
        return ReadLinSlow(lin, 1, Cpl == 3, out value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool ReadLin16(uint lin, out uint value)
    {
        uint e = tlb[lin >> 12];
        if ((e & tlbReadMask) != 0 && SameFastPage(lin, 2))
        {
            value = *(ushort*)(Memory.Ram + ((e & 0xFFFF_F000) | (lin & 0xFFF)));
            return true;
        }
        return ReadLinSlow(lin, 2, Cpl == 3, out value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool ReadLin32(uint lin, out uint value)
    {
        uint e = tlb[lin >> 12];
        if ((e & tlbReadMask) != 0 && SameFastPage(lin, 4))
        {
            value = *(uint*)(Memory.Ram + ((e & 0xFFFF_F000) | (lin & 0xFFF)));
            return true;
        }
        return ReadLinSlow(lin, 4, Cpl == 3, out value);
    }

    internal bool ReadLin(uint lin, int size, out uint value) => size switch
    {
        4 => ReadLin32(lin, out value),
        2 => ReadLin16(lin, out value),
        _ => ReadLin8(lin, out value),
    };

    /// <summary>Slow path: walks, handles page-crossing accesses and non-RAM physical addresses.</summary>
    internal bool ReadLinSlow(uint lin, int size, bool user, out uint value)
    {
        value = 0;
        uint offsetInPage = lin & 0xFFF;
        if (offsetInPage + (uint)size <= 0x1000)
        {
            if (!TranslateCached(lin, Access.Read, user, out uint phys))
            {
                return false;
            }
            value = ReadPhys(phys, size);
            if (dataBreakpoints != 0) CheckDataBreakpoints(lin, size, write: false);
            return true;
        }
        // Page-crossing: translate both pages before reading anything.
        uint first = 0x1000 - offsetInPage;
        if (!TranslateCached(lin, Access.Read, user, out uint p1) || !TranslateCached(lin + first, Access.Read, user, out uint p2))
        {
            return false;
        }
        for (int i = 0; i < size; i++)
        {
            uint phys = i < first ? p1 + (uint)i : p2 + (uint)i - first;
            value |= (uint)Memory.Read8(phys) << (8 * i);
        }
        if (dataBreakpoints != 0) CheckDataBreakpoints(lin, size, write: false);
        return true;
    }

    /// <summary>Translation that consults the TLB first with the given privilege.</summary>
    private bool TranslateCached(uint lin, Access access, bool user, out uint phys)
    {
        uint e = tlb[lin >> 12];
        uint need = access == Access.Write ? (user ? TlbWriteUser : TlbWriteSuper) : (user ? TlbReadUser : TlbReadSuper);
        if ((e & need) != 0)
        {
            phys = (e & 0xFFFF_F000) | (lin & 0xFFF);
            return true;
        }
        return Translate(lin, access, user, out phys);
    }

    private uint ReadPhys(uint phys, int size) => size switch
    {
        4 => Memory.Read32(phys),
        2 => Memory.Read16(phys),
        _ => Memory.Read8(phys),
    };

    // ---- linear writes ------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool WriteLin8(uint lin, uint value)
    {
        uint e = tlb[lin >> 12];
        uint phys = (e & 0xFFFF_F000) | (lin & 0xFFF);
        if ((e & tlbWriteMask) != 0 && Memory.Traps[phys >> 12] == 0)
        {
            Memory.Ram[phys] = (byte)value;
            return true;
        }
        return WriteLinSlow(lin, 1, value, Cpl == 3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool WriteLin16(uint lin, uint value)
    {
        uint e = tlb[lin >> 12];
        uint phys = (e & 0xFFFF_F000) | (lin & 0xFFF);
        if ((e & tlbWriteMask) != 0 && SameFastPage(lin, 2) && Memory.Traps[phys >> 12] == 0)
        {
            *(ushort*)(Memory.Ram + phys) = (ushort)value;
            return true;
        }
        return WriteLinSlow(lin, 2, value, Cpl == 3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool WriteLin32(uint lin, uint value)
    {
        uint e = tlb[lin >> 12];
        uint phys = (e & 0xFFFF_F000) | (lin & 0xFFF);
        if ((e & tlbWriteMask) != 0 && SameFastPage(lin, 4) && Memory.Traps[phys >> 12] == 0)
        {
            *(uint*)(Memory.Ram + phys) = value;
            return true;
        }
        return WriteLinSlow(lin, 4, value, Cpl == 3);
    }

    internal bool WriteLin(uint lin, int size, uint value) => size switch
    {
        4 => WriteLin32(lin, value),
        2 => WriteLin16(lin, value),
        _ => WriteLin8(lin, value),
    };

    internal bool WriteLinSlow(uint lin, int size, uint value, bool user)
    {
        uint offsetInPage = lin & 0xFFF;
        uint first = offsetInPage + (uint)size <= 0x1000 ? (uint)size : 0x1000 - offsetInPage;
        if (!TranslateCached(lin, Access.Write, user, out uint p1))
        {
            return false;
        }
        uint p2 = 0;
        if (first < size && !TranslateCached(lin + first, Access.Write, user, out p2))
        {
            return false;
        }
        if (first == size)
        {
            Memory.GuestWrite(p1, size, value);
        }
        else
        {
            // A page-crossing store lands as two stores, one per page (a watcher sees each).
            int firstSize = (int)first;
            Memory.GuestWrite(p1, firstSize, value);
            Memory.GuestWrite(p2, size - firstSize, value >> (8 * firstSize));
        }
        if (dataBreakpoints != 0) CheckDataBreakpoints(lin, size, write: true);
        return true;
    }

    /// <summary>Checks that a write to [lin, lin+size) would succeed, without writing (read-modify-write, multi-push).</summary>
    internal bool ProbeWrite(uint lin, int size, bool user)
    {
        uint offsetInPage = lin & 0xFFF;
        if (!TranslateCached(lin, Access.Write, user, out _))
        {
            return false;
        }
        if (offsetInPage + (uint)size > 0x1000)
        {
            return TranslateCached(lin + (0x1000 - offsetInPage), Access.Write, user, out _);
        }
        return true;
    }

    // ---- supervisor (system) accesses: descriptor tables, TSS, stacks during delivery --------

    internal bool ReadSys(uint lin, int size, out uint value) => ReadLinSlow(lin, size, false, out value);

    internal bool WriteSys(uint lin, int size, uint value) => WriteLinSlow(lin, size, value, false);

    /// <summary>Debugger/diagnostic read of guest virtual memory; never faults, never changes A/D bits.</summary>
    public bool TryPeekLinear(uint lin, Span<byte> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            if (!TryTranslateNoSideEffects(lin + (uint)i, out uint phys))
            {
                return false;
            }
            destination[i] = Memory.Read8(phys);
        }
        return true;
    }

    public bool TryTranslateNoSideEffects(uint lin, out uint phys)
    {
        phys = lin;
        if (paging is not null)
        {
            return paging.TryTranslateNoSideEffects(this, lin, out phys);
        }
        if ((Cr0Value & Cr0Bits.PG) == 0)
        {
            return true;
        }
        uint pde = Memory.Read32((Cr3Value & 0xFFFF_F000) | ((lin >> 20) & 0xFFC));
        if ((pde & PteP) == 0)
        {
            return false;
        }
        if ((pde & PtePs) != 0 && (Cr4Value & Cr4Bits.PSE) != 0)
        {
            phys = (pde & 0xFFC0_0000) | (lin & 0x3F_FFFF);
            return true;
        }
        uint pte = Memory.Read32((pde & 0xFFFF_F000) | ((lin >> 10) & 0xFFC));
        if ((pte & PteP) == 0)
        {
            return false;
        }
        phys = (pte & 0xFFFF_F000) | (lin & 0xFFF);
        return true;
    }

    private void OnCodeWritten(uint physical)
    {
        Counters.SelfModifyingWrites++;
        CodeInvalidated?.Invoke(physical >> 12);
        // Finish the current instruction, then leave the block: its later instructions may be stale.
        execLimit = 0;
    }

}
