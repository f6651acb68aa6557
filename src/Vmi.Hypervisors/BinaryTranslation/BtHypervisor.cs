using Vmi.Cpu;
using Vmi.Hypervisors.Costs;
using Vmi.Hypervisors.Events;
using Vmi.Hypervisors.Paging;
using Vmi.Hypervisors.Paravirtual;
using Vmi.Rom;

namespace Vmi.Hypervisors.BinaryTranslation;

/// <summary>
/// Software full virtualization in the style of VMware's 2006 monitor (Adams &amp; Agesen): the
/// guest kernel runs de-privileged in ring 1 with IOPL 0, so its privileged instructions (CLI,
/// STI, HLT, IN/OUT, MOV to/from CR, LGDT, INVLPG, …) trap with #GP and are emulated here; the
/// sensitive instructions that do not trap at ring 1 (POPF and IRET silently keep IF, PUSHF shows
/// it, SGDT/SIDT/SLDT/STR/SMSW, MOV from a segment register, LAR/LSL/VERR/VERW, CPUID, RDTSC) are
/// found by translating every kernel block before it first runs, and handled in the translated
/// code. User code runs directly. Guest page tables are shadowed (<see cref="ShadowMmu"/>). Every
/// exception and interrupt that reaches the guest kernel passes through the monitor first.
/// </summary>
public sealed class BtHypervisor : Hypervisor, IShadowAccounting
{
    private ShadowMmu? mmu;
    private DescriptorTableShadow? tables;
    private HypercallHandler? hypercalls;

    /// <summary>Whether the kernel took this backend's ROM (vmi_init): from then on its ring-1 code runs directly, untranslated.</summary>
    public bool Paravirtual { get; private set; }

    public BtHypervisor(CostProfile profile)
        : base(profile)
    {
    }

    public override string Name => "bt";

    public override string Description => "software full virtualization (2006 VMware style): kernel in ring 1, traps emulated, sensitive kernel instructions translated, shadow page tables";

    public override int KernelRing => 1;

    public override uint HostMemoryBytes => DescriptorTableShadow.TssOffset + DescriptorTableShadow.TssBytes;

    /// <summary>
    /// The ROM this backend publishes (<see cref="Hypervisor.BuildRom"/>): each call in its cheapest correct form for a kernel run
    /// directly in ring 1 (its costs: <see cref="BtCosts"/>): the interrupt flag and IRET on the
    /// shared page's virtual flag, CPUID from a table, hypercalls by INT 0x82 (no hardware
    /// assistance is used) where a trap would cost more or native would be wrong; virtual_top
    /// reserves the monitor's area; vmi_init tells the monitor the kernel took the ROM.
    /// </summary>
    internal override RomPlanner Planner(CpuModel model)
    {
        var planner = new RomPlanner(Name, model, new BtCosts(Profile), HypercallInstruction.SoftwareInterrupt)
        {
            VirtualTop = ShadowMmu.MonitorBase,
            VmiInit = VirtualInterruptFlag.EmitVmiInit,
            AlarmClockHz = Profile.TickHz,
        };
        long few = Profile.CpiMilli * 4 / 1000;
        planner.Offer(Vmi.Abi.VmiCall.DisableInterrupts, VirtualInterruptFlag.Disable, few, "virtual IF")
            .Offer(Vmi.Abi.VmiCall.EnableInterrupts, VirtualInterruptFlag.Enable, few, "virtual IF")
            .Offer(Vmi.Abi.VmiCall.GetInterruptMask, VirtualInterruptFlag.Get, few, "virtual IF")
            .Offer(Vmi.Abi.VmiCall.SetInterruptMask, VirtualInterruptFlag.Set, few, "virtual IF")
            .Offer(Vmi.Abi.VmiCall.Iret, VirtualInterruptFlag.Iret, few, "virtual IF, then IRET")
            .Offer(Vmi.Abi.VmiCall.Cpuid, CpuidTable.For(RomPlanner.CpuidLeaves(model)), Profile.CpiMilli * 20 / 1000, "CPUID table")
            .Offer(Vmi.Abi.VmiCall.GetCr2, SharedPage.GetCr2, Profile.CpiMilli * 2 / 1000, "shared-page CR2")
            // Outside lazy mode a page-table store is traced as the native one is, at the same cost;
            // inside, it is queued for a fraction of that (SharedPage.QueuedUpdateCost), so the form never loses.
            .Offer(Vmi.Abi.VmiCall.SetPxE, SharedPage.QueuedSetPxE(HypercallInstruction.SoftwareInterrupt, SharedPage.NativeStore), Profile.CostOf(EventKind.TracingFault), $"store; lazy: queue ({SharedPage.QueuedUpdateCost(Profile, Profile.CostOf(EventKind.Hypercall))})")
            .Offer(Vmi.Abi.VmiCall.SetLazyMode, SharedPage.SetLazyMode(HypercallInstruction.SoftwareInterrupt), Profile.CpiMilli * 6 / 1000, "shared-page flag")
            .Offer(Vmi.Abi.VmiCall.InvalPage, SharedPage.FlushQueueOnly(HypercallInstruction.SoftwareInterrupt), Profile.CpiMilli * 2 / 1000, "queue flush only")
            .Offer(Vmi.Abi.VmiCall.FlushTlb, SharedPage.FlushQueueOnly(HypercallInstruction.SoftwareInterrupt), Profile.CpiMilli * 2 / 1000, "queue flush only")
            .Offer(Vmi.Abi.VmiCall.AllocatePage, SharedPage.AnnouncePageTable(allocate: true), Profile.CpiMilli * 3 / 1000, "shared-page bitmap")
            .Offer(Vmi.Abi.VmiCall.ReleasePage, SharedPage.AnnouncePageTable(allocate: false), Profile.CpiMilli * 3 / 1000, "shared-page bitmap");
        return planner;
    }

