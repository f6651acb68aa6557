using Iced.Intel;
using Vmi.Cpu.Memory;

namespace Vmi.Cpu.Tests.Support;

/// <summary>
/// A small protected-mode "board" for system-level CPU tests: 4 MiB of RAM, a GDT with flat
/// code/data segments for rings 0, 1 and 3 plus a 32-bit TSS (with a full I/O bitmap), an IDT
/// whose every vector points at a ring-0 stub that records the vector and halts, helpers to build
/// two-level page tables, and a platform that records port I/O. Programs are Iced
/// <see cref="Assembler"/> listings placed at a fixed address; all addresses below are physical
/// and, with the default identity map, linear too.
/// </summary>
public sealed class GuestHarness
{
    // ---- memory layout --------------------------------------------------------------------
    public const uint RamSize = 4 * 1024 * 1024;
    public const uint GdtBase = 0x1000;
    public const uint IdtBase = 0x2000;

    /// <summary>Where the default stubs record what happened (read them with <see cref="LastVector"/>...).</summary>
    public const uint LogBase = 0x4000;
    public const uint LastVectorAddress = LogBase;
    public const uint ExceptionCountAddress = LogBase + 4;
    public const uint StubBase = 0x6000;
    public const uint StubStride = 32;
    public const uint TssBase = 0x8000;
    public const uint IoBitmapOffset = 0x68;

    /// <summary>The 8 KiB bitmap plus the terminating 0xFF byte the architecture asks for.</summary>
    public const uint TssLimit = IoBitmapOffset + 0x2000;
    public const uint CodeBase = 0x10000;
    public const uint DataBase = 0x20000;
    public const uint Ring0StackTop = 0x90000;
    public const uint Ring1StackTop = 0xA0000;
    public const uint Ring3StackTop = 0xB0000;

    /// <summary>Free RAM for tests (mappings, aliases, buffers).</summary>
    public const uint ScratchBase = 0x100000;
    public const uint PageDirectoryBase = 0x300000;

    // ---- selectors --------------------------------------------------------------------------
    // Ordered so that SYSENTER_CS = 0x08 gives SS = 0x10, ring-3 CS = 0x1B, SS = 0x23 (Linux's layout).
    public const ushort Code0 = 0x08, Data0 = 0x10, Code3 = 0x1B, Data3 = 0x23, Code1 = 0x29, Data1 = 0x31, TssSelector = 0x38;

    /// <summary>First GDT slot free for a test's own descriptors (0x40, 0x48, ...).</summary>
    public const ushort FirstFreeSelector = 0x40;
    public const int GdtEntries = 16;

    public const uint NoVector = 0xFFFF_FFFF;

    // ---- page-table entry bits -------------------------------------------------------------
    public const uint PteP = 1, PteRw = 2, PteUs = 4, PteA = 0x20, PteD = 0x40, PtePs = 0x80, PteG = 0x100;

    private uint nextTable = PageDirectoryBase + 0x1000;

    public GuestHarness(CpuModel? model = null)
    {
        Memory = new PhysicalMemory(RamSize);
        Platform = new RecordingPlatform();
        Cpu = new Cpu(Memory, model ?? CpuModel.Pentium4, Platform);
        Platform.Cpu = Cpu;
        BuildTables();
        EnterKernel();
    }

    /// <summary>
    /// Puts the machine back to its initial state without allocating a new CPU (random-code tests
    /// run thousands of episodes): CPU reset, tables and stubs rebuilt, flat ring 0, paging off.
    /// </summary>
    public void ResetMachine()
    {
        Cpu.Reset();
        Cpu.InterruptLine = false;
        Cpu.interruptShadow = false;
        Cpu.SysenterCs = Cpu.SysenterEsp = Cpu.SysenterEip = 0;
        BuildTables();
        EnterKernel();
    }

    private void EnterKernel()
    {
        Cpu.EnterFlatProtectedMode(CodeBase, Code0, Data0);
        Cpu.Gdtr = new TableRegister { Base = GdtBase, Limit = GdtEntries * 8 - 1 };
        Cpu.Idtr = new TableRegister { Base = IdtBase, Limit = 256 * 8 - 1 };
        Cpu.Tr = new TableRegister { Selector = TssSelector, Base = TssBase, Limit = TssLimit, Type = 0xB };
        Cpu.Esp = Ring0StackTop;
        Cpu.Eflags = EFlags.Reserved1;
    }

    public PhysicalMemory Memory { get; }

    public Cpu Cpu { get; }

    public RecordingPlatform Platform { get; }

