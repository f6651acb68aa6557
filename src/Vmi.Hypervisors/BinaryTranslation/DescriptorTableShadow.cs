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

    private readonly Vmi.Cpu.Cpu cpu;

    /// <summary>The guest's IDT as it wrote it (the copy in host memory may differ: converted gates).</summary>
    private readonly byte[] guestIdt = new byte[TableBytes];

    /// <summary>Per watched guest page (number): which table it holds part of, and the table offset of the page's first byte.</summary>
    private readonly Dictionary<uint, List<(bool Idt, long Delta)>> pages = [];

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
        foreach (var list in pages.Values)
        {
            list.RemoveAll(p => p.Idt == idt);
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
                list.Add((idt, p - guestBase));
                cpu.WatchPage(phys, true);
            }
        }
        return true;
    }

    /// <summary>A store into a watched page: true if it landed in a descriptor table (the copy is updated).</summary>
    public bool OnStore(in WatchedStore store)
    {
        if (!pages.TryGetValue(store.PhysicalAddress >> 12, out var list) || list.Count == 0)
        {
            return false;
        }
        bool hit = false;
        foreach ((bool idt, long delta) in list)
        {
            TableRegister t = idt ? VirtualIdtr : VirtualGdtr;
            for (int i = 0; i < store.Size; i++)
            {
                long at = delta + (store.PhysicalAddress & 0xFFF) + i;
                if (at >= 0 && at <= t.Limit)
                {
                    byte b = (byte)(store.NewValue >> (8 * i));
                    cpu.Memory.WriteHost((idt ? TableBytes : 0) + (uint)at, [b]);
                    if (idt)
                    {
                        guestIdt[at] = b;
                        ConvertGates((uint)at / 8, (uint)at / 8);
                    }
                    hit = true;
                }
            }
        }
        return hit;
    }
}
