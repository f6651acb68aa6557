using Vmi.Cpu;
using Vmi.Hypervisors.Paging;
using Vmi.Hypervisors.Paravirtual;

namespace Vmi.Hypervisors.BinaryTranslation;

/// <summary>
/// The monitor's own GDT and IDT: when the ring-1 kernel loads a descriptor table (LGDT/LIDT trap),
/// the monitor copies it into its own memory (the top of every address space, see
/// <see cref="ShadowMmu.MonitorBase"/>) and points the real GDTR/IDTR there, remembering the
/// guest's values, which translated SGDT/SIDT show. The guest's table pages are watched, so a
/// descriptor the guest writes later reaches the copy (a tracing fault, as for page tables).
/// </summary>
internal sealed class DescriptorTableShadow
{
    /// <summary>Host memory per table: a GDT's limit is at most 0xFFFF.</summary>
    private const uint TableBytes = 0x1_0000;

    public const uint HostBytes = 2 * TableBytes;

    /// <summary>
    /// Host memory for the monitor's TSS, after the shared page: a TSS with its I/O bitmap (Linux's
    /// is 104 bytes, two 8 KiB bitmaps' worth of the first and a few words).
    /// </summary>
    public const uint TssBytes = 0x3000;

    public const uint TssOffset = SharedPage.HostBytes;

    /// <summary>The ring the guest kernel runs in instead of ring 0 (ring compression).</summary>
    private const int KernelRing = 1;

    private enum Table : byte
    {
        Gdt,
        Idt,
        Tss,
    }

    private readonly Vmi.Cpu.Cpu cpu;

    /// <summary>The guest's IDT as it wrote it (the copy in host memory may differ: converted gates).</summary>
    private readonly byte[] guestIdt = new byte[TableBytes];

    /// <summary>Per watched guest page (number): which table it holds part of, and the table offset of the page's first byte.</summary>
    private readonly Dictionary<uint, List<(Table Table, long Delta)>> pages = [];

    /// <summary>The guest's TSS (its linear base and limit) the task register was loaded with; Limit 0: none yet.</summary>
    private TableRegister guestTss;

    public DescriptorTableShadow(Vmi.Cpu.Cpu cpu)
    {
        this.cpu = cpu;
        VirtualGdtr = cpu.Gdtr;
        VirtualIdtr = cpu.Idtr;
    }

    /// <summary>The GDTR the guest loaded (what SGDT shows it).</summary>
    public TableRegister VirtualGdtr { get; private set; }

    public TableRegister VirtualIdtr { get; private set; }

    public bool IsWatched(uint page) => pages.ContainsKey(page);

    /// <summary>
    /// Whether the monitor's IDT copy turns the guest's interrupt gates into trap gates, so that
    /// delivery leaves the real IF alone: a paravirtual kernel's interrupt flag is virtual (in the
    /// shared page), and the monitor clears that one itself for an interrupt gate.
    /// </summary>
    public bool TrapGatesOnly
    {
        get => trapGatesOnly;
        set
        {
            trapGatesOnly = value;
            if (VirtualIdtr.Limit > 0 && VirtualIdtr.Base != 0)
            {
                Load(idt: true, VirtualIdtr.Base, VirtualIdtr.Limit, out _);
            }
        }
    }

    private bool trapGatesOnly;

    /// <summary>Whether the guest's own gate for <paramref name="vector"/> is an interrupt gate (it clears IF on entry).</summary>
    public bool IsInterruptGate(int vector)
    {
        Span<byte> access = stackalloc byte[1];
        return (uint)vector * 8 + 7 <= VirtualIdtr.Limit
            && cpu.TryReadLinear(VirtualIdtr.Base + (uint)vector * 8 + 5, access, user: false, out _)
            && (access[0] & 0x1F) is 0x0E or 0x06;
    }