    /// <summary>The vector the last default stub recorded, or <see cref="NoVector"/>.</summary>
    public uint LastVector => Memory.Read32(LastVectorAddress);

    /// <summary>How many times a default stub ran.</summary>
    public uint ExceptionCount => Memory.Read32(ExceptionCountAddress);

    // ---- tables ------------------------------------------------------------------------------

    private void BuildTables()
    {
        Memory.Fill(GdtBase, GdtEntries * 8, 0); // free slots too: a previous guest may have scribbled there
        SetDescriptor(Code0, 0, 0xFFFFF, 0x9A, 0xC);
        SetDescriptor(Data0, 0, 0xFFFFF, 0x92, 0xC);
        SetDescriptor(Code3, 0, 0xFFFFF, 0xFA, 0xC);
        SetDescriptor(Data3, 0, 0xFFFFF, 0xF2, 0xC);
        SetDescriptor(Code1, 0, 0xFFFFF, 0xBA, 0xC);
        SetDescriptor(Data1, 0, 0xFFFFF, 0xB2, 0xC);
        // Busy 32-bit TSS, as LTR would leave it (TR is loaded host-side below).
        SetDescriptor(TssSelector, TssBase, TssLimit, 0x8B, 0x0);

        // TSS: stacks for rings 0 and 1 (ring 2 unused), I/O bitmap denying every port.
        Memory.Fill(TssBase, TssLimit + 1, 0);
        Memory.Write32(TssBase + 4, Ring0StackTop);
        Memory.Write32(TssBase + 8, Data0);
        Memory.Write32(TssBase + 12, Ring1StackTop);
        Memory.Write32(TssBase + 16, Data1);
        Memory.GuestWrite(TssBase + 0x66, 2, IoBitmapOffset);
        Memory.Fill(TssBase + IoBitmapOffset, 0x2001, 0xFF);

        Memory.Write32(LastVectorAddress, NoVector);
        Memory.Write32(ExceptionCountAddress, 0);
        for (int v = 0; v < 256; v++)
        {
            uint stub = StubAddress(v);
            Memory.Load(stub, DefaultStub(v));
            SetGate(v, stub);
        }
    }

    /// <summary>
    /// Records the vector and bumps the counter without touching EFLAGS (tests check the flags a
    /// handler sees), then halts: ss: mov [LastVector], v; push eax; ss: mov eax, [count];
    /// lea eax, [eax+1]; ss: mov [count], eax; pop eax; hlt; jmp back to hlt. SS is used because
    /// it is the one data segment guaranteed valid in a ring-0 handler.
    /// </summary>
    private static byte[] DefaultStub(int vector)
    {
        var b = new List<byte> { 0x36, 0xC7, 0x05 };
        b.AddRange(BitConverter.GetBytes(LastVectorAddress));
        b.AddRange(BitConverter.GetBytes((uint)vector));
        b.AddRange([0x50, 0x36, 0xA1]);
        b.AddRange(BitConverter.GetBytes(ExceptionCountAddress));
        b.AddRange([0x8D, 0x40, 0x01, 0x36, 0xA3]);
        b.AddRange(BitConverter.GetBytes(ExceptionCountAddress));
        b.AddRange([0x58, 0xF4, 0xEB, 0xFD]);
        if (b.Count > StubStride || b[StubHaltOffset] != 0xF4)
        {
            throw new InvalidOperationException("stub layout changed");
        }
        return [.. b];
    }

    private const int StubHaltOffset = 28;

    public static uint StubAddress(int vector) => StubBase + (uint)vector * StubStride;

    /// <summary>The address of the HLT inside a default stub (EIP points just past it after the stub halted).</summary>
    public static uint StubHaltAddress(int vector) => StubAddress(vector) + StubHaltOffset;

    /// <summary>Writes a GDT descriptor (limit in units of the G bit; flags = G,D/B,L,AVL nibble).</summary>
    public void SetDescriptor(ushort selector, uint baseAddress, uint limit, byte access, byte flags)
    {
        uint low = (limit & 0xFFFF) | (baseAddress << 16);
        uint high = ((baseAddress >> 16) & 0xFF) | ((uint)access << 8) | (limit & 0xF_0000) | ((uint)(flags & 0xF) << 20) | (baseAddress & 0xFF00_0000);
        uint address = GdtBase + (uint)(selector & 0xFFF8);
        Memory.Write32(address, low);
        Memory.Write32(address + 4, high);
    }

