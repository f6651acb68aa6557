using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iced.Intel;
using Vmi.Cpu.Decode;
using Vmi.Cpu.Memory;

namespace Vmi.Cpu;

[InlineArray(6)]
public struct SegmentArray
{
    private SegmentCache _element0;
}

[InlineArray(8)]
public struct DebugRegisterArray
{
    private uint _element0;
}

/// <summary>
/// An i386-class processor (32-bit protected mode with paging, rings, interrupts; the integer
/// instructions of i686 that gcc emits). State lives in plain fields; instruction semantics are
/// grouped by family in the Exec folder; decoded code is cached per physical address.
/// </summary>
public sealed unsafe partial class Cpu
{
    internal RegisterArray regs;
    internal SegmentArray segs;

    /// <summary>Bit s set: segment s is flat (base 0, 4 GiB, usable, right type) and needs no per-access checks.</summary>
    internal uint segFast;

    /// <summary>EIP of the instruction being executed (offset in CS).</summary>
    public uint Eip;

    public uint Cr0Value = Cr0Bits.ET;
    public uint Cr2;
    public uint Cr3Value;
    public uint Cr4Value;
    public DebugRegisterArray Dr;
    public TableRegister Gdtr, Idtr, Ldtr, Tr;
    public uint SysenterCs, SysenterEsp, SysenterEip;

    /// <summary>Current privilege level (CS.RPL in protected mode, 0 in real mode).</summary>
    public int Cpl { get; private set; }

    public PhysicalMemory Memory { get; }

    public CpuModel Model { get; }

    public ICpuPlatform Platform { get; set; }

    /// <summary>INT n vector that counts as a hypercall for <see cref="ICpuIntercepts"/> (-1: none).</summary>
    public int HypercallVector { get; set; } = -1;

    /// <summary>
    /// The INTR pin: the board sets it while the interrupt controller has a pending request. A rising
    /// line ends the running block after the current instruction, so the interrupt is recognised at
    /// the next instruction boundary whatever the block structure (a debugger stepping one
    /// instruction at a time sees the same boundary).
    /// </summary>
    public bool InterruptLine
    {
        get => interruptLine;
        set
        {
            if (value && !interruptLine)
            {
                execLimit = 0;
            }
            interruptLine = value;
        }
    }

    private bool interruptLine;

    public bool Halted { get; internal set; }

    public long InstructionsRetired;

    public CpuCounters Counters;

    internal CpuFault pendingFault;
    private bool stopRequested;
    private string? stopReason;
    private CpuExitReason stopKind;

    public Cpu(PhysicalMemory memory, CpuModel? model = null, ICpuPlatform? platform = null)
    {
        Memory = memory;
        Model = model ?? CpuModel.Pentium4;
        Platform = platform ?? new NullPlatform(this);
        tlb = (uint*)NativeMemory.AllocZeroed(TlbEntries, sizeof(uint));
        tlbFilled = new int[TlbFillListCapacity];
        blocks = new BlockCache(memory);
        blocks.Flushed = () => CodeInvalidated?.Invoke(uint.MaxValue);
        decoder16 = Iced.Intel.Decoder.Create(16, codeReader, DecoderOptions.None);
        decoder32 = Iced.Intel.Decoder.Create(32, codeReader, DecoderOptions.None);
        memory.CodeWritten = OnCodeWritten;
        memory.TrapsChanged = FlushTlbAll;
        memory.StoreWatched = OnStoreWatched;
        Reset();
    }

    ~Cpu()
    {
        NativeMemory.Free(tlb);
    }

