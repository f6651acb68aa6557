using Vmi.Cpu;

namespace Vmi.Hypervisors.Paging;

/// <summary>
/// Shadow paging, as VMware's monitor and first-generation VT hypervisors did it: the CPU never
/// walks the guest's tables; it walks shadow tables the monitor keeps in its own memory and fills
/// on demand from the guest's (a hidden fault), setting the guest's accessed and dirty bits as the
/// hardware would (a page is shadowed read-only until its dirty bit is set, so the first write comes
/// back to the monitor). Guest page-table pages are write-protected (watched): every guest store
/// into one is a tracing fault that drops the shadow entries derived from it, so the shadow never
/// shows a stale mapping. An unpaged guest runs on identity mappings.
/// </summary>
internal sealed class ShadowMmu : IPageTranslation
{
    private const uint SP = 1, SW = 2, SU = 4, SG = 0x100, SSuperW = 0x200;

    /// <summary>Shadow roots kept for recently used address spaces (the rest are rebuilt on demand).</summary>
    public const int RootCacheSize = 16;

    private readonly Vmi.Cpu.Cpu cpu;
    private readonly IShadowAccounting accounting;
    private readonly Dictionary<uint, ShadowRoot> roots = [];
    private readonly Dictionary<uint, List<(ShadowRoot Root, int Index)>> tableUsers = [];
    private readonly Dictionary<uint, int> writesSinceUse = [];
    private ShadowRoot? current;
    private long clock;

    /// <summary>
    /// Guest stores into a shadowed page, with no shadow fill from it in between, after which the
    /// page stops being shadowed (KVM's write-flooding rule): a freed page table being zeroed or
    /// reused as data must not pay a tracing fault per store for as long as a stale shadow lives.
    /// </summary>
    public const int FloodWrites = 4;

    /// <summary>Pages unshadowed by the write-flooding rule.</summary>
    public long Unshadowed { get; private set; }

    private readonly Func<uint, bool> watchedByOthers;

    /// <param name="watchedByOthers">Pages (by number) the hypervisor watches for its own reasons, which must stay watched when no shadow needs them.</param>
    public ShadowMmu(Vmi.Cpu.Cpu cpu, IShadowAccounting accounting, Func<uint, bool>? watchedByOthers = null)
    {
        this.cpu = cpu;
        this.accounting = accounting;
        this.watchedByOthers = watchedByOthers ?? (static _ => false);
    }

    /// <summary>Applies the page-table updates the kernel queued (lazy-MMU mode), returning how many; set by a backend that queues them.</summary>
    public Func<int>? FlushDeferred { get; set; }

    public int ShadowRoots => roots.Count;

    public int ShadowTables => roots.Values.Sum(r => r.Tables.Count(t => t is not null));

    /// <summary>
    /// Where the monitor's own memory (host memory after guest RAM) appears in every address space:
    /// the top 4 MiB, the area a VMI ROM reserves below its virtual_top, which a kernel that honours
    /// it (or ours, which leaves it as a guard) never maps. Supervisor-only.
    /// </summary>
    public const uint MonitorBase = 0xFFC0_0000;

