using Vmi.Cpu;

namespace Vmi.Hypervisors.Paging;

/// <summary>
/// Nested paging (AMD NPT, Intel EPT): the guest owns its page tables and the CPU walks them
/// itself, but every guest-physical address (each guest table reference and the final frame) is
/// translated through the hypervisor's nested tables: a two-dimensional walk. With two-level guest
/// tables and two-level nested tables a 4 KiB miss makes up to 8 memory references: for each of
/// the 2 guest levels, 2 nested references then the guest entry itself, then 2 for the final frame.
/// No page fault, CR3 load or INVLPG leaves the guest. References are counted per level.
/// </summary>
internal sealed class NestedMmu : IPageTranslation
{
    private const uint P = 1, Rw = 2;

    /// <summary>A frame no memory backs (the top page of the physical space): where a guest-physical address outside RAM leads.</summary>
    public const uint Unbacked = 0xFFFF_F000;

    private readonly uint guestRamBytes;
    private readonly uint[] nestedDirectory = new uint[1024];
    private readonly uint[]?[] nestedTables = new uint[]?[1024];
    private readonly Action<long> onWalk;

    /// <summary>References made at each level: [0] nested directory, [1] nested table, [2] guest directory, [3] guest table.</summary>
    public long[] ReferencesByLevel { get; } = new long[4];

    public long Walks { get; private set; }

    /// <param name="onWalk">Told of each two-dimensional walk with the number of references it made.</param>
    public NestedMmu(uint guestRamBytes, Action<long> onWalk)
    {
        this.guestRamBytes = guestRamBytes;
        this.onWalk = onWalk;
        // The nested tables map guest-physical to host-physical for all of guest RAM and nothing
        // else (here the two coincide: the host keeps guest RAM at the same addresses).
        for (uint gpa = 0; gpa < guestRamBytes; gpa += 4096)
        {
            int d = (int)(gpa >> 22);
            nestedTables[d] ??= new uint[1024];
            nestedDirectory[d] = P | Rw;
            nestedTables[d]![(gpa >> 12) & 0x3FF] = gpa | P | Rw;
        }
    }

    public PageTranslation Translate(Vmi.Cpu.Cpu cpu, uint linear, PageAccess access, bool user)
    {
        long before = ReferencesByLevel.Sum();
        PageTranslation t;
        if (!cpu.PagingEnabled)
        {
            t = PageTranslation.Map(Nested(linear), writable: true, user: true);
        }
        else
        {
            GuestMapping g = GuestPageWalker.Walk(cpu, linear, access, user, sideEffects: true, GuestTableReference);
            t = g.Fault
                ? PageTranslation.PageFault(g.ErrorCode)
                : PageTranslation.Map(Nested(g.Frame), g.Writable && g.Dirty, g.User, g.Global, g.SupervisorWritable && g.Dirty);
        }
        Walks++;
        onWalk(ReferencesByLevel.Sum() - before);
        return t;
    }

    public bool TryTranslateNoSideEffects(Vmi.Cpu.Cpu cpu, uint linear, out uint physical)
    {
        if (!cpu.PagingEnabled)
        {
            physical = linear;
            return true;
        }
        GuestMapping g = GuestPageWalker.Walk(cpu, linear, PageAccess.Read, user: false, sideEffects: false, static (a, _) => a);
        physical = g.Frame | (linear & 0xFFF);
        return !g.Fault;
    }

    /// <summary>A guest table reference at guest level <paramref name="level"/> (2 directory, 1 table): nested translation, then the reference.</summary>
    private uint GuestTableReference(uint gpa, int level)
    {
        uint hpa = Nested(gpa);
        ReferencesByLevel[level == 2 ? 2 : 3]++;
        return hpa;
    }

    /// <summary>The second dimension: guest-physical to host-physical through the nested tables.</summary>
    private uint Nested(uint gpa)
    {
        ReferencesByLevel[0]++;
        uint nde = nestedDirectory[gpa >> 22];
        if ((nde & P) == 0)
        {
            // Outside guest RAM nothing is mapped: the access goes nowhere (reads float high) as on a bare PC.
            return Unbacked | (gpa & 0xFFF);
        }
        ReferencesByLevel[1]++;
        uint nte = nestedTables[gpa >> 22]![(gpa >> 12) & 0x3FF];
        return (nte & P) == 0 ? Unbacked | (gpa & 0xFFF) : (nte & 0xFFFF_F000) | (gpa & 0xFFF);
    }

    public uint GuestRamBytes => guestRamBytes;
}