    /// <summary>The register state after RESET, as on a real 386+: real mode at F000:FFF0.</summary>
    public void Reset()
    {
        for (int i = 0; i < 8; i++)
        {
            regs[i] = 0;
        }
        regs[Reg.Edx] = Model.ResetEdx;
        Eflags = EFlags.Reserved1;
        Cr0Value = Cr0Bits.ET;
        Cr2 = Cr3Value = Cr4Value = 0;
        for (int i = 0; i < 6; i++)
        {
            segs[i] = new SegmentCache { Selector = 0, Base = 0, Limit = 0xFFFF, Attributes = 0x93, Usable = true };
        }
        segs[SegReg.Cs] = new SegmentCache { Selector = 0xF000, Base = 0xFFFF0000, Limit = 0xFFFF, Attributes = 0x9B, Usable = true };
        Eip = 0xFFF0;
        Gdtr = Idtr = default;
        Idtr.Limit = 0x3FF;
        Ldtr = Tr = default;
        Cpl = 0;
        Halted = false;
        pendingFault = default;
        injectionPending = hasFaultInstruction = false;
        interruptShadow = debugShadow = midRepeat = false;
        pendingDebug = 0;
        for (int i = 0; i < 4; i++)
        {
            Dr[i] = 0;
        }
        Dr[6] = DebugBits.Dr6Init;
        Dr[7] = DebugBits.Dr7Init;
        DebugRegistersChanged();
        RecomputeSegFast();
        FlushTlbAll();
        ResetFpu();
    }

    public ref uint this[int register] => ref regs[register & 7];

    public uint Eax { get => regs[0]; set => regs[0] = value; }
    public uint Ecx { get => regs[1]; set => regs[1] = value; }
    public uint Edx { get => regs[2]; set => regs[2] = value; }
    public uint Ebx { get => regs[3]; set => regs[3] = value; }
    public uint Esp { get => regs[4]; set => regs[4] = value; }
    public uint Ebp { get => regs[5]; set => regs[5] = value; }
    public uint Esi { get => regs[6]; set => regs[6] = value; }
    public uint Edi { get => regs[7]; set => regs[7] = value; }

    public uint Cr0 => Cr0Value;
    public uint Cr3 => Cr3Value;
    public uint Cr4 => Cr4Value;

    public bool ProtectedMode => (Cr0Value & Cr0Bits.PE) != 0;

    public bool PagingEnabled => (Cr0Value & Cr0Bits.PG) != 0;

    public ref readonly SegmentCache Segment(int seg) => ref segs[seg];

    /// <summary>Linear address of CS:EIP.</summary>
    public uint LinearEip => segs[SegReg.Cs].Base + Eip;

    /// <summary>Sets up flat 32-bit protected mode as a multiboot loader leaves it (GDT contents are the guest's job).</summary>
    public void EnterFlatProtectedMode(uint eip, ushort codeSelector = 0x08, ushort dataSelector = 0x10)
    {
        Cr0Value |= Cr0Bits.PE;
        segs[SegReg.Cs] = new SegmentCache { Selector = codeSelector, Base = 0, Limit = 0xFFFF_FFFF, Attributes = 0xC09B, Usable = true };
        for (int s = 0; s < 6; s++)
        {
            if (s != SegReg.Cs)
            {
                segs[s] = new SegmentCache { Selector = dataSelector, Base = 0, Limit = 0xFFFF_FFFF, Attributes = 0xC093, Usable = true };
            }
        }
        Eip = eip;
        Halted = false;
        pendingFault = default;
        SetCpl(0);
        RecomputeSegFast();
        FlushTlbAll();
    }

    /// <summary>Loads a segment register's hidden part directly (tests, loaders, hypervisors).</summary>
    public void SetSegment(int seg, in SegmentCache cache)
    {
        segs[seg] = cache;
        if (seg == SegReg.Cs && ProtectedMode)
        {
            SetCpl(CplOf(cache));
        }
        RecomputeSegFast();
    }

    internal void SetCpl(int cpl)
    {
        Cpl = cpl;
        if (cpl == 3 && !Counters.ReachedUserMode && !userEntryPending)
        {
            // Inside a block the transfer retires with the block; outside one (a loader or a test
            // starting at CPL 3) nothing has run at CPL 3 yet.
            if (executingBlock)
            {
                userEntryPending = true;
            }
            else
            {
                Counters.ReachedUserMode = true;
                Counters.FirstUserInstruction = InstructionsRetired;
            }
        }
        csMode = (csMode & 1) | (cpl == 3 ? 2u : 0u);
        tlbReadMask = cpl == 3 ? TlbReadUser : TlbReadSuper;
        tlbWriteMask = cpl == 3 ? TlbWriteUser : TlbWriteSuper;
    }