    public PageTranslation Translate(Vmi.Cpu.Cpu c, uint linear, PageAccess access, bool user)
    {
        if (linear >= MonitorBase && linear - MonitorBase < c.Memory.HostSize)
        {
            return user
                ? PageTranslation.PageFault(1u | (access == PageAccess.Write ? 2u : 0) | 4u)
                : PageTranslation.Map(c.Memory.HostBase + (linear - MonitorBase), writable: true, user: false);
        }
        uint mode = (c.Cr0 & (Cr0Bits.PG | Cr0Bits.WP)) | (c.Cr4 & (Cr4Bits.PSE | Cr4Bits.PGE));
        if (mode != pagingMode)
        {
            // Shadow entries were derived under the old rules (WP, 4 MiB pages, global pages). The
            // CPU flushed its TLB on the change, so the first miss after it lands here.
            pagingMode = mode;
            Reset();
        }
        if (!c.PagingEnabled)
        {
            return PageTranslation.Map(GuestFrame(c, linear), writable: true, user: true);
        }
        ShadowRoot root = Current();
        int pdi = (int)(linear >> 22), pti = (int)((linear >> 12) & 0x3FF);
        uint[]? table = root.Tables[pdi];
        uint e = table is null ? 0 : table[pti];
        if (e != 0 && Allows(e, access, user))
        {
            if (writesSinceUse.Count != 0)
            {
                // The walk through this shadow table is a use of the guest table behind it (the
                // accessed bit a monitor samples): the stores into it are updates to a live table.
                writesSinceUse.Remove(root.SourcePages[pdi] == uint.MaxValue ? root.GuestDirectoryPage : root.SourcePages[pdi] >> 12);
            }
            return FromEntry(e); // a plain refill from the shadow tables: no monitor involvement
        }
        GuestMapping g = GuestPageWalker.Walk(c, linear, access, user, sideEffects: true, static (a, _) => a);
        if (g.Fault)
        {
            if (FlushDeferred?.Invoke() > 0)
            {
                // A fault first applies the page-table updates the kernel deferred (the VMI ABI's
                // rule): the access is retried and reaches the kernel only if it still faults.
                return Translate(c, linear, access, user);
            }
            accounting.TrueFault(linear);
            return PageTranslation.PageFault(g.ErrorCode);
        }
        if (table is null)
        {
            table = new uint[1024];
            root.Tables[pdi] = table;
            root.SourcePages[pdi] = g.Large ? uint.MaxValue : g.TablePage;
            if (!g.Large)
            {
                AddTableUser(g.TablePage, root, pdi);
            }
        }
        writesSinceUse.Remove(g.Large ? root.GuestDirectoryPage : g.TablePage >> 12);
        e = GuestFrame(c, g.Frame) | SP | (g.User ? SU : 0) | (g.Global ? SG : 0);
        if (g.Dirty)
        {
            e |= (g.Writable ? SW : 0) | (g.SupervisorWritable ? SSuperW : 0);
        }
        table[pti] = e;
        accounting.HiddenFault(linear);
        return FromEntry(e);
    }

    public bool TryTranslateNoSideEffects(Vmi.Cpu.Cpu c, uint linear, out uint physical)
    {
        if (linear >= MonitorBase && linear - MonitorBase < c.Memory.HostSize)
        {
            physical = c.Memory.HostBase + (linear - MonitorBase);
            return true;
        }
        if (!c.PagingEnabled)
        {
            physical = GuestFrame(c, linear & ~0xFFFu) | (linear & 0xFFF);
            return true;
        }
        GuestMapping g = GuestPageWalker.Walk(c, linear, PageAccess.Read, user: false, sideEffects: false, static (a, _) => a);
        physical = GuestFrame(c, g.Frame) | (linear & 0xFFF);
        return !g.Fault;
    }

    /// <summary>INVLPG: the shadow entry goes (the whole shadow table for a 4 MiB guest page).</summary>
    public void Invalidate(uint linear)
    {
        if (current is null)
        {
            return;
        }
        int pdi = (int)(linear >> 22);
        if (current.Tables[pdi] is uint[] table)
        {
            if (current.SourcePages[pdi] == uint.MaxValue)
            {
                DropTable(current, pdi);
            }
            else
            {
                int pti = (int)((linear >> 12) & 0x3FF);
                table[pti] = Resync(linear, current.SourcePages[pdi]);
                if (table[pti] != 0)
                {
                    // A fill from the table, as a hidden fault's would be: the guest is using it,
                    // so its stores are updates to a live table, not a freed page being reused
                    // (without this, rewriting one entry and INVLPG-ing it again and again — mprotect —
                    // floods the table out of the shadow every few writes).
                    writesSinceUse.Remove(current.SourcePages[pdi] >> 12);
                }
            }
        }
    }

    /// <summary>
    /// The shadow entry for <paramref name="linear"/> re-derived from the guest's entry, as the
    /// monitor handling INVLPG already has the page table at hand (KVM syncs the shadow entry on
    /// INVLPG the same way): the access that follows finds it without a hidden fault.
    /// </summary>
    private uint Resync(uint linear, uint tablePage) =>
        Derive(current!, (int)(linear >> 22), tablePage, cpu.Memory.Read32(tablePage | ((linear >> 10) & 0xFFC)));

