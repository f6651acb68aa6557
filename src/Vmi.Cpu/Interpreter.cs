using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using StringBuilder = System.Text.StringBuilder;
using Iced.Intel;
using Vmi.Cpu.Decode;
using Vmi.Cpu.Memory;

namespace Vmi.Cpu;

/// <summary>
/// The run loop: find (or decode) the block at CS:EIP by physical address, execute its µops,
/// retire instructions exactly up to the budget, deliver faults and interrupts between
/// instructions. Interrupts are recognised at block boundaries; everything that can make one
/// pending (a timer deadline, a port write, a rising INTR line, STI/POPF/IRET) ends its block
/// there, so the boundary is the same instruction whatever the slice size, tracing or stepping.
/// </summary>
public sealed unsafe partial class Cpu
{
    private const int MaxBlockInstructions = 32;

    private readonly BlockCache blocks;
    private readonly byte[] codeBuffer = new byte[4096 + 16];
    private readonly Decoder decoder16, decoder32;
    private readonly BufferCodeReader codeReader = new();
    private readonly Instruction[] decodeScratch = new Instruction[MaxBlockInstructions];
    private readonly Uop[] uopScratch = new Uop[MaxBlockInstructions];

    /// <summary>Instructions left to run in the current block; zeroed to leave the block early (SMC, stop).</summary>
    internal int execLimit;

    /// <summary>Length of the instruction whose fault is being delivered (0: a fetch fault), for <see cref="ExceptionEvent.InstructionLength"/>.</summary>
    private int faultingLength;

    /// <summary>Set by STI, MOV SS and POP SS: no interrupt before the next instruction has run.</summary>
    internal bool interruptShadow;

    private readonly uint[] recentBlocks = new uint[16];
    private int recentIndex;

    /// <summary>
    /// Told after each run of a block: its linear start and how many of its instructions retired
    /// (execution tracing). Observing does not change what the guest does: blocks and interrupt
    /// points are the same with or without it.
    /// </summary>
    public Action<uint, int>? BlockExecuted { get; set; }

    /// <summary>Told about every decoded block (a binary-translation backend's view of the code); null costs nothing.</summary>
    public BlockDecodedHandler? BlockDecoded { get; set; }

    /// <summary>
    /// Instruction count at which the current <see cref="Run"/> returns. A device that arms a timer
    /// mid-run moves it earlier (<see cref="EndRunAt"/>), so the timer fires at its exact instruction.
    /// </summary>
    private long runTarget;

    /// <summary>CPL just became 3 for the first time; the block loop records <see cref="CpuCounters.FirstUserInstruction"/>.</summary>
    private bool userEntryPending;

    /// <summary>The block loop is executing µops (so a CPL change retires with the block).</summary>
    private bool executingBlock;