    /// <summary>Writes an IDT gate: type 0xE interrupt gate, 0xF trap gate, 0x5 task gate.</summary>
    public void SetGate(int vector, uint handler, int dpl = 0, int type = 0xE, ushort selector = Code0, bool present = true)
    {
        uint low = (handler & 0xFFFF) | ((uint)selector << 16);
        uint high = (handler & 0xFFFF_0000) | (present ? 0x8000u : 0) | ((uint)dpl << 13) | ((uint)type << 8);
        Memory.Write32(IdtBase + (uint)vector * 8, low);
        Memory.Write32(IdtBase + (uint)vector * 8 + 4, high);
    }

    /// <summary>Clears the TSS I/O-bitmap bit of <paramref name="port"/> (allowed at CPL &gt; IOPL).</summary>
    public void AllowPort(ushort port)
    {
        uint address = TssBase + IoBitmapOffset + (uint)(port >> 3);
        Memory.GuestWrite(address, 1, Memory.Read8(address) & ~(1u << (port & 7)));
    }

    // ---- programs ----------------------------------------------------------------------------

    /// <summary>Assembles <paramref name="a"/> at <paramref name="address"/> and loads it into RAM.</summary>
    public GuestProgram Load(Assembler a, uint address = CodeBase)
    {
        var writer = new ByteWriter();
        AssemblerResult result = a.Assemble(writer, address, BlockEncoderOptions.ReturnNewInstructionOffsets);
        byte[] bytes = writer.ToArray();
        Memory.Load(address, bytes);
        return new GuestProgram(address, bytes, result);
    }

    /// <summary>
    /// Assembles a program that refers to its own labels as absolute addresses (self-modifying code,
    /// handler addresses pushed as immediates): <paramref name="emit"/> runs until the label
    /// addresses it was given are the ones it produced. Placeholders are large so every
    /// immediate/displacement keeps its 32-bit encoding between passes.
    /// </summary>
    public GuestProgram Load(Action<Assembler, LabelAddresses> emit, uint address = CodeBase)
    {
        var known = new LabelAddresses();
        for (int pass = 0; pass < 5; pass++)
        {
            var a = new Assembler(32);
            var labels = new LabelAddresses(known);
            emit(a, labels);
            var writer = new ByteWriter();
            AssemblerResult result = a.Assemble(writer, address, BlockEncoderOptions.ReturnNewInstructionOffsets);
            var found = new LabelAddresses();
            foreach ((string name, Label label) in labels.Defined)
            {
                found.Set(name, (uint)result.GetLabelRIP(label));
            }
            if (found.SameAs(known))
            {
                byte[] bytes = writer.ToArray();
                Memory.Load(address, bytes);
                return new GuestProgram(address, bytes, result, found);
            }
            known = found;
        }
        throw new InvalidOperationException("label addresses did not converge");
    }

    // ---- running -----------------------------------------------------------------------------

    /// <summary>Runs until HLT; fails the test on any other exit (with the CPU's diagnostic).</summary>
    public CpuExit RunUntilHalt(long maxInstructions = 100_000)
    {
        CpuExit exit = Cpu.Run(maxInstructions);
        Assert.True(exit.Reason == CpuExitReason.Halted, $"expected HLT, got {exit.Reason}: {exit.Detail}\n{Cpu.DescribeState()}");
        return exit;
    }

    /// <summary>Leaves the halted state and continues at <paramref name="eip"/> (in the current CS).</summary>
    public void Restart(uint eip)
    {
        Cpu.Halted = false;
        Cpu.Eip = eip;
    }

    /// <summary>
    /// Single-steps until CS:EIP reaches <paramref name="linear"/> (before it executes). A step
    /// retires one instruction and a faulting instruction does not retire, so the first
    /// instruction of an exception handler runs in the same step as the fault: stop at handlers
    /// entered by INT n or IRET, not by faults.
    /// </summary>
    public void RunUntilEip(uint linear, int maxInstructions = 10_000)
    {
        for (int i = 0; i < maxInstructions; i++)
        {
            if (Cpu.LinearEip == linear)
            {
                return;
            }
            CpuExit exit = Cpu.Step();
            Assert.True(exit.Reason == CpuExitReason.InstructionLimit, $"stopped early: {exit.Reason} {exit.Detail}\n{Cpu.DescribeState()}");
        }
        Assert.Fail($"EIP never reached 0x{linear:X8}\n{Cpu.DescribeState()}");
    }