    /// <summary>
    /// The shadow entry of <paramref name="root"/>'s table <paramref name="pdi"/> for guest entry
    /// <paramref name="pte"/> of <paramref name="tablePage"/>, or 0 (empty: the next access takes a
    /// hidden fault). Only an entry the guest has already marked accessed is filled (filling it is
    /// what sets A, which the hardware does only on an access), writable only once dirty (the first
    /// write must come back to set D), and only while the directory still points at that table.
    /// </summary>
    private uint Derive(ShadowRoot root, int pdi, uint tablePage, uint pte)
    {
        uint pde = cpu.Memory.Read32((root.GuestDirectoryPage << 12) | ((uint)pdi << 2));
        const uint P = 1, Rw = 2, Us = 4, A = 0x20, D = 0x40, Ps = 0x80, G = 0x100;
        if ((pte & (P | A)) != (P | A) || (pde & P) == 0 || (pde & 0xFFFF_F000) != tablePage
            || ((pde & Ps) != 0 && (cpu.Cr4 & Cr4Bits.PSE) != 0))
        {
            return 0;
        }
        bool wp = (cpu.Cr0 & Cr0Bits.WP) != 0;
        bool rw = (pde & pte & Rw) != 0, us = (pde & pte & Us) != 0;
        uint e = GuestFrame(cpu, pte & 0xFFFF_F000) | SP | (us ? SU : 0) | ((pte & G) != 0 ? SG : 0);
        if ((pte & D) != 0)
        {
            e |= (rw ? SW : 0) | (rw || !wp ? SSuperW : 0);
        }
        return e;
    }

    /// <summary>CR0.PG/WP and CR4.PSE/PGE as the shadows were built for.</summary>
    private uint pagingMode;

    /// <summary>Drops every shadow (the guest changed paging modes: CR0.WP/PG, CR4.PSE/PGE).</summary>
    private void Reset()
    {
        foreach (uint page in tableUsers.Keys.Concat(roots.Keys).Where(p => !watchedByOthers(p)).ToList())
        {
            cpu.WatchPage(page << 12, false);
        }
        roots.Clear();
        tableUsers.Clear();
        writesSinceUse.Clear();
        current = null;
        cpu.FlushTlbAll();
    }

    /// <summary>Whether the shadow follows page <paramref name="page"/> (a directory or table it was filled from).</summary>
    public bool IsShadowed(uint page) => roots.ContainsKey(page) || tableUsers.ContainsKey(page);

    /// <summary>A page-table write the hypervisor made itself (a validated hypercall): the shadow follows, no fault is counted.</summary>
    public void ApplyStore(in WatchedStore store) => Follow(store, traced: false);

    /// <summary>A guest store into a watched page: one of its page directories or page tables.</summary>
    public bool OnStore(in WatchedStore store)
    {
        Follow(store, traced: true);
        return true;
    }

    private void Follow(in WatchedStore store, bool traced)
    {
        uint page = store.PhysicalAddress >> 12;
        int first = (int)((store.PhysicalAddress & 0xFFF) >> 2);
        int last = (int)(((store.PhysicalAddress & 0xFFF) + (uint)store.Size - 1) >> 2);
        bool known = false;
        if (roots.TryGetValue(page, out ShadowRoot? root))
        {
            known = true;
            for (int i = first; i <= last; i++)
            {
                if (root.Tables[i] is not null)
                {
                    DropTable(root, i);
                    if (root == current)
                    {
                        cpu.FlushTlbAll();
                    }
                }
            }
        }
        if (tableUsers.TryGetValue(page, out var users))
        {
            known = true;
            // A whole entry written: its shadow follows at once (KVM's pte prefetch on a traced
            // write), so the access after mprotect-style updates needs no hidden fault. The TLB
            // entry goes in every case, whichever address space filled it (a global one survives
            // CR3 loads): the shadow and the TLB never show an entry the guest has replaced, which
            // is what lets a paravirtual kernel's INVLPG cost nothing here.
            bool whole = store.Size == 4 && (store.PhysicalAddress & 3) == 0;
            foreach ((ShadowRoot r, int pdi) in users)
            {
                uint[] table = r.Tables[pdi]!;
                for (int i = first; i <= last; i++)
                {
                    table[i] = whole ? Derive(r, pdi, page << 12, store.NewValue) : 0;
                    cpu.InvalidatePage(((uint)pdi << 22) | ((uint)i << 12));
                }
            }
        }
        if (known && traced)
        {
            accounting.TracingFault(store);
            int writes = writesSinceUse.GetValueOrDefault(page) + 1;
            writesSinceUse[page] = writes;
            if (writes >= FloodWrites)
            {
                Unshadow(page);
            }
        }
    }

