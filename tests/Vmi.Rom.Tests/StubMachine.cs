using Iced.Intel;
using Vmi.Abi;
using Vmi.Cpu;
using Vmi.Cpu.Memory;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Rom.Tests;

/// <summary>
/// A small protected-mode kernel state in which a ROM stub and the native instruction(s) it
/// stands for can both run from the same starting point: paging on (identity-mapped first 4 MiB,
/// one global page), a GDT with kernel and user segments, a busy TSS and a loaded LDT (and a spare
/// of each), an IDT whose exception handlers record the vector and halt, warm TLB entries for
/// three probe pages, and a recording board. Two machines built from the same arguments are
/// identical, so any difference after running is the difference between what ran. The memory
/// image is built once and copied into each machine: a test runs a few hundred of them.
/// </summary>
internal sealed class StubMachine
{
    public const uint RamSize = 1u << 20;
    public const uint RomPhysical = 0xC0000;

    /// <summary>The call site (or the native instructions), followed by HLT.</summary>
    public const uint Code = 0x1000;
    public const uint Handlers = 0x2000;
    public const uint HandlerSize = 16;
    public const uint UserCode = 0x3000;
    private const uint WarmupCode = 0x4000;

    public const uint Gdt = 0x1_0000, GdtLimit = 16 * 8 - 1;
    public const uint Idt = 0x1_0800, IdtLimit = 256 * 8 - 1;
    public const uint LdtA = 0x1_1000, LdtB = 0x1_1100, LdtLimit = 3 * 8 - 1;
    public const uint TssA = 0x1_2000, TssB = 0x1_2100, TssLimit = 0x67;

    /// <summary>A page for descriptor-table register images and buffers, filled with 0xCC.</summary>
    public const uint Images = 0x1_3000;

    /// <summary>A page of string-I/O data: byte i is i*7+1.</summary>
    public const uint IoBuffer = 0x1_4000;

    /// <summary>A page-table page for SetPxE: dword i is 0x0BAD0000|i.</summary>
    public const uint PteTable = 0x1_5000;

    /// <summary>RAM standing in for the local APIC page: dword i is 0xA91C0000|(4i).</summary>
    public const uint Apic = 0x1_6000;

    /// <summary>+0: 0x100|vector written by an exception handler; +4: wakeup interrupts taken.</summary>
    public const uint Marks = 0x1_7000;

    public const uint PageDirA = 0x2_0000, PageTable = 0x2_1000, PageDirB = 0x2_2000;
    public const uint UserStack = 0x8_0000;
    public const uint StackPage = 0x8_F000, StackTop = 0x9_0000;

    /// <summary>Pages whose TLB entries are warm when the call starts; the last one is global.</summary>
    public const uint ProbeA = 0x5_0000, ProbeB = 0x5_1000, ProbeGlobal = 0x5_2000;

    public const ushort KernelCs = 0x08, KernelDs = 0x10, UserCs = 0x1B, UserDs = 0x23;
    public const ushort TssASel = 0x28, LdtASel = 0x30, TssBSel = 0x38, LdtBSel = 0x40;

    public const uint BaseCr0 = Cr0Bits.PE | Cr0Bits.MP | Cr0Bits.ET | Cr0Bits.NE | Cr0Bits.WP | Cr0Bits.PG;
    public const uint BaseCr2 = 0x0C2C_2C20;
    public const uint BaseCr4 = Cr4Bits.PGE;

    /// <summary>Interrupts enabled and two arithmetic flags set, so a stub that loses them is seen.</summary>
    public const uint BaseEflags = EFlags.Reserved1 | EFlags.IF | EFlags.CF | EFlags.ZF;

    public const uint BaseSysenterCs = KernelCs, BaseSysenterEsp = 0x8_F800, BaseSysenterEip = 0x0000_5000;

    /// <summary>DR0..DR7 (DR4/DR5 do not exist as storage); DR7 enables no breakpoint.</summary>
    public static readonly uint[] BaseDr = [0x0001_1000, 0x0002_2000, 0x0003_3000, 0x0004_4000, 0, 0, 0xFFFF_0FF0, 0x0000_0400];

