using Vmi.Cpu.Decode;

namespace Vmi.Cpu;

/// <summary>
/// What a hypervisor backend drives the CPU through (see <see cref="ICpuIntercepts"/> for the
/// events): intercept masks, event injection, checked guest memory access, control registers,
/// segments and flags with results as values, the backend-owned page translation, page watching,
/// and news of invalidated code. Everything here is public API: backends live in another assembly
/// with no access to the CPU's internals.
/// </summary>
public sealed unsafe partial class Cpu
{
    /// <summary>A hypervisor's view of guest events; null on bare hardware.</summary>
    public ICpuIntercepts? Intercepts
    {
        get => intercepts;
        set
        {
            intercepts = value;
            RecomputeInterceptMasks();
        }
    }

    private ICpuIntercepts? intercepts;

    /// <summary>Which <see cref="SensitiveOp"/>s reach <see cref="ICpuIntercepts.OnInstruction"/>: bit n = op n. Default: all.</summary>
    public ulong InstructionIntercepts
    {
        get => instructionInterceptsWanted;
        set
        {
            instructionInterceptsWanted = value;
            RecomputeInterceptMasks();
        }
    }

    /// <summary>Which exception vectors (0–31) reach <see cref="ICpuIntercepts.OnException"/>: bit n = vector n. Default: all.</summary>
    public uint ExceptionIntercepts
    {
        get => exceptionInterceptsWanted;
        set
        {
            exceptionInterceptsWanted = value;
            RecomputeInterceptMasks();
        }
    }

    /// <summary>Whether INT n (and INT3, INTO) reach <see cref="ICpuIntercepts.OnException"/>. Default: yes.</summary>
    public bool InterceptSoftwareInterrupts { get; set; } = true;

    /// <summary>Whether the INTR line goes to <see cref="ICpuIntercepts.OnExternalInterrupt"/> first. Default: yes.</summary>
    public bool InterceptExternalInterrupts { get; set; } = true;

    private ulong instructionInterceptsWanted = ulong.MaxValue;
    private uint exceptionInterceptsWanted = uint.MaxValue;

    /// <summary>The masks in effect: zero without a hypervisor, so a check costs one AND.</summary>
    private ulong instructionMask;
    private uint exceptionMask;

    private void RecomputeInterceptMasks()
    {
        instructionMask = intercepts is null ? 0 : instructionInterceptsWanted;
        exceptionMask = intercepts is null ? 0 : exceptionInterceptsWanted;
    }

    public static ulong MaskOf(params SensitiveOp[] ops)
    {
        ulong m = 0;
        foreach (SensitiveOp op in ops)
        {
            m |= 1UL << (int)op;
        }
        return m;
    }

    internal bool Wants(SensitiveOp op) => ((instructionMask >> (int)op) & 1) != 0;

    private bool WantsException(int vector) => vector < 32 ? ((exceptionMask >> vector) & 1) != 0 : intercepts is not null;

    /// <summary>The event for the instruction <paramref name="u"/> about to run at EIP.</summary>
    internal SensitiveEvent Describe(SensitiveOp op, ref Uop u) => new(op, Eip, Cpl, (Iced.Intel.Code)u.Code, u.Length);

    /// <summary>Asks the hypervisor about an instruction; null means "do what the hardware does".</summary>
    internal int? Intercept(in SensitiveEvent e)
    {
        switch (intercepts!.OnInstruction(this, in e))
        {
            case InterceptAction.Default: return null;
            case InterceptAction.Skip: return Status.Next;
            case InterceptAction.Resume: return Status.Jump;
            default:
                RequestStop(CpuExitReason.InterceptStop, $"stopped by the hypervisor at {e.Op} (eip 0x{e.Eip:X8})");
                return Status.Abort;
        }
    }

    internal int? Intercept(SensitiveOp op, ref Uop u) => Intercept(Describe(op, ref u));

    /// <summary>The instruction whose privilege check raised the pending #GP (see <see cref="ExceptionEvent.Instruction"/>).</summary>
    private SensitiveEvent faultInstruction;
    private bool hasFaultInstruction;