    /// <summary>Stops shadowing a flooded page: every shadow table derived from it goes, and a root it is goes too unless it is in use.</summary>
    private void Unshadow(uint page)
    {
        writesSinceUse.Remove(page);
        bool touchedCurrent = false;
        if (tableUsers.TryGetValue(page, out var users))
        {
            foreach ((ShadowRoot r, int pdi) in users.ToList())
            {
                touchedCurrent |= r == current;
                DropTable(r, pdi);
            }
        }
        if (roots.TryGetValue(page, out ShadowRoot? root) && root != current)
        {
            Evict(root);
        }
        if (touchedCurrent)
        {
            cpu.FlushTlbAll();
        }
        Unshadowed++;
    }

    private ShadowRoot Current()
    {
        uint pd = cpu.Cr3 >> 12;
        if (current is not null && current.GuestDirectoryPage == pd)
        {
            return current;
        }
        if (!roots.TryGetValue(pd, out ShadowRoot? root))
        {
            if (roots.Count >= RootCacheSize)
            {
                Evict(roots.Values.MinBy(r => r.LastUse)!);
            }
            root = new ShadowRoot(pd);
            roots[pd] = root;
            cpu.WatchPage(pd << 12, true);
        }
        root.LastUse = ++clock;
        current = root;
        accounting.ShadowRootSwitch(cpu.Cr3);
        return root;
    }

    private void Evict(ShadowRoot root)
    {
        for (int i = 0; i < 1024; i++)
        {
            if (root.Tables[i] is not null)
            {
                DropTable(root, i);
            }
        }
        roots.Remove(root.GuestDirectoryPage);
        UnwatchIfUnused(root.GuestDirectoryPage);
        if (current == root)
        {
            current = null;
        }
    }

    private void AddTableUser(uint tablePage, ShadowRoot root, int pdi)
    {
        uint page = tablePage >> 12;
        if (!tableUsers.TryGetValue(page, out var users))
        {
            users = [];
            tableUsers[page] = users;
            cpu.WatchPage(tablePage, true);
        }
        users.Add((root, pdi));
    }

    private void DropTable(ShadowRoot root, int pdi)
    {
        root.Tables[pdi] = null;
        uint source = root.SourcePages[pdi];
        if (source != uint.MaxValue && tableUsers.TryGetValue(source >> 12, out var users))
        {
            users.Remove((root, pdi));
            if (users.Count == 0)
            {
                tableUsers.Remove(source >> 12);
                UnwatchIfUnused(source >> 12);
            }
        }
    }

    private void UnwatchIfUnused(uint page)
    {
        if (!roots.ContainsKey(page) && !tableUsers.ContainsKey(page) && !watchedByOthers(page))
        {
            cpu.WatchPage(page << 12, false);
            writesSinceUse.Remove(page);
            // Its stores are no longer seen: no TLB entry derived from it may outlive that (a global
            // one filled in another address space would survive CR3 loads), since a paravirtual
            // kernel's INVLPG is answered by nothing here.
            cpu.FlushTlbAll();
        }
    }

    /// <summary>A guest-physical frame as the shadow maps it: guest RAM as is, anything else to a frame no memory backs (never the monitor's).</summary>
    private static uint GuestFrame(Vmi.Cpu.Cpu c, uint frame) =>
        c.Memory.IsRam(frame & ~0xFFFu, 4096) ? frame & ~0xFFFu : NestedMmu.Unbacked;

    private static bool Allows(uint e, PageAccess access, bool user)
    {
        if (user && (e & SU) == 0)
        {
            return false;
        }
        return access != PageAccess.Write || (e & (user ? SW : SSuperW)) != 0;
    }

    private static PageTranslation FromEntry(uint e) =>
        PageTranslation.Map(e & 0xFFFF_F000, (e & SW) != 0, (e & SU) != 0, (e & SG) != 0, (e & SSuperW) != 0);
}
