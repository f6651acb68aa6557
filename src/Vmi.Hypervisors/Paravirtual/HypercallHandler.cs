using Vmi.Abi;
using Vmi.Cpu;
using Vmi.Cpu.Memory;
using Vmi.Hypervisors.Paging;
using Vmi.Rom;

namespace Vmi.Hypervisors.Paravirtual;

/// <summary>
/// Carries out the VMI calls a ROM turned into hypercalls (EBX = the call number, arguments in EAX,
/// EDX, ECX as the kernel passed them). Arguments are validated as a real hypervisor must: a
/// page-table write to a page not known as a page table, a PTE mapping memory the guest does not
/// own (anything beyond its RAM, where the hypervisor's own memory lies), a misaligned or unmapped
/// pointer is refused: nothing is written, the refusal is counted, and the guest gets EAX = -1.
/// </summary>
internal sealed class HypercallHandler
{
    public const uint Refused = 0xFFFF_FFFF;

    private readonly Vmi.Cpu.Cpu cpu;
    private readonly ShadowMmu? mmu;
    private readonly Action<string> count;
    private readonly HashSet<uint> pageTables = [];

    private readonly ParavirtualClock? clock;
    private readonly Action<string> countQueued;

    /// <param name="count">Counts one hypercall with its detail (the call's name, or why it was refused).</param>
    /// <param name="countQueued">Counts one queued page-table update applied or refused, with its detail.</param>
    public HypercallHandler(Vmi.Cpu.Cpu cpu, ShadowMmu? mmu, Action<string> count, ParavirtualClock? clock = null, Action<string>? countQueued = null)
    {
        this.cpu = cpu;
        this.mmu = mmu;
        this.count = count;
        this.clock = clock;
        this.countQueued = countQueued ?? count;
    }

    public long RefusedCount { get; private set; }

    /// <summary>Refuses a hypercall number nobody implements (counted; the guest gets EAX = -1).</summary>
    public InterceptAction RefuseUnknown()
    {
        Refuse("unknown hypercall refused", out InterceptAction action);
        return action;
    }

    /// <summary>Handles hypercall <paramref name="number"/>; false for a number outside the VMI calls (a backend's private ones).</summary>
    public bool TryHandle(uint number, in SensitiveEvent trap, out InterceptAction action)
    {
        action = InterceptAction.Skip;
        if (number == Hypercalls.FlushMmuQueue)
        {
            count("flush MMU queue");
            FlushQueue();
            return true;
        }
        if (number >= VmiCalls.Count)
        {
            return false;
        }
        var call = (VmiCall)number;
        string name = Names[number];
        uint eax = cpu.Eax, edx = cpu.Edx, ecx = cpu.Ecx;
        if (clock is not null && clock.TryHandle(call, out string? refusal))
        {
            if (refusal is not null)
            {
                return Refuse(refusal, out action);
            }
            count(name);
            return true;
        }
        switch (call)
        {
            case VmiCall.SetCr0 or VmiCall.SetCr2 or VmiCall.SetCr3 or VmiCall.SetCr4:
                {
                    int cr = call switch { VmiCall.SetCr0 => 0, VmiCall.SetCr2 => 2, VmiCall.SetCr3 => 3, _ => 4 };
                    if (cr == 3)
                    {
                        FlushQueue(); // queued updates belong to the address space being left
                    }
                    if (!cpu.TrySetControlRegister(cr, eax))
                    {
                        return Refuse($"{name} refused (reserved bits)", out action);
                    }
                    if (cr == 2)
                    {
                        SharedPage.RecordCr2(cpu.Memory, eax);
                    }
                    break;
                }
            case VmiCall.GetCr0 or VmiCall.GetCr2 or VmiCall.GetCr3 or VmiCall.GetCr4:
                cpu.TryGetControlRegister(call switch { VmiCall.GetCr0 => 0, VmiCall.GetCr2 => 2, VmiCall.GetCr3 => 3, _ => 4 }, out uint value);
                cpu.Eax = value;
                break;
            case VmiCall.InvalPage:
                FlushQueue(); // invalidations apply what was deferred first (the ABI's rule)
                mmu?.Invalidate(eax);
                cpu.InvalidatePage(eax);
                break;
            case VmiCall.FlushTlb:
                FlushQueue();
                cpu.FlushTlb(keepGlobal: (eax & 2) == 0);
                break;
            case VmiCall.SetPxE:
                if (TryApplyPxE(eax, edx, ecx) is string refused)
                {
                    return Refuse(refused, out action);
                }
                break;
            case VmiCall.AllocatePage:
                pageTables.Add(eax);
                break;
            case VmiCall.ReleasePage:
                pageTables.Remove(eax);
                break;
            case VmiCall.Inb or VmiCall.Inw or VmiCall.Inl:
                {
                    int size = call == VmiCall.Inb ? 1 : call == VmiCall.Inw ? 2 : 4;
                    cpu.Eax = cpu.Platform.PortRead((ushort)edx, size) & Vmi.Cpu.Cpu.SizeMask(size);
                    break;
                }
            case VmiCall.Outb or VmiCall.Outw or VmiCall.Outl:
                {
                    int size = call == VmiCall.Outb ? 1 : call == VmiCall.Outw ? 2 : 4;
                    cpu.Platform.PortWrite((ushort)edx, size, eax & Vmi.Cpu.Cpu.SizeMask(size));
                    break;
                }
            case VmiCall.IoDelay:
                break;
            case VmiCall.Rdtsc:
                cpu.TryReadMsr(0x10, out ulong tsc);
                cpu.Eax = (uint)tsc;
                cpu.Edx = (uint)(tsc >> 32);
                break;
            case VmiCall.GetTr:
                cpu.Eax = cpu.Tr.Selector;
                break;
            case VmiCall.GetLdt:
                cpu.Eax = cpu.Ldtr.Selector;
                break;
            case VmiCall.GetGdt or VmiCall.GetIdt:
                {
                    TableRegister t = call == VmiCall.GetGdt ? cpu.Gdtr : cpu.Idtr;
                    if (!WriteTableRegister(cpu, eax, t, out _))
                    {
                        return Refuse($"{name} refused (buffer not writable)", out action);
                    }
                    break;
                }
            case VmiCall.Halt:
                // safe_halt: interrupts on, then halt (an interrupt already pending wakes it at once).
                cpu.Eflags |= EFlags.IF;
                cpu.EnterHalt(trap.Eip + (uint)trap.Length);
                action = InterceptAction.Resume;
                break;
            default:
                return Refuse("unknown hypercall refused", out action);
        }
        count(name);
        return true;
    }