    /// <summary>
    /// The monitor's gates [<paramref name="firstGate"/>, <paramref name="lastGate"/>] from the
    /// guest's: an interrupt gate becomes a trap gate (the real IF stays set; the monitor clears the
    /// virtual one when it sees the event), and one that user code may call (DPL 3: the system
    /// call) is routed through a trampoline in the monitor's code page that clears the virtual flag
    /// and jumps to the kernel's handler, so a system call enters the kernel without the monitor.
    /// </summary>
    private void ConvertGates(uint firstGate, uint lastGate)
    {
        Span<byte> gate = stackalloc byte[8];
        for (uint g = firstGate; g <= lastGate && g * 8 + 8 <= TableBytes; g++)
        {
            guestIdt.AsSpan((int)(g * 8), 8).CopyTo(gate);
            byte type = (byte)(gate[5] & 0x1F);
            if ((gate[5] & 0x60) == 0 && type is 0x0E or 0x0F or 0x06 or 0x07)
            {
                // Ring compression: a ring-0 kernel's own INT n (INT3 of its code patching) checks the
                // gate's DPL against the CPL, now 1; ring 3 stays below either.
                gate[5] |= KernelRing << 5;
            }
            if (trapGatesOnly && type is 0x0E or 0x06)
            {
                gate[5] |= 1; // interrupt gate → trap gate (type 0xE → 0xF, 0x6 → 0x7)
                bool userCallable = ((gate[5] >> 5) & 3) == 3 && (gate[5] & 0x80) != 0;
                if (userCallable && type == 0x0E)
                {
                    uint handler = (uint)(gate[0] | (gate[1] << 8) | (gate[6] << 16) | (gate[7] << 24));
                    uint trampoline = WriteTrampoline(g, handler);
                    gate[0] = (byte)trampoline;
                    gate[1] = (byte)(trampoline >> 8);
                    gate[6] = (byte)(trampoline >> 16);
                    gate[7] = (byte)(trampoline >> 24);
                }
            }
            cpu.Memory.WriteHost(TableBytes + g * 8, gate);
        }
    }

    /// <summary>mov byte [virtual IF], 0; jmp handler — 12 bytes in a 16-byte slot; returns its linear address.</summary>
    private uint WriteTrampoline(uint vector, uint handler)
    {
        uint offset = SharedPage.TrampolineOffset + vector * 16;
        uint linear = ShadowMmu.MonitorBase + offset;
        Span<byte> code = stackalloc byte[16];
        code.Fill(0xCC);
        code[0] = 0xC6;
        code[1] = 0x05;
        BitConverter.TryWriteBytes(code[2..], SharedPage.VirtualIf);
        code[6] = 0x00;
        code[7] = 0xE9;
        BitConverter.TryWriteBytes(code[8..], handler - (linear + 12));
        cpu.Memory.WriteHost(offset, code);
        return linear;
    }

    /// <summary>LGDT/LIDT: copy the guest's table into the monitor's and load the real register with the copy.</summary>
    public bool Load(bool idt, uint guestBase, uint limit, out CpuFault fault)
    {
        limit &= 0xFFFF;
        byte[] image = new byte[limit + 1];
        if (!cpu.TryReadLinear(guestBase, image, user: false, out fault))
        {
            return false;
        }
        uint offset = idt ? TableBytes : 0;
        cpu.Memory.WriteHost(offset, image);
        if (!idt)
        {
            CompressDescriptors(0, limit / 8);
        }
        if (idt)
        {
            Array.Clear(guestIdt);
            image.CopyTo(guestIdt, 0);
            ConvertGates(0, limit / 8);
        }
        var real = new TableRegister { Base = ShadowMmu.MonitorBase + offset, Limit = limit };
        var guest = new TableRegister { Base = guestBase, Limit = limit };
        if (idt)
        {
            VirtualIdtr = guest;
            cpu.Idtr = real;
        }
        else
        {
            VirtualGdtr = guest;
            cpu.Gdtr = real;
        }
        Watch(idt ? Table.Idt : Table.Gdt, guestBase, limit);
        return true;
    }

    /// <summary>Watches the guest pages of a table (the pages it was in before are forgotten).</summary>
    private void Watch(Table table, uint guestBase, uint limit)
    {
        foreach (var list in pages.Values)
        {
            list.RemoveAll(p => p.Table == table);
        }
        for (long p = guestBase & ~0xFFFu; p <= (long)guestBase + limit; p += 0x1000)
        {
            if (cpu.TryTranslateNoSideEffects((uint)p, out uint phys) && cpu.Memory.IsRam(phys & ~0xFFFu, 0x1000))
            {
                uint page = phys >> 12;
                if (!pages.TryGetValue(page, out var list))
                {
                    list = [];
                    pages[page] = list;
                }
                list.Add((table, p - guestBase));
                cpu.WatchPage(phys, true);
            }
        }
    }

    /// <summary>
    /// Ring compression in the monitor's GDT copy (VMware's monitor did the same with its shadow
    /// GDT): a code or data descriptor of DPL 0 is shown to the CPU with DPL 1, so the ring-0
    /// kernel, run in ring 1, may load it (SS needs DPL = CPL; a far transfer to a non-conforming
    /// code segment needs DPL = CPL). The guest's own table keeps DPL 0.
    /// </summary>
    private void CompressDescriptors(uint first, uint last)
    {
        Span<byte> access = stackalloc byte[1];
        for (uint d = first; d <= last && d * 8 + 8 <= TableBytes; d++)
        {
            cpu.Memory.ReadHost(d * 8 + 5, access);
            bool codeOrData = (access[0] & 0x10) != 0;
            if (codeOrData && (access[0] & 0x60) == 0)
            {
                cpu.Memory.WriteHost(d * 8 + 5, [(byte)(access[0] | (KernelRing << 5))]);
            }
        }
    }