    /// <summary>Kernel blocks translated (each also counts its instructions as <see cref="EventKind.TranslatedInstruction"/>).</summary>
    public long TranslatedBlocks { get; private set; }

    /// <summary>The non-trapping sensitive instructions the translator must find in kernel code.</summary>
    public static readonly SensitiveOp[] TranslatedOps =
    [
        SensitiveOp.Pushf, SensitiveOp.Popf, SensitiveOp.Iret, SensitiveOp.Sgdt, SensitiveOp.Sidt, SensitiveOp.Sldt,
        SensitiveOp.Str, SensitiveOp.Smsw, SensitiveOp.MovFromSeg, SensitiveOp.Lar, SensitiveOp.Lsl, SensitiveOp.Verr,
        SensitiveOp.Verw, SensitiveOp.Cpuid, SensitiveOp.Rdtsc,
    ];

    /// <summary>Whether kernel code is translated (off only to show that translation is needed: POPF then cannot restore IF).</summary>
    public bool Translate { get; init; } = true;

    protected override void OnAttach()
    {
        EnterRing1();
        // Ring compression: the kernel's RPL-0 selectors are taken as RPL 1 where ring 1 needs it.
        Cpu.CompressedRing = KernelRing;
        Cpu.Intercepts = this;
        Cpu.HypercallVector = Hypercalls.SoftwareInterruptVector;
        Cpu.InstructionIntercepts = (Translate ? Vmi.Cpu.Cpu.MaskOf(TranslatedOps) : 0) | Vmi.Cpu.Cpu.MaskOf(SensitiveOp.SoftwareInterruptHypercall);
        Cpu.ExceptionIntercepts = uint.MaxValue;
        Cpu.InterceptSoftwareInterrupts = true;
        Cpu.InterceptExternalInterrupts = true;
        tables = new DescriptorTableShadow(Cpu);
        mmu = new ShadowMmu(Cpu, this, tables.IsWatched);
        Cpu.Paging = mmu;
        Cpu.StoreWatch = OnStore;
        hypercalls = new HypercallHandler(Cpu, mmu, detail => Count(EventKind.Hypercall, detail), new ParavirtualClock(Vm), detail => Count(EventKind.QueuedPageTableUpdate, detail));
        mmu.FlushDeferred = hypercalls.FlushQueue;
        if (Translate)
        {
            Cpu.BlockDecoded = OnBlockDecoded;
        }
    }