    /// <summary>Stores a 6-byte descriptor-table register image at <paramref name="linear"/> as SGDT/SIDT would; on failure, the fault they would raise.</summary>
    public static bool WriteTableRegister(Vmi.Cpu.Cpu cpu, uint linear, TableRegister t, out CpuFault fault)
    {
        Span<byte> image = stackalloc byte[6];
        BitConverter.TryWriteBytes(image, (ushort)t.Limit);
        BitConverter.TryWriteBytes(image[2..], t.Base);
        return cpu.TryWriteLinear(linear, image, user: false, out fault);
    }

    /// <summary>
    /// Applies the updates queued in the shared page (<see cref="SharedPage.Queue"/>), each
    /// validated as a SetPxE hypercall would be, in order, and empties the queue. Returns how many
    /// were applied. A count the kernel corrupted (past the queue) applies nothing and is refused.
    /// </summary>
    public int FlushQueue()
    {
        PhysicalMemory memory = cpu.Memory;
        if (memory.HostSize < SharedPage.HostBytes)
        {
            return 0;
        }
        Span<byte> raw = stackalloc byte[SharedPage.QueueEntryBytes];
        memory.ReadHost(SharedPage.QueueCount - ShadowMmu.MonitorBase, raw[..4]);
        uint queued = BitConverter.ToUInt32(raw);
        if (queued == 0)
        {
            return 0;
        }
        memory.WriteHost(SharedPage.QueueCount - ShadowMmu.MonitorBase, [0, 0, 0, 0]);
        if (queued > SharedPage.QueueCapacity)
        {
            RefusedCount++;
            countQueued("queue refused (count past its end)");
            return 0;
        }
        int applied = 0;
        for (uint i = 0; i < queued; i++)
        {
            memory.ReadHost(SharedPage.Queue - ShadowMmu.MonitorBase + i * SharedPage.QueueEntryBytes, raw);
            uint entry = BitConverter.ToUInt32(raw), value = BitConverter.ToUInt32(raw[4..]), flags = BitConverter.ToUInt32(raw[8..]);
            if (TryApplyPxE(value, entry, flags) is string refused)
            {
                RefusedCount++;
                countQueued(refused);
                continue;
            }
            countQueued("SetPxE");
            applied++;
        }
        return applied;
    }

    /// <summary>Writes one page-table entry after validating it; the reason it was refused, or null.</summary>
    private string? TryApplyPxE(uint value, uint entry, uint flags)
    {
        if ((entry & 3) != 0)
        {
            return "SetPxE refused (misaligned entry pointer)";
        }
        if (!cpu.TryTranslateNoSideEffects(entry, out uint physical) || !cpu.Memory.IsRam(physical & ~0xFFFu, 4096))
        {
            return "SetPxE refused (entry pointer not in guest RAM)";
        }
        if (!IsPageTable(physical >> 12))
        {
            return "SetPxE refused (not a page table)";
        }
        if ((value & 1) != 0)
        {
            bool large = (flags & 0x02) != 0 && (value & 0x80) != 0;
            uint frame = large ? value & 0xFFC0_0000 : value & 0xFFFF_F000;
            if (!cpu.Memory.IsRam(frame, large ? 0x40_0000u : 0x1000u))
            {
                return "SetPxE refused (maps memory the guest does not own)";
            }
        }
        uint old = cpu.Memory.Read32(physical);
        Span<byte> bytes = stackalloc byte[4];
        BitConverter.TryWriteBytes(bytes, value);
        cpu.TryWritePhysical(physical, bytes);
        // The hypervisor saw the write itself: the shadow follows without a tracing fault.
        mmu?.ApplyStore(new WatchedStore(physical, 4, old, value, cpu.Eip, cpu.Cpl));
        return null;
    }

    /// <summary>Announced with AllocatePage, the running directory, a table it points to, or a page the shadow already follows.</summary>
    private bool IsPageTable(uint page)
    {
        if (pageTables.Contains(page) || SharedPage.IsAnnounced(cpu.Memory, page) || page == cpu.Cr3 >> 12 || (mmu?.IsShadowed(page) ?? false))
        {
            return true;
        }
        uint directory = cpu.Cr3 & 0xFFFF_F000;
        for (uint i = 0; i < 1024; i++)
        {
            uint pde = cpu.Memory.Read32(directory + i * 4);
            if ((pde & 0x81) == 0x01 && pde >> 12 == page)
            {
                return true;
            }
        }
        return false;
    }

    private bool Refuse(string why, out InterceptAction action)
    {
        RefusedCount++;
        cpu.Eax = Refused;
        count(why);
        action = InterceptAction.Skip;
        return true;
    }

    private static readonly string[] Names = VmiCalls.All.Select(VmiCalls.AbiName).ToArray();
}