    /// <summary>
    /// LTR was emulated (the real TR now describes the guest's TSS): the monitor copies that TSS
    /// into its own memory and points the real TR there, watching the guest's pages as it does the
    /// descriptor tables'. The copy differs in one place: a ring-0 kernel's stack for entries from
    /// user mode (SS0:ESP0) becomes the ring-1 stack (SS1:ESP1), which is what the CPU takes for a
    /// gate to a ring-1 handler; the guest's own SS1:ESP1 is left alone in its memory (Linux keeps
    /// its SYSENTER CS and the task's stack there). A kernel that sets SS0 to null (ours, which
    /// knows it runs in ring 1) gets its own SS1:ESP1.
    /// </summary>
    public bool OnTaskRegisterLoaded(out CpuFault fault)
    {
        TableRegister tr = cpu.Tr;
        uint limit = Math.Min(tr.Limit, TssBytes - 1);
        byte[] image = new byte[limit + 1];
        if (!cpu.TryReadLinear(tr.Base, image, user: false, out fault))
        {
            return false;
        }
        guestTss = tr;
        cpu.Memory.WriteHost(TssOffset, image);
        CompressTssStack();
        cpu.Tr = tr with { Base = ShadowMmu.MonitorBase + TssOffset, Limit = limit };
        Watch(Table.Tss, tr.Base, limit);
        return true;
    }

    private void CompressTssStack()
    {
        ushort ss0 = Ring0StackSelector;
        if (ss0 == 0)
        {
            return;
        }
        Span<byte> esp0 = stackalloc byte[4];
        cpu.Memory.ReadHost(TssOffset + 4, esp0);
        ushort ss1 = (ushort)(ss0 | KernelRing);
        cpu.Memory.WriteHost(TssOffset + 12, esp0);
        cpu.Memory.WriteHost(TssOffset + 16, [(byte)ss1, (byte)(ss1 >> 8), 0, 0]);
    }

    /// <summary>The TSS copy's SS0 without its RPL; 0 when the kernel keeps no ring-0 stack (ours, which knows it runs in ring 1).</summary>
    private ushort Ring0StackSelector
    {
        get
        {
            Span<byte> ss0 = stackalloc byte[2];
            cpu.Memory.ReadHost(TssOffset + 8, ss0);
            return (ushort)(BitConverter.ToUInt16(ss0) & 0xFFFC);
        }
    }

    private bool HasRing0Stack => Ring0StackSelector != 0;

    /// <summary>Follows a guest store into a watched page in the monitor's copies; what it wrote to, for the event's detail, or null.</summary>
    public string? OnStore(in WatchedStore store)
    {
        if (!pages.TryGetValue(store.PhysicalAddress >> 12, out var list) || list.Count == 0)
        {
            return null;
        }
        string? hit = null;
        foreach ((Table table, long delta) in list)
        {
            uint limit = table switch { Table.Idt => VirtualIdtr.Limit, Table.Gdt => VirtualGdtr.Limit, _ => Math.Min(guestTss.Limit, TssBytes - 1) };
            uint hostBase = table switch { Table.Idt => TableBytes, Table.Gdt => 0, _ => TssOffset };
            for (int i = 0; i < store.Size; i++)
            {
                long at = delta + (store.PhysicalAddress & 0xFFF) + i;
                if (at >= 0 && at <= limit)
                {
                    byte b = (byte)(store.NewValue >> (8 * i));
                    if (table == Table.Tss && at is >= 12 and < 20)
                    {
                        // The guest's SS1:ESP1 reach the copy only when it has no ring-0 stack of its own.
                        if (!HasRing0Stack)
                        {
                            cpu.Memory.WriteHost(hostBase + (uint)at, [b]);
                        }
                        hit = TssWrite;
                        continue;
                    }
                    cpu.Memory.WriteHost(hostBase + (uint)at, [b]);
                    switch (table)
                    {
                        case Table.Idt:
                            guestIdt[at] = b;
                            ConvertGates((uint)at / 8, (uint)at / 8);
                            break;
                        case Table.Gdt:
                            CompressDescriptors((uint)at / 8, (uint)at / 8);
                            break;
                        case Table.Tss when at is >= 4 and < 12:
                            CompressTssStack();
                            break;
                    }
                    hit = table == Table.Tss ? TssWrite : TableWrite;
                }
            }
        }
        return hit;
    }

    /// <summary>Event details: a store into the GDT or IDT, or into the TSS (Linux writes its task's stack there on every switch).</summary>
    public const string TableWrite = "descriptor-table write", TssWrite = "TSS write";
}