    /// <summary>
    /// Starts the kernel in ring 1: the boot GDT's flat code and data descriptors get DPL 1 and the
    /// segment registers RPL 1 (a multiboot kernel may not rely on the loader's GDT, and ours reads
    /// its privilege level from CS, as Linux did).
    /// </summary>
    private void EnterRing1()
    {
        ushort cs = Cpu.Segment(SegReg.Cs).Selector, ds = Cpu.Segment(SegReg.Ds).Selector;
        SetDpl1(cs);
        SetDpl1(ds);
        for (int s = 0; s < 6; s++)
        {
            SegmentCache c = Cpu.Segment(s);
            c.Selector = (ushort)((s == SegReg.Cs ? cs : ds) | 1);
            c.Attributes = (ushort)((c.Attributes & ~0x60) | 0x20);
            Cpu.SetSegment(s, c);
        }
    }

    private void SetDpl1(ushort selector)
    {
        uint at = Cpu.Gdtr.Base + (uint)(selector & ~7) + 5;
        Span<byte> access = stackalloc byte[1];
        if (!Cpu.TryReadPhysical(at, access) || !Cpu.TryWritePhysical(at, [(byte)((access[0] & ~0x60) | 0x20)]))
        {
            throw new HypervisorException($"bt: the boot GDT entry 0x{selector:X2} at 0x{at - 5:X8} is not in guest RAM");
        }
    }

    private void OnBlockDecoded(in DecodedBlock block)
    {
        if (block.Cpl == KernelRing)
        {
            TranslatedBlocks++;
            Count(EventKind.TranslatedInstruction, "kernel block", block.Instructions.Length);
        }
    }

    public override InterceptAction OnInstruction(Vmi.Cpu.Cpu cpu, in SensitiveEvent e)
    {
        if (e.Cpl != KernelRing)
        {
            return InterceptAction.Default; // user code runs directly (an INT 0x82 from it is an ordinary interrupt)
        }
        if (e.Op == SensitiveOp.SoftwareInterruptHypercall)
        {
            return Hypercall(cpu, e);
        }
        Count(EventKind.TranslatedSensitive, OpName(e.Op));
        if (e.Op is SensitiveOp.Sgdt or SensitiveOp.Sidt)
        {
            // The guest sees the table it loaded, not the monitor's copy.
            TableRegister t = e.Op == SensitiveOp.Sgdt ? tables!.VirtualGdtr : tables!.VirtualIdtr;
            return HypercallHandler.WriteTableRegister(cpu, e.Address, t, out CpuFault f) ? InterceptAction.Skip : TrapEmulation.Reflect(cpu, f);
        }
        if (e.Op == SensitiveOp.Cpuid)
        {
            return Cpuid(cpu, e);
        }
        if (e.Op is SensitiveOp.Popf or SensitiveOp.Iret)
        {
            // At CPL 1 > IOPL 0 the hardware would silently keep IF; the translated code restores
            // the guest's IF from the image it pops (IRET back to user mode included).
            cpu.Eflags = (cpu.Eflags & ~EFlags.IF) | (e.Value & EFlags.IF);
        }
        return InterceptAction.Default;
    }

    public override InterceptAction OnException(Vmi.Cpu.Cpu cpu, ref ExceptionEvent e)
    {
        if (e.Vector == Vectors.GP && e.HasInstruction && e.Instruction.Cpl == KernelRing)
        {
            SensitiveEvent ins = e.Instruction;
            // The instruction is described only if the event is traced (a struct copy, no closure, no string otherwise).
            Count(EventKind.TrapAndEmulate, OpName(ins.Op), instruction: ins);
            if (Paravirtual && ins.Op is SensitiveOp.Cli or SensitiveOp.Sti)
            {
                // A native CLI/STI of a paravirtual kernel (before its sites were patched) acts on the virtual flag.
                SetVirtualIf(cpu, ins.Op == SensitiveOp.Sti);
                return InterceptAction.Skip;
            }
            if (ins.Op is SensitiveOp.Lgdt or SensitiveOp.Lidt)
            {
                return LoadDescriptorTable(cpu, ins);
            }
            if (ins.Op == SensitiveOp.Ltr)
            {
                // LTR's checks and busy bit on the monitor's GDT copy, then the monitor's TSS copy.
                CpuFault f;
                return cpu.TryLoadTaskRegister((ushort)ins.Value, out f) && tables!.OnTaskRegisterLoaded(out f) ? InterceptAction.Skip : TrapEmulation.Reflect(cpu, f);
            }
            return TrapEmulation.Emulate(cpu, ins, mmu!, Name);
        }
        if (e.Vector == Vectors.PF && e.Source == InterruptSource.Exception)
        {
            SharedPage.RecordCr2(cpu.Memory, e.FaultAddress);
        }
        Count(EventKind.InterruptReflection, e.Source switch
        {
            InterruptSource.SoftwareInterrupt => "software interrupt",
            InterruptSource.External => "external interrupt",
            _ => e.Vector == Vectors.PF ? "page fault" : "exception",
        });
        if (Paravirtual)
        {
            EnterKernel(cpu, e.Vector);
        }
        return InterceptAction.Default;
    }