    /// <summary>#GP(0) from a privileged instruction's own check, remembering which instruction it was.</summary>
    internal int PrivilegeFault(in SensitiveEvent e)
    {
        int status = FaultGp();
        if (intercepts is not null)
        {
            faultInstruction = e;
            hasFaultInstruction = true;
        }
        return status;
    }

    /// <summary>A check that raised #GP (the I/O permission check) was this instruction's privilege check.</summary>
    internal int AttachInstruction(in SensitiveEvent e)
    {
        if (intercepts is not null && pendingFault.Vector == Vectors.GP)
        {
            faultInstruction = e;
            hasFaultInstruction = true;
        }
        return Status.Fault;
    }

    // ---- injection -------------------------------------------------------------------------

    private bool injectionPending;
    private int injectVector;
    private InterruptSource injectSource;
    private bool injectHasError;
    private uint injectError;
    private uint injectAddress;

    /// <summary>True while an injected event waits for the next instruction boundary.</summary>
    public bool InjectionPending => injectionPending;

    /// <summary>
    /// Queues an external interrupt with <paramref name="vector"/> for the next instruction boundary
    /// (a VT backend's injection on VM entry). It is delivered whatever IF says: the hypervisor
    /// injects only when the guest can take it. Returns false if an event is already queued.
    /// </summary>
    public bool InjectInterrupt(byte vector) => Queue(vector, InterruptSource.External, false, 0, 0);

    /// <summary>
    /// Queues an exception for the next instruction boundary, delivered as if the instruction at EIP
    /// had raised it (#PF: CR2 = <paramref name="faultAddress"/> on delivery). Hypervisor intercepts
    /// do not see it again. Returns false if the vector is not an exception or an event is queued.
    /// </summary>
    public bool InjectException(int vector, uint? errorCode = null, uint faultAddress = 0)
    {
        if (vector is < 0 or > 31)
        {
            return false;
        }
        return Queue(vector, InterruptSource.Exception, errorCode.HasValue, errorCode ?? 0, faultAddress);
    }

    private bool Queue(int vector, InterruptSource source, bool hasError, uint error, uint address)
    {
        if (injectionPending)
        {
            return false;
        }
        injectionPending = true;
        injectVector = vector;
        injectSource = source;
        injectHasError = hasError;
        injectError = error;
        injectAddress = address;
        execLimit = 0;
        Halted = false;
        return true;
    }

    private void DeliverInjected()
    {
        injectionPending = false;
        if (injectSource == InterruptSource.External)
        {
            Counters.ExternalInterrupts++;
            if (!DeliverInterrupt(injectVector, InterruptSource.External, false, 0, Eip))
            {
                DeliverPendingFault();
            }
            return;
        }
        pendingFault = new CpuFault(injectVector, injectHasError, injectError, injectAddress);
        DeliverException(pendingFault, depth: 0, intercept: false);
        pendingFault = default;
    }

    // ---- state a backend sets, with results as values ----------------------------------------

    /// <summary>
    /// Writes CR0, CR2, CR3 or CR4 as MOV to CR would (with its checks and TLB effects), without
    /// raising anything: false when the value is one MOV would refuse with #GP or #UD.
    /// </summary>
    public bool TrySetControlRegister(int cr, uint value)
    {
        CpuFault saved = pendingFault;
        int status = cr switch
        {
            0 => WriteCr0(value),
            2 => SetCr2(value),
            3 => WriteCr3(value),
            4 => WriteCr4(value),
            _ => Status.Fault,
        };
        pendingFault = saved;
        return status == Status.Next;
    }

    private int SetCr2(uint value)
    {
        Cr2 = value;
        return Status.Next;
    }

    /// <summary>The value of CR0, CR2, CR3 or CR4; false for another number.</summary>
    public bool TryGetControlRegister(int cr, out uint value)
    {
        value = cr switch { 0 => Cr0Value, 2 => Cr2, 3 => Cr3Value, 4 => Cr4Value, _ => 0 };
        return cr is 0 or 2 or 3 or 4;
    }

    /// <summary>
    /// Writes a debug register as MOV to DR would at CPL 0 (DR4/DR5 alias DR6/DR7 unless CR4.DE):
    /// false when MOV would raise #UD or general detection's #DB (nothing changes then).
    /// </summary>
    public bool TrySetDebugRegister(int dr, uint value)
    {
        if (!TryDebugRegisterIndex(dr, out int n)) return false;
        SetDebugRegister(n, value);
        return true;
    }