    /// <summary>Asserts that a default stub handled <paramref name="vector"/> and is the current halt point.</summary>
    public void AssertStopped(int vector)
    {
        Assert.True(LastVector == (uint)vector, $"expected vector {vector}, stub recorded {(LastVector == NoVector ? "none" : LastVector.ToString())}\n{Cpu.DescribeState()}");
        Assert.Equal(StubHaltAddress(vector) + 1, Cpu.Eip);
        Assert.Equal(Code0, Cpu.Segment(SegReg.Cs).Selector);
    }

    /// <summary>The dword at SS:ESP + 4*<paramref name="index"/> (the interrupt frame inside a handler).</summary>
    public uint Stack(int index) => ReadLinear32(Cpu.Segment(SegReg.Ss).Base + Cpu.Esp + (uint)(4 * index));

    public uint ReadLinear32(uint linear)
    {
        Span<byte> b = stackalloc byte[4];
        Assert.True(Cpu.TryPeekLinear(linear, b), $"linear 0x{linear:X8} is not mapped");
        return BitConverter.ToUInt32(b);
    }

    /// <summary>Puts the CPU in ring <paramref name="ring"/> (0, 1 or 3) with flat segments, as an OS would after IRET.</summary>
    public void EnterRing(int ring, uint eip, uint esp, uint eflags = EFlags.Reserved1)
    {
        (ushort cs, ushort ds) = SelectorsOf(ring);
        for (int s = 0; s < 6; s++)
        {
            if (s != SegReg.Cs)
            {
                Cpu.SetSegment(s, FlatCache(ds, code: false));
            }
        }
        Cpu.SetSegment(SegReg.Cs, FlatCache(cs, code: true));
        Cpu.Eip = eip;
        Cpu.Esp = esp;
        Cpu.Eflags = eflags | EFlags.Reserved1;
    }

    public static (ushort Code, ushort Data) SelectorsOf(int ring) => ring switch
    {
        0 => (Code0, Data0),
        1 => (Code1, Data1),
        3 => (Code3, Data3),
        _ => throw new ArgumentOutOfRangeException(nameof(ring)),
    };

    public static SegmentCache FlatCache(ushort selector, bool code) => new()
    {
        Selector = selector,
        Base = 0,
        Limit = 0xFFFF_FFFF,
        Attributes = (ushort)((code ? 0xC09B : 0xC093) | ((selector & 3) << 5)),
        Usable = true,
    };

    // ---- paging ------------------------------------------------------------------------------

    /// <summary>
    /// Identity-maps all 4 MiB of RAM with 4 KiB pages (present, writable, user unless
    /// <paramref name="user"/> is false) and turns paging on host-side.
    /// </summary>
    public void EnablePaging(bool user = true, uint cr4 = 0, bool writeProtect = false)
    {
        Memory.Fill(PageDirectoryBase, 0x1000, 0);
        nextTable = PageDirectoryBase + 0x1000;
        uint flags = PteP | PteRw | (user ? PteUs : 0);
        for (uint lin = 0; lin < RamSize; lin += 0x1000)
        {
            Map(lin, lin, flags);
        }
        Assert.True(Cpu.TrySetControlRegister(4, cr4));
        Assert.True(Cpu.TrySetControlRegister(3, PageDirectoryBase));
        Assert.True(Cpu.TrySetControlRegister(0, Cpu.Cr0 | Cr0Bits.PG | (writeProtect ? Cr0Bits.WP : 0)));
        Cpu.FlushTlbAll();
    }

    /// <summary>Maps one 4 KiB page, creating its page table (P|RW|US) if needed; drops the stale TLB entry.</summary>
    public void Map(uint linear, uint physical, uint flags)
    {
        uint pdeAddress = PdeAddress(linear);
        uint pde = Memory.Read32(pdeAddress);
        if ((pde & PteP) == 0 || (pde & PtePs) != 0)
        {
            uint table = nextTable;
            nextTable += 0x1000;
            Assert.True(nextTable <= RamSize, "out of page-table space");
            Memory.Fill(table, 0x1000, 0);
            Memory.Write32(pdeAddress, table | PteP | PteRw | PteUs);
        }
        Memory.Write32(PteAddress(linear), (physical & 0xFFFF_F000) | flags);
        Cpu.InvalidatePage(linear);
    }

    /// <summary>Maps a 4 MiB page with a PSE directory entry (needs CR4.PSE to be honoured).</summary>
    public void MapLarge(uint linear, uint physical, uint flags)
    {
        Memory.Write32(PdeAddress(linear), (physical & 0xFFC0_0000) | flags | PtePs);
        Cpu.InvalidatePage(linear);
    }

    public static uint PdeAddress(uint linear) => PageDirectoryBase + ((linear >> 22) << 2);