    /// <summary>
    /// An event is about to enter the paravirtual kernel through the monitor's IDT (trap gates only):
    /// the frame's EFLAGS image must carry the virtual flag, and an interrupt gate of the guest's
    /// clears the virtual flag, as the hardware would clear IF.
    /// </summary>
    private void EnterKernel(Vmi.Cpu.Cpu cpu, int vector)
    {
        bool vif = VirtualIf;
        cpu.Eflags = vif ? cpu.Eflags | EFlags.IF : cpu.Eflags & ~EFlags.IF;
        if (tables!.IsInterruptGate(vector))
        {
            WriteShared(SharedPage.VirtualIf, 0);
        }
    }

    private bool VirtualIf => ReadShared(SharedPage.VirtualIf) != 0;

    private void SetVirtualIf(Vmi.Cpu.Cpu cpu, bool enabled)
    {
        WriteShared(SharedPage.VirtualIf, enabled ? (byte)1 : (byte)0);
        if (enabled)
        {
            // Held interrupts may come in now, and the real IF must be set for them.
            WriteShared(SharedPage.Pending, 0);
            cpu.Eflags |= EFlags.IF;
        }
    }

    private byte ReadShared(uint linear)
    {
        Span<byte> b = stackalloc byte[1];
        Cpu.Memory.ReadHost(linear - ShadowMmu.MonitorBase, b);
        return b[0];
    }

    private void WriteShared(uint linear, byte value) => Cpu.Memory.WriteHost(linear - ShadowMmu.MonitorBase, [value]);

    private InterceptAction Hypercall(Vmi.Cpu.Cpu cpu, in SensitiveEvent e)
    {
        uint number = cpu.Ebx;
        switch (number)
        {
            case Hypercalls.Activate:
                Count(EventKind.Hypercall, "activate");
                Activate(cpu);
                return InterceptAction.Skip;
            case Hypercalls.DeliverPending:
                Count(EventKind.Hypercall, "deliver pending");
                SetVirtualIf(cpu, true);
                return InterceptAction.Skip;
            case (uint)Vmi.Abi.VmiCall.Halt:
                Count(EventKind.Hypercall, "Halt");
                SetVirtualIf(cpu, true);
                cpu.EnterHalt(e.Eip + (uint)e.Length);
                return InterceptAction.Resume;
            case (uint)Vmi.Abi.VmiCall.GetGdt or (uint)Vmi.Abi.VmiCall.GetIdt:
                Count(EventKind.Hypercall, number == (uint)Vmi.Abi.VmiCall.GetGdt ? "GetGDT" : "GetIDT");
                // The kernel's own table, not the monitor's copy.
                if (!HypercallHandler.WriteTableRegister(cpu, cpu.Eax, number == (uint)Vmi.Abi.VmiCall.GetGdt ? tables!.VirtualGdtr : tables!.VirtualIdtr, out _))
                {
                    cpu.Eax = HypercallHandler.Refused;
                }
                return InterceptAction.Skip;
            default:
                return hypercalls!.TryHandle(number, e, out InterceptAction action) ? action : hypercalls.RefuseUnknown();
        }
    }