    /// <summary>Reads a debug register as MOV from DR would at CPL 0; false where MOV would fault.</summary>
    public bool TryGetDebugRegister(int dr, out uint value)
    {
        bool ok = TryDebugRegisterIndex(dr, out int n);
        value = ok ? Dr[n] : 0;
        return ok;
    }

    private bool TryDebugRegisterIndex(int dr, out int n)
    {
        n = dr is 4 ? 6 : dr is 5 ? 7 : dr;
        return dr is >= 0 and <= 7 && !(dr is 4 or 5 && (Cr4Value & Cr4Bits.DE) != 0) && (Dr[7] & DebugBits.GD) == 0;
    }

    /// <summary>
    /// Loads a data or stack segment register from <paramref name="selector"/> with the checks MOV
    /// to Sreg makes at the current CPL; on failure the fault it would raise is returned and nothing changes.
    /// </summary>
    public bool TryLoadSegment(int seg, ushort selector, out CpuFault fault)
    {
        fault = default;
        if (seg is < 0 or > 5 || seg == SegReg.Cs)
        {
            fault = new CpuFault(Vectors.UD, false, 0);
            return false;
        }
        CpuFault saved = pendingFault;
        int status = LoadSegment(seg, selector);
        if (status != Status.Next)
        {
            fault = pendingFault;
            pendingFault = saved;
            return false;
        }
        return true;
    }

    /// <summary>LTR's effect (descriptor checks, busy bit) for a monitor emulating it; on failure the fault LTR would raise.</summary>
    public bool TryLoadTaskRegister(ushort selector, out CpuFault fault) => TryState(() => LoadTaskRegister(selector), out fault);

    /// <summary>LLDT's effect for a monitor emulating it; on failure the fault LLDT would raise.</summary>
    public bool TryLoadLdt(ushort selector, out CpuFault fault) => TryState(() => LoadLdt(selector), out fault);

    private bool TryState(Func<int> operation, out CpuFault fault)
    {
        CpuFault saved = pendingFault;
        int status = operation();
        fault = status == Status.Next ? default : pendingFault;
        pendingFault = saved;
        return status == Status.Next;
    }

    /// <summary>
    /// Ring compression, as a binary-translating monitor's translated code does it (VMware's 2006
    /// monitor ran a ring-0 guest kernel in ring 1): 0 = off; otherwise the ring the guest kernel
    /// was moved to. At that CPL a selector with RPL 0 is taken as one with this RPL where the
    /// i386 rules would refuse it at CPL &gt; 0 (RPL = CPL for SS on MOV/POP/LSS; RPL &lt; CPL on
    /// RETF/IRET), so a kernel written for ring 0 loads its own selectors; the descriptors
    /// themselves must already show this DPL (the monitor's table copies do that).
    /// </summary>
    public int CompressedRing { get; set; }

    /// <summary>The CPL a CS cache implies: its RPL, or the compressed ring for an RPL-0 selector of a descriptor of that DPL.</summary>
    internal int CplOf(in SegmentCache cs)
    {
        int rpl = cs.Selector & 3;
        return rpl == 0 && CompressedRing != 0 && cs.Dpl == CompressedRing ? CompressedRing : rpl;
    }

    /// <summary>The RPL a selector is checked with: RPL 0 at the compressed ring counts as that ring.</summary>
    internal int EffectiveRpl(ushort selector)
    {
        int rpl = selector & 3;
        return rpl == 0 && CompressedRing != 0 && Cpl == CompressedRing ? CompressedRing : rpl;
    }

    /// <summary>The current privilege level's view of EFLAGS.IOPL.</summary>
    public int IoPrivilegeLevel => Iopl;

    /// <summary>
    /// Enters the halted state as HLT does, with EIP at <paramref name="nextEip"/> (a monitor
    /// emulating HLT for a de-privileged kernel). The run loop returns <see cref="CpuExitReason.Halted"/>.
    /// </summary>
    public void EnterHalt(uint nextEip)
    {
        Eip = nextEip;
        Halted = true;
        execLimit = 0;
    }