    public uint PteAddress(uint linear)
    {
        uint pde = Memory.Read32(PdeAddress(linear));
        Assert.True((pde & PteP) != 0 && (pde & PtePs) == 0, $"no page table for 0x{linear:X8}");
        return (pde & 0xFFFF_F000) + ((linear >> 12) & 0x3FF) * 4;
    }

    public uint ReadPte(uint linear) => Memory.Read32(PteAddress(linear));

    public uint ReadPde(uint linear) => Memory.Read32(PdeAddress(linear));

    /// <summary>An Iced code writer into a growable buffer.</summary>
    private sealed class ByteWriter : CodeWriter
    {
        private readonly List<byte> bytes = [];

        public override void WriteByte(byte value) => bytes.Add(value);

        public byte[] ToArray() => [.. bytes];
    }
}

/// <summary>An assembled, loaded program and where its labels ended up.</summary>
public sealed class GuestProgram
{
    private readonly AssemblerResult result;
    private readonly LabelAddresses? named;

    internal GuestProgram(uint address, byte[] bytes, AssemblerResult result, LabelAddresses? named = null)
    {
        Address = address;
        Bytes = bytes;
        this.result = result;
        this.named = named;
    }

    public uint Address { get; }

    public byte[] Bytes { get; }

    public uint End => Address + (uint)Bytes.Length;

    public uint this[Label label] => (uint)result.GetLabelRIP(label);

    public uint this[string name] => named is null ? throw new InvalidOperationException("program has no named labels") : named[name];
}

/// <summary>
/// Named labels for two-pass assembly: <see cref="Define"/> binds a label at the current position;
/// the indexer gives its address from the previous pass (a large placeholder on the first).
/// </summary>
public sealed class LabelAddresses
{
    private const uint Placeholder = 0x7FFF_0000;
    private readonly Dictionary<string, uint> addresses;

    public LabelAddresses() => addresses = [];

    internal LabelAddresses(LabelAddresses previous) => addresses = new Dictionary<string, uint>(previous.addresses);

    internal List<(string Name, Label Label)> Defined { get; } = [];

    public uint this[string name] => addresses.TryGetValue(name, out uint a) ? a : Placeholder;

    /// <summary>Binds label <paramref name="name"/> at the assembler's current position (also usable as a branch target).</summary>
    public Label Define(Assembler a, string name)
    {
        Label l = a.CreateLabel(name);
        a.Label(ref l);
        Defined.Add((name, l));
        return l;
    }

    internal void Set(string name, uint address) => addresses[name] = address;

    internal bool SameAs(LabelAddresses other) =>
        addresses.Count == other.addresses.Count && addresses.All(kv => other.addresses.TryGetValue(kv.Key, out uint v) && v == kv.Value);
}

/// <summary>A board that records port I/O and answers the interrupt-acknowledge cycle from a queue.</summary>
public sealed class RecordingPlatform : ICpuPlatform
{
    public Cpu? Cpu { get; set; }

    public List<(ushort Port, int Size, uint Value)> Writes { get; } = [];

    public List<(ushort Port, int Size)> Reads { get; } = [];

    /// <summary>What IN returns (before masking to the access size).</summary>
    public Func<ushort, int, uint> ReadValue { get; set; } = (port, _) => 0xA5A5_0000u | port;

    public Queue<byte> PendingVectors { get; } = new();

    public int Acknowledges { get; private set; }

    public uint PortRead(ushort port, int size)
    {
        Reads.Add((port, size));
        return ReadValue(port, size);
    }

    public void PortWrite(ushort port, int size, uint value) => Writes.Add((port, size, value));

    /// <summary>Every change of the FERR# pin, in order.</summary>
    public List<bool> FpuErrorSignals { get; } = [];

    public void FloatingPointError(bool asserted) => FpuErrorSignals.Add(asserted);

    /// <summary>Like a PIC: hands out the next vector and drops INTR when nothing else is pending.</summary>
    public byte AcknowledgeInterrupt()
    {
        Acknowledges++;
        byte v = PendingVectors.Count > 0 ? PendingVectors.Dequeue() : (byte)0xFF;
        if (PendingVectors.Count == 0 && Cpu is not null)
        {
            Cpu.InterruptLine = false;
        }
        return v;
    }

    /// <summary>Queues <paramref name="vector"/> and raises INTR.</summary>
    public void Raise(byte vector)
    {
        PendingVectors.Enqueue(vector);
        Cpu!.InterruptLine = true;
    }

    public ulong TimestampCounter => (ulong)(Cpu?.InstructionsRetired ?? 0);
}