    /// <summary>Distinct values in every GPR (indexed like <see cref="Reg"/>; ESP is set separately).</summary>
    public static readonly uint[] BaseGprs = [0xA0A0_A0A0, 0xC1C1_C1C1, 0xD2D2_D2D2, 0xB3B3_B3B3, StackTop, 0xB5B5_B5B5, 0x5E5E_5E5E, 0xD7D7_D7D7];

    private const int Budget = 10_000;

    private static readonly byte[] Template = BuildTemplate();

    public StubMachine(VmiRom rom, VmiCall call, Action<StubMachine>? prepare)
    {
        Memory = new PhysicalMemory(RamSize);
        Memory.Load(0, Template);
        Memory.Load(RomPhysical, rom.Image);
        Platform = new RecordingPlatform();
        Cpu = new Vmi.Cpu.Cpu(Memory, CpuModel.Plain, Platform);
        Platform.Cpu = Cpu;
        Cpu.EnterFlatProtectedMode(Code, KernelCs, KernelDs);
        Cpu.Gdtr = new TableRegister { Base = Gdt, Limit = GdtLimit };
        Cpu.Idtr = new TableRegister { Base = Idt, Limit = IdtLimit };
        Cpu.Ldtr = new TableRegister { Selector = LdtASel, Base = LdtA, Limit = LdtLimit, Type = 2 };
        Cpu.Tr = new TableRegister { Selector = TssASel, Base = TssA, Limit = TssLimit, Type = 0xB };
        Require(Cpu.TrySetControlRegister(3, PageDirA) && Cpu.TrySetControlRegister(4, BaseCr4) && Cpu.TrySetControlRegister(0, BaseCr0), "base control registers refused");
        Cpu.Cr2 = BaseCr2;
        for (int i = 0; i < 8; i++)
        {
            Cpu.Dr[i] = BaseDr[i];
        }
        Cpu.SysenterCs = BaseSysenterCs;
        Cpu.SysenterEsp = BaseSysenterEsp;
        Cpu.SysenterEip = BaseSysenterEip;
        prepare?.Invoke(this);
        Relocation = WarmUp(call);
    }

    public PhysicalMemory Memory { get; }

    public Vmi.Cpu.Cpu Cpu { get; }

    public RecordingPlatform Platform { get; }

    /// <summary>What the ROM's own get_reloc answered for the call, executed on this machine.</summary>
    public RelocationInfo Relocation { get; }

    /// <summary>GPRs (indexed like <see cref="Reg"/>) when the call site was entered.</summary>
    public uint[] Entry { get; } = new uint[8];

    /// <summary>The address after the HLT that follows the call site: where a returning call ends.</summary>
    public uint EndEip { get; private set; }

    public uint FaultMark => Memory.Read32(Marks);

    public uint WakeCount => Memory.Read32(Marks + 4);

    public static uint HandlerAddress(int vector) => Handlers + (uint)vector * HandlerSize;

    /// <summary>Places <paramref name="body"/> + HLT at <see cref="Code"/>, pushes the stack arguments and sets the registers.</summary>
    public void Start(Action<Assembler> body, uint? eax, uint? ecx, uint? edx, IReadOnlyList<uint> stack, uint eflags)
    {
        var a = new Assembler(32);
        body(a);
        a.hlt();
        byte[] code = Assemble(Code, a);
        Memory.Load(Code, code);
        EndEip = Code + (uint)code.Length;
        uint esp = StackTop - 4 * (uint)stack.Count;
        for (int i = 0; i < stack.Count; i++)
        {
            Memory.Write32(esp + 4 * (uint)i, stack[i]);
        }
        for (int r = 0; r < 8; r++)
        {
            Cpu[r] = BaseGprs[r];
        }
        Cpu.Esp = esp;
        Cpu.Eax = eax ?? Cpu.Eax;
        Cpu.Ecx = ecx ?? Cpu.Ecx;
        Cpu.Edx = edx ?? Cpu.Edx;
        Cpu.Eflags = eflags;
        Cpu.Eip = Code;
        for (int r = 0; r < 8; r++)
        {
            Entry[r] = Cpu[r];
        }
    }