    // ---- guest memory, checked -----------------------------------------------------------

    /// <summary>
    /// Reads guest linear memory as the guest at <paramref name="user"/> privilege would (paging,
    /// the backend's translation, accessed bits). On a fault nothing is raised: the fault is returned.
    /// </summary>
    public bool TryReadLinear(uint linear, Span<byte> destination, bool user, out CpuFault fault)
    {
        CpuFault saved = pendingFault;
        for (int i = 0; i < destination.Length; i++)
        {
            if (!ReadLinSlow(linear + (uint)i, 1, user, out uint b))
            {
                fault = pendingFault;
                pendingFault = saved;
                return false;
            }
            destination[i] = (byte)b;
        }
        fault = default;
        return true;
    }

    /// <summary>Writes guest linear memory as the guest would (all pages are checked before any byte is written).</summary>
    public bool TryWriteLinear(uint linear, ReadOnlySpan<byte> source, bool user, out CpuFault fault)
    {
        CpuFault saved = pendingFault;
        for (int i = 0; i < source.Length; i++)
        {
            uint a = linear + (uint)i;
            if ((i == 0 || (a & 0xFFF) == 0) && !ProbeWrite(a, 1, user))
            {
                fault = pendingFault;
                pendingFault = saved;
                return false;
            }
        }
        for (int i = 0; i < source.Length; i++)
        {
            WriteLinSlow(linear + (uint)i, 1, source[i], user);
        }
        fault = default;
        return true;
    }

    public bool TryReadLinear32(uint linear, bool user, out uint value, out CpuFault fault)
    {
        Span<byte> b = stackalloc byte[4];
        bool ok = TryReadLinear(linear, b, user, out fault);
        value = ok ? BitConverter.ToUInt32(b) : 0;
        return ok;
    }

    /// <summary>Guest physical memory: false when any byte lies outside guest RAM (nothing is read or written then).</summary>
    public bool TryReadPhysical(uint physical, Span<byte> destination)
    {
        if (!Memory.IsRam(physical, (uint)destination.Length))
        {
            return false;
        }
        Memory.ReadBytes(physical, destination);
        return true;
    }

    /// <summary>A hypervisor's own store to guest physical memory: no watcher hears it; read-only pages stay so.</summary>
    public bool TryWritePhysical(uint physical, ReadOnlySpan<byte> source)
    {
        if (!Memory.IsRam(physical, (uint)source.Length))
        {
            return false;
        }
        for (int i = 0; i < source.Length; i++)
        {
            Memory.WriteUnwatched(physical + (uint)i, 1, source[i]);
        }
        return true;
    }

    // ---- paging under a backend's control -------------------------------------------------

    /// <summary>A backend's page translation (shadow or nested paging); null: the CPU walks the guest's tables.</summary>
    public IPageTranslation? Paging
    {
        get => paging;
        set
        {
            paging = value;
            FlushTlbAll();
        }
    }

    private IPageTranslation? paging;

    // ---- watching guest stores -------------------------------------------------------------

    /// <summary>Hears every guest store into a watched page (<see cref="WatchPage"/>); the page walker's own accessed/dirty updates are not stores.</summary>
    public StoreWatchHandler? StoreWatch { get; set; }

    /// <summary>Starts or stops watching the 4 KiB physical page holding <paramref name="physical"/>. The TLB is not flushed.</summary>
    public void WatchPage(uint physical, bool watch) => Memory.SetWatched(physical, watch);

    public bool IsPageWatched(uint physical) => Memory.IsWatched(physical);

    private bool OnStoreWatched(uint physical, int size, uint oldValue, uint newValue) =>
        StoreWatch is not { } w || w(new WatchedStore(physical, size, oldValue, newValue, Eip, Cpl));

    // ---- code invalidation ---------------------------------------------------------------

    /// <summary>
    /// Told when decoded code in a physical page became stale (a store into it) — every block a
    /// backend saw there will be decoded, and shown to <see cref="BlockDecoded"/>, again — and with
    /// uint.MaxValue when the whole block cache was dropped.
    /// </summary>
    public Action<uint>? CodeInvalidated { get; set; }
}