    /// <summary>Runs until <paramref name="maxInstructions"/> more instructions retired, HLT, or a stop.</summary>
    public CpuExit Run(long maxInstructions)
    {
        runTarget = maxInstructions >= long.MaxValue - InstructionsRetired ? long.MaxValue : InstructionsRetired + maxInstructions;
        Uop[] pool = blocks.Pool;
        if (stopRequested)
        {
            return TakeStop();
        }
        while (true)
        {
            long remaining = runTarget - InstructionsRetired;
            if (remaining <= 0)
            {
                return new CpuExit(CpuExitReason.InstructionLimit, null);
            }
            if (interruptShadow)
            {
                interruptShadow = false;
                debugShadow = false;
                remaining = 1;
            }
            else if (injectionPending)
            {
                DeliverInjected();
                if (stopRequested) return TakeStop();
            }
            else if (InterruptLine && (flagsRest & EFlags.IF) != 0)
            {
                DeliverExternalInterrupt();
                if (stopRequested) return TakeStop();
            }
            if (Halted)
            {
                return new CpuExit(CpuExitReason.Halted, null);
            }
            if (((flagsRest & (EFlags.TF | EFlags.RF)) | instructionBreakpoints) != 0)
            {
                // Single-stepping, a resume flag to clear, or code breakpoints: one instruction at a time
                // with the debug rules (Debug.cs). Nothing else pays for them.
                StepWithDebugRules();
                if (stopRequested) return TakeStop();
                continue;
            }

            int blockIndex = FindBlock();
            if (blockIndex < 0)
            {
                if (stopRequested) return TakeStop();
                faultingLength = 0;
                DeliverPendingFault();
                if (stopRequested) return TakeStop();
                continue;
            }
            uint blockLinear = csBase + Eip;
            ref Block b = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(blocks.Slots), blockIndex);
            int first = b.First;
            execLimit = (int)Math.Min(b.Count, remaining);
            uint eipMask = (csMode & 1) != 0 ? 0xFFFF_FFFFu : 0xFFFFu;
            int done = 0;
            int status = Status.Next;
            executingBlock = true;
            while (done < execLimit)
            {
                // The block's µops lie inside the pool by construction (Reserve), so no bounds check is needed.
                ref Uop u = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(pool), first + done);
                status = Execute(ref u);
                if (status == Status.Next)
                {
                    Eip = (Eip + u.Length) & eipMask;
                    done++;
                    continue;
                }
                if (status is Status.Jump or Status.Exit)
                {
                    done++;
                }
                else if (status == Status.Fault)
                {
                    faultingLength = u.Length;
                }
                break;
            }
            InstructionsRetired += done;
            executingBlock = false;
            if (userEntryPending)
            {
                // The transfer to CPL 3 (IRET, SYSEXIT, a far return) ends its block, so this count includes it.
                userEntryPending = false;
                Counters.ReachedUserMode = true;
                Counters.FirstUserInstruction = InstructionsRetired;
            }
            if (BlockExecuted is { } observer && done > 0)
            {
                observer(blockLinear, done);
            }
            if (status == Status.Fault)
            {
                pendingDebug = 0;
                DeliverPendingFault();
            }
            else if (pendingDebug != 0 && !debugShadow)
            {
                // A data or I/O breakpoint hit by the last instruction (it ended the block).
                DeliverDebugTrap();
            }
            if (stopRequested)
            {
                return TakeStop();
            }
        }
    }

    /// <summary>
    /// Makes the current <see cref="Run"/> return once <paramref name="instructionCount"/> instructions
    /// have retired (never later than it would anyway). Called by the board when a device arms a timer
    /// while the CPU runs: the instruction that armed it is the first of its block, so the count the
    /// device saw is exact, and the block ends after it.
    /// </summary>
    public void EndRunAt(long instructionCount)
    {
        if (instructionCount < runTarget)
        {
            runTarget = instructionCount;
            execLimit = 0;
        }
    }

    private CpuExit TakeStop()
    {
        stopRequested = false;
        return new CpuExit(stopKind, stopReason);
    }

    /// <summary>Executes exactly one instruction (tests, single-stepping).</summary>
    public CpuExit Step() => Run(1);

    /// <summary>Finds or decodes the block at CS:EIP; -1 with a pending fault if the fetch faults.</summary>
    private int FindBlock()
    {
        uint lin = csBase + Eip;
        if ((segFast & (1u << SegReg.Cs)) == 0 && Eip > segs[SegReg.Cs].Limit)
        {
            FaultGp();
            return -1;
        }
        uint e = tlb[lin >> 12];
        uint phys;
        if ((e & tlbReadMask) != 0)
        {
            phys = (e & 0xFFFF_F000) | (lin & 0xFFF);
        }
        else if (!Translate(lin, Access.Execute, Cpl == 3, out phys))
        {
            return -1;
        }
        uint mode = csMode;
        int slot = BlockCache.SlotOf(phys, mode);
        ref Block b = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(blocks.Slots), slot);
        recentBlocks[recentIndex++ & 15] = lin;
        if (b.PhysEip == phys && b.Mode == mode && b.Valid && b.Generation1 == blocks.GenerationOf(phys >> PhysicalMemory.PageShift)
            && (b.Page2 == uint.MaxValue || (b.Generation2 == blocks.GenerationOf(b.Page2) && SecondPageStillMapped(in b, lin))))
        {
            return slot;
        }
        return DecodeBlock(ref b, lin, phys, mode) ? slot : -1;
    }

    /// <summary>
    /// A block whose last instruction runs into the next page may be reused only if that page,
    /// as seen now, is the one it was decoded from. Blocks are keyed by the physical EIP alone, so
    /// the check must use the linear address the block is reached through now (another alias of
    /// the first page may be followed by a different page) and the current privilege (code decoded
    /// at CPL 0 must not let CPL 3 fetch a tail from a supervisor page). A failed check just means
    /// "decode again": DecodeBlock raises the #PF if the instruction really needs that page.
    /// </summary>
    private bool SecondPageStillMapped(in Block b, uint lin)
    {
        uint lin2 = (lin & ~0xFFFu) + 0x1000;
        uint e = tlb[lin2 >> 12];
        if ((e & tlbReadMask) != 0)
        {
            return (e >> 12) == b.Page2;
        }
        CpuFault savedFault = pendingFault;
        bool ok = ProbeFetch(lin2, out uint p) && (p >> 12) == b.Page2;
        pendingFault = savedFault;
        return ok;
    }

    /// <summary>
    /// A look at the next page while decoding. Under a backend's translation it is a side-effect
    /// free peek: a shadow monitor must not count a fault, or fill an entry, for a page the guest
    /// may never execute.
    /// </summary>
    private bool ProbeFetch(uint lin2, out uint phys)
    {
        if (paging is { } p && (Cr0Value & Cr0Bits.PG) != 0)
        {
            return p.TryTranslateNoSideEffects(this, lin2, out phys);
        }
        return Translate(lin2, Access.Execute, Cpl == 3, out phys);
    }

    private bool DecodeBlock(ref Block b, uint lin, uint phys, uint mode)
    {
        // Outside RAM the bus reads 0xFF (open bus); the block is decoded from what it returns.
        int inPage = (int)(0x1000 - (phys & 0xFFF));
        int avail = inPage;
        for (int i = 0; i < inPage; i++)
        {
            codeBuffer[i] = Memory.Read8(phys + (uint)i);
        }
        // Up to 15 bytes from the next page, if it can be fetched; otherwise an instruction
        // crossing into it is cut, and raises the fetch #PF when it is the first of its block.
        uint lin2 = (lin & ~0xFFFu) + 0x1000;
        uint phys2 = uint.MaxValue;
        CpuFault savedFault = pendingFault;
        bool secondOk = ProbeFetch(lin2, out uint p2);
        if (secondOk)
        {
            phys2 = p2;
            for (int i = 0; i < 15; i++)
            {
                codeBuffer[inPage + i] = Memory.Read8(p2 + (uint)i);
            }
            avail = inPage + 15;
        }
        pendingFault = savedFault;

        Decoder decoder = (mode & 1) != 0 ? decoder32 : decoder16;
        codeReader.Reset(codeBuffer, avail);
        decoder.IP = Eip;
        int count = 0;
        int offset = 0;
        bool crossed = false;
        while (count < MaxBlockInstructions && offset < inPage)
        {
            decoder.Decode(out decodeScratch[count]);
            ref Instruction ins = ref decodeScratch[count];
            if (decoder.LastError == DecoderError.NoMoreBytes)
            {
                if (count == 0)
                {
                    // The first instruction runs into a page we cannot fetch: that is its #PF.
                    if (!secondOk)
                    {
                        // Now the fetch really happens: translate for real, which raises its #PF.
                        if (!Translate(lin2, Access.Execute, Cpl == 3, out _))
                        {
                            return false;
                        }
                        pendingFault = savedFault;
                    }
                    ins = default;
                }
                break;
            }
            uopScratch[count] = UopBuilder.Build(in ins);
            if (count > 0 && (uopScratch[count].Flags & UopFlags.StartsBlock) != 0)
            {
                // It must run first in its block: see UopFlags.StartsBlock.
                break;
            }
            offset += ins.Length;
            count++;
            if (offset > inPage) crossed = true;
            if ((uopScratch[count - 1].Flags & UopFlags.EndsBlock) != 0) break;
        }
        if (count == 0)
        {
            // Nothing decodable (should not happen: an invalid encoding still decodes as one invalid instruction).
            Fault(Vectors.UD);
            return false;
        }
        int firstUop = blocks.Reserve(count);
        uopScratch.AsSpan(0, count).CopyTo(blocks.Pool.AsSpan(firstUop, count));
        b = new Block
        {
            PhysEip = phys,
            Mode = mode,
            First = firstUop,
            Count = count,
            Generation1 = blocks.GenerationOf(phys >> PhysicalMemory.PageShift),
            Page2 = crossed ? phys2 >> 12 : uint.MaxValue,
            Valid = true,
        };
        Memory.MarkCode(phys, Math.Min(offset, inPage));
        if (crossed)
        {
            Memory.MarkCode(phys2, offset - inPage);
            b.Generation2 = blocks.GenerationOf(phys2 >> PhysicalMemory.PageShift);
        }
        Counters.BlocksDecoded++;
        Counters.InstructionsDecoded += count;
        BlockDecoded?.Invoke(new DecodedBlock(lin, phys, Cpl, decodeScratch.AsSpan(0, count)));
        return true;
    }

    /// <summary>A register dump and the most recent block addresses, for VM-stop diagnostics.</summary>
    public string DescribeState()
    {
        var sb = new StringBuilder();
        sb.Append($"EAX={R(0):X8} ECX={R(1):X8} EDX={R(2):X8} EBX={R(3):X8} ESP={R(4):X8} EBP={R(5):X8} ESI={R(6):X8} EDI={R(7):X8}\n");
        sb.Append($"EIP={Eip:X8} EFLAGS={Eflags:X8} CPL={Cpl} CR0={Cr0Value:X8} CR2={Cr2:X8} CR3={Cr3Value:X8} CR4={Cr4Value:X8}\n");
        for (int s = 0; s < 6; s++)
        {
            sb.Append($"{SegReg.Names[s].ToUpperInvariant()}={segs[s]}\n");
        }
        sb.Append($"GDT={Gdtr.Base:X8}/{Gdtr.Limit:X4} IDT={Idtr.Base:X8}/{Idtr.Limit:X4} TR={Tr.Selector:X4} LDTR={Ldtr.Selector:X4}\n");
        sb.Append("recent blocks (oldest first):");
        for (int i = 0; i < 16; i++)
        {
            uint a = recentBlocks[(recentIndex + i) & 15];
            if (a != 0) sb.Append($" {a:X8}");
        }
        return sb.ToString();
    }
}

/// <summary>Feeds Iced from a reusable byte buffer (no allocation per block).</summary>
internal sealed class BufferCodeReader : CodeReader
{
    private byte[] buffer = [];
    private int length;
    private int position;

    public void Reset(byte[] data, int count)
    {
        buffer = data;
        length = count;
        position = 0;
    }

    public override int ReadByte() => position < length ? buffer[position++] : -1;
}