    /// <summary>DS, ES, FS, GS null: the interrupt-flag calls may rely on CS and SS only.</summary>
    public void NullDataSegments()
    {
        foreach (int s in new[] { SegReg.Es, SegReg.Ds, SegReg.Fs, SegReg.Gs })
        {
            Cpu.SetSegment(s, new SegmentCache { Selector = 0, Usable = false });
        }
    }

    public CpuExit Run() => Cpu.Run(Budget);

    /// <summary>Single-steps until CS:EIP is <paramref name="linear"/>; false if it never gets there.</summary>
    public bool StepUntil(uint linear)
    {
        for (int i = 0; i < 200 && !Cpu.Halted; i++)
        {
            if (Cpu.LinearEip == linear) return true;
            Cpu.Step();
        }
        return Cpu.LinearEip == linear;
    }

    public string Describe(CpuExit? exit = null) =>
        $"{exit?.Reason} {exit?.Detail} eip=0x{Cpu.Eip:X8} halted={Cpu.Halted} fault mark=0x{FaultMark:X}";

    /// <summary>All of RAM, as dwords (dword reads are the fast public path).</summary>
    public uint[] Ram()
    {
        uint[] ram = new uint[RamSize / 4];
        for (uint i = 0; i < ram.Length; i++)
        {
            ram[i] = Memory.Read32(i * 4);
        }
        return ram;
    }

    /// <summary>Two 32-bit halves of a segment or gate descriptor.</summary>
    public static (uint Low, uint High) Descriptor(uint @base, uint limit, uint access, uint flags) =>
        ((limit & 0xFFFF) | (@base << 16),
         ((@base >> 16) & 0xFF) | (access << 8) | (limit & 0xF_0000) | (flags << 20) | (@base & 0xFF00_0000));

    private static void WriteDescriptor(PhysicalMemory memory, uint address, (uint Low, uint High) d)
    {
        memory.Write32(address, d.Low);
        memory.Write32(address + 4, d.High);
    }

    public static byte[] Assemble(uint at, Assembler a)
    {
        var writer = new Bytes();
        a.Assemble(writer, at);
        return writer.ToArray();
    }

    private static void Require(bool ok, string what)
    {
        if (!ok) throw new InvalidOperationException($"test machine setup: {what}");
    }