    /// <summary>
    /// The kernel took the ROM: its sensitive operations now go through the ROM's sites, so its
    /// ring-1 code runs directly, untranslated (which is correct only if every one of them does).
    /// Its interrupt flag becomes the shared page's; the real IF stays set, the IDT copy gets trap gates.
    /// </summary>
    private void Activate(Vmi.Cpu.Cpu cpu)
    {
        Paravirtual = true;
        cpu.InstructionIntercepts = Vmi.Cpu.Cpu.MaskOf(SensitiveOp.SoftwareInterruptHypercall);
        cpu.BlockDecoded = null;
        WriteShared(SharedPage.VirtualIf, cpu.IF ? (byte)1 : (byte)0);
        WriteShared(SharedPage.Pending, 0);
        cpu.Eflags |= EFlags.IF;
        tables!.TrapGatesOnly = true;
        // User code's INT n goes straight to the kernel (a system call through its trampoline):
        // from user mode the virtual flag is set, as is the real one the frame records.
        cpu.InterceptSoftwareInterrupts = false;
    }

    /// <summary>
    /// The kernel's CPUID, translated: what the processor says, without SEP. SYSENTER always enters
    /// ring 0 (its CS comes from an MSR with RPL forced to 0, no descriptor checked) and SYSEXIT
    /// works only from ring 0, so a kernel moved to ring 1 must not set them up: it then enters
    /// through INT 0x80 (Linux's vDSO picks the path from the kernel's view of the feature).
    /// </summary>
    private static InterceptAction Cpuid(Vmi.Cpu.Cpu cpu, in SensitiveEvent e)
    {
        cpu.CpuidResult(e.Value, e.ValueHigh, out uint a, out uint b, out uint c, out uint d);
        if (e.Value == 1)
        {
            d &= ~CpuidBits.Sep;
        }
        cpu.Eax = a;
        cpu.Ebx = b;
        cpu.Ecx = c;
        cpu.Edx = d;
        return InterceptAction.Skip;
    }

    private InterceptAction LoadDescriptorTable(Vmi.Cpu.Cpu cpu, in SensitiveEvent ins)
    {
        Span<byte> image = stackalloc byte[6];
        if (!cpu.TryReadLinear(ins.Address, image, user: false, out CpuFault f))
        {
            return TrapEmulation.Reflect(cpu, f);
        }
        uint guestBase = BitConverter.ToUInt32(image[2..]) & (ins.Size == 2 ? 0x00FF_FFFFu : 0xFFFF_FFFFu);
        return tables!.Load(ins.Op == SensitiveOp.Lidt, guestBase, BitConverter.ToUInt16(image), out f) ? InterceptAction.Skip : TrapEmulation.Reflect(cpu, f);
    }

    private bool OnStore(in WatchedStore store)
    {
        if (tables!.OnStore(store) is string what)
        {
            Count(EventKind.TracingFault, what);
        }
        return mmu!.OnStore(store);
    }

    public override InterceptAction OnExternalInterrupt(Vmi.Cpu.Cpu cpu)
    {
        if (!Paravirtual)
        {
            Count(EventKind.InterruptReflection, "external interrupt");
            return InterceptAction.Default;
        }
        if (!VirtualIf)
        {
            // Held until the kernel enables interrupts: marked pending, the real IF masked meanwhile.
            WriteShared(SharedPage.Pending, 1);
            cpu.Eflags &= ~EFlags.IF;
            return InterceptAction.Resume;
        }
        Count(EventKind.InterruptReflection, "external interrupt");
        byte vector = cpu.Platform.AcknowledgeInterrupt();
        EnterKernel(cpu, vector);
        cpu.InjectInterrupt(vector);
        return InterceptAction.Resume;
    }

    void IShadowAccounting.HiddenFault(uint linear) => Count(EventKind.HiddenPageFault, "shadow fill");

    void IShadowAccounting.TrueFault(uint linear) => Count(EventKind.TrueGuestPageFault, "guest page fault");

    void IShadowAccounting.TracingFault(in WatchedStore store) => Count(EventKind.TracingFault, "page-table write");

    void IShadowAccounting.ShadowRootSwitch(uint guestCr3) => Count(EventKind.ShadowCr3Switch, "shadow root switch");

    internal static string OpName(SensitiveOp op) => OpNames[(int)op];

    private static readonly string[] OpNames = Enum.GetNames<SensitiveOp>().Select(n => n.ToLowerInvariant()).ToArray();
}