    internal void RecomputeSegFast()
    {
        uint fast = 0;
        for (int s = 0; s < 6; s++)
        {
            ref SegmentCache c = ref segs[s];
            bool flatLimit = c.Base == 0 && c.Limit == 0xFFFF_FFFF && c.Usable;
            bool rw = s == SegReg.Cs ? c.ReadWriteBit || !ProtectedMode : (!c.IsCode && c.ReadWriteBit) || !ProtectedMode;
            if (flatLimit && rw && !c.IsExpandDown)
            {
                fast |= 1u << s;
            }
        }
        segFast = fast;
        stackMask = segs[SegReg.Ss].Big ? 0xFFFF_FFFFu : 0xFFFFu;
        csBase = segs[SegReg.Cs].Base;
        csMode = (segs[SegReg.Cs].Big ? 1u : 0u) | (Cpl == 3 ? 2u : 0u);
    }

    /// <summary>
    /// CS base, and the block key's mode: bit 0 code size (1 = 32-bit), bit 1 CPL 3 (the same bytes
    /// run by the kernel and by a user program are two blocks, so a binary translator sees the
    /// kernel's); cached for the block lookup. Every CS load ends in RecomputeSegFast.
    /// </summary>
    internal uint csBase, csMode;

    /// <summary>ESP mask: 0xFFFF when SS is a 16-bit stack (real mode or B=0).</summary>
    internal uint stackMask = 0xFFFF_FFFF;

    /// <summary>Asks the run loop to stop at the next instruction boundary (debug-exit port, UI).</summary>
    public void RequestStop(CpuExitReason kind, string reason)
    {
        stopRequested = true;
        stopKind = kind;
        stopReason = reason;
        execLimit = 0;
    }

    /// <summary>Records a guest fault to be delivered; handlers return <see cref="Status.Fault"/> right after.</summary>
    internal int Fault(int vector, uint errorCode = 0, bool hasError = false)
    {
        pendingFault = new CpuFault(vector, hasError, errorCode);
        hasFaultInstruction = false;
        return Status.Fault;
    }

    internal int FaultGp(uint errorCode = 0) => Fault(Vectors.GP, errorCode, true);

    internal int FaultUd() => Fault(Vectors.UD);
}

/// <summary>Always-on, deterministic event counters.</summary>
public struct CpuCounters
{
    public long TlbMisses;
    public long PageWalks;
    public long BlocksDecoded;
    public long InstructionsDecoded;
    public long BlockCacheFlushes;
    public long Exceptions;
    public long ExternalInterrupts;
    public long SoftwareInterrupts;
    public long PortReads;
    public long PortWrites;
    public long SelfModifyingWrites;

    /// <summary>Instructions retired before the first one at CPL 3 (a kernel's boot to its first user process); valid once <see cref="ReachedUserMode"/>.</summary>
    public long FirstUserInstruction;

    public bool ReachedUserMode;
}

/// <summary>A guest exception waiting to be delivered; for #PF, <paramref name="Address"/> is what CR2 gets on delivery.</summary>
public readonly record struct CpuFault(int Vector, bool HasError, uint ErrorCode, uint Address = 0);

/// <summary>Statuses an instruction handler returns to the block loop.</summary>
internal static class Status
{
    /// <summary>Done; the loop advances EIP by the instruction length.</summary>
    public const int Next = 0;

    /// <summary>Done; the handler set EIP (taken branch, far transfer, interrupt).</summary>
    public const int Jump = 1;

    /// <summary>A fault is pending; EIP still points at the instruction, which did not retire.</summary>
    public const int Fault = 2;

    /// <summary>Done, and the CPU must leave the run loop (HLT, stop request); EIP already set.</summary>
    public const int Exit = 3;

    /// <summary>Not executed, and the CPU must leave the run loop (a stop requested before the instruction ran).</summary>
    public const int Abort = 4;
}

public static class Vectors
{
    public const int DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, DF = 8;
    public const int TS = 10, NP = 11, SS = 12, GP = 13, PF = 14, MF = 16, AC = 17;
}