    private static byte[] BuildTemplate()
    {
        var memory = new PhysicalMemory(RamSize);
        // Segments: accessed bits preset, so loads do not write the GDT differently in the two runs.
        WriteDescriptor(memory, Gdt + 0x08, Descriptor(0, 0xF_FFFF, 0x9B, 0xC));
        WriteDescriptor(memory, Gdt + 0x10, Descriptor(0, 0xF_FFFF, 0x93, 0xC));
        WriteDescriptor(memory, Gdt + 0x18, Descriptor(0, 0xF_FFFF, 0xFB, 0xC));
        WriteDescriptor(memory, Gdt + 0x20, Descriptor(0, 0xF_FFFF, 0xF3, 0xC));
        WriteDescriptor(memory, Gdt + TssASel, Descriptor(TssA, TssLimit, 0x8B, 0));   // busy: TR holds it
        WriteDescriptor(memory, Gdt + LdtASel, Descriptor(LdtA, LdtLimit, 0x82, 0));
        WriteDescriptor(memory, Gdt + TssBSel, Descriptor(TssB, TssLimit, 0x89, 0));   // available
        WriteDescriptor(memory, Gdt + LdtBSel, Descriptor(LdtB, LdtLimit, 0x82, 0));
        WriteDescriptor(memory, LdtA, Descriptor(0, 0xF_FFFF, 0xF3, 0xC));
        WriteDescriptor(memory, LdtB, Descriptor(0, 0xF_FFFF, 0xFB, 0xC));
        foreach (uint tss in new[] { TssA, TssB })
        {
            memory.Write32(tss + 4, tss == TssA ? StackTop : 0x8_E000); // esp0
            memory.Write32(tss + 8, KernelDs);                          // ss0
            memory.Write32(tss + 0x64, 0x0068_0000);                    // I/O bitmap beyond the limit
        }

        // Exception handlers record the vector and halt; the wakeup vector counts and returns.
        for (int v = 0; v < 32; v++)
        {
            var h = new Assembler(32);
            h.mov(__dword_ptr[Marks], 0x100 | v);
            h.hlt();
            memory.Load(HandlerAddress(v), Assemble(HandlerAddress(v), h));
            WriteGate(memory, v);
        }
        var wake = new Assembler(32);
        wake.inc(__dword_ptr[Marks + 4]);
        wake.iretd();
        memory.Load(HandlerAddress(RecordingPlatform.WakeVector), Assemble(HandlerAddress(RecordingPlatform.WakeVector), wake));
        WriteGate(memory, RecordingPlatform.WakeVector);

        memory.Load(UserCode, [0xEB, 0xFE]); // jmp $

        // Identity map of all RAM, user-accessible, accessed and dirty preset (so neither run's
        // page walks write the tables); CR3 may switch between two identical directories.
        for (uint i = 0; i < RamSize >> 12; i++)
        {
            uint global = (i << 12) == ProbeGlobal ? 0x100u : 0;
            memory.Write32(PageTable + i * 4, (i << 12) | 0x67 | global);
        }
        memory.Write32(PageDirA, PageTable | 0x67);
        memory.Write32(PageDirB, PageTable | 0x67);

        memory.Fill(Images, 0x1000, 0xCC);
        byte[] io = new byte[0x1000];
        for (int i = 0; i < io.Length; i++)
        {
            io[i] = (byte)(i * 7 + 1);
        }
        memory.Load(IoBuffer, io);
        for (uint i = 0; i < 0x400; i++)
        {
            memory.Write32(PteTable + i * 4, 0x0BAD_0000 | i);
            memory.Write32(Apic + i * 4, 0xA91C_0000 | (i * 4));
        }
        byte[] image = new byte[RamSize];
        memory.ReadBytes(0, image);
        return image;
    }

    private static void WriteGate(PhysicalMemory memory, int vector)
    {
        uint handler = HandlerAddress(vector);
        memory.Write32(Idt + (uint)vector * 8, (handler & 0xFFFF) | ((uint)KernelCs << 16));
        memory.Write32(Idt + (uint)vector * 8 + 4, (handler & 0xFFFF_0000) | 0x8E00); // present 32-bit interrupt gate
    }

    /// <summary>Asks the ROM's get_reloc for the call (as a kernel would) and touches the probe pages, filling their TLB entries.</summary>
    private RelocationInfo WarmUp(VmiCall call)
    {
        var a = new Assembler(32);
        a.mov(eax, (uint)call);
        a.call(RomPhysical + RomLayout.GetRelocOffset);
        a.mov(__dword_ptr[Marks + 8], eax);
        a.mov(__dword_ptr[Marks + 12], edx);
        a.mov(eax, __dword_ptr[ProbeA]);
        a.mov(eax, __dword_ptr[ProbeB]);
        a.mov(eax, __dword_ptr[ProbeGlobal]);
        byte[] code = Assemble(WarmupCode, a);
        Memory.Load(WarmupCode, code);
        Cpu.Esp = StackTop;
        Cpu.Eip = WarmupCode;
        Require(StepUntil(WarmupCode + (uint)code.Length), $"warm-up did not finish: {Describe()}");
        var reloc = RelocationInfo.FromRegisters(Memory.Read32(Marks + 8), Memory.Read32(Marks + 12));
        Memory.Write32(Marks + 8, 0);
        Memory.Write32(Marks + 12, 0);
        Require(Cpu.TlbHasEntry(ProbeA) && Cpu.TlbHasEntry(ProbeB) && Cpu.TlbHasEntry(ProbeGlobal), "probe pages not in the TLB");
        return reloc;
    }

    private sealed class Bytes : CodeWriter
    {
        private readonly List<byte> bytes = [];

        public override void WriteByte(byte value) => bytes.Add(value);

        public byte[] ToArray() => [.. bytes];
    }
}
