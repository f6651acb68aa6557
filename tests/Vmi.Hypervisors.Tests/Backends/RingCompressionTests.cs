using Iced.Intel;
using Vmi.Cpu;
using Vmi.Hypervisors.BinaryTranslation;
using Vmi.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Hypervisors.Tests.Backends;

/// <summary>
/// Ring compression under bt: a kernel written for ring 0 (its GDT's code and data are DPL 0, its
/// selectors RPL 0, its TSS names only a ring-0 stack) runs in ring 1 and sees what it would in ring 0.
/// </summary>
public sealed class RingCompressionTests
{
    private const uint Gdt = 0x2000, GdtImage = 0x2100, Idt = 0x3000, IdtImage = 0x3800, Tss = 0x4000;
    private const ushort KernelCs = 0x08, KernelDs = 0x10, UserCs = 0x1B, UserDs = 0x23, TssSelector = 0x28;
    private const uint KernelStack = 0x9_0000, Ring0Stack = 0x8_0000, UserStack = 0x7_0000;

    /// <summary>
    /// Absolute addresses of marked places, for code that pushes them (far transfers, gates): the
    /// assembler resolves labels only as branch targets in 32-bit code, so the code is assembled
    /// twice, the second time with the addresses the first found (MOV r32, imm32 has one size).
    /// </summary>
    private sealed class Places(Dictionary<string, uint> known)
    {
        public Dictionary<string, Label> Labels { get; } = [];

        public uint this[string name] => known.GetValueOrDefault(name);

        public void Mark(Assembler a, string name)
        {
            Label l = a.CreateLabel();
            a.Label(ref l);
            Labels[name] = l;
        }
    }

    private sealed class Discard : CodeWriter
    {
        public override void WriteByte(byte value)
        {
        }
    }

    private static Action<Assembler> WithPlaces(Action<Assembler, Places> emit)
    {
        var first = new Places([]);
        var a = new Assembler(32);
        emit(a, first);
        AssemblerResult result = a.Assemble(new Discard(), Vmi.TestSupport.FlatKernel.Entry, BlockEncoderOptions.ReturnNewInstructionOffsets);
        var known = first.Labels.ToDictionary(kv => kv.Key, kv => (uint)result.GetLabelRIP(kv.Value));
        return b => emit(b, new Places(known));
    }

    /// <summary>A Linux-style GDT: null, ring-0 code and data, user code and data, a TSS; loaded with RPL-0 selectors.</summary>
    private static void RingZeroGdt(Assembler a)
    {
        a.mov(esp, KernelStack);
        uint[] words =
        [
            0, 0,
            0x0000_FFFF, 0x00CF_9A00, // code, DPL 0
            0x0000_FFFF, 0x00CF_9200, // data, DPL 0
            0x0000_FFFF, 0x00CF_FA00, // user code
            0x0000_FFFF, 0x00CF_F200, // user data
            (Tss << 16) | 0x67, 0x0000_8900, // 32-bit TSS, available
        ];
        for (int i = 0; i < words.Length; i++)
        {
            a.mov(__dword_ptr[Gdt + (uint)i * 4], words[i]);
        }
        a.mov(__word_ptr[GdtImage], (ushort)(words.Length * 4 - 1));
        a.mov(__dword_ptr[GdtImage + 2], Gdt);
        a.lgdt(__fword_ptr[GdtImage]);
        a.mov(ax, KernelDs);
        a.mov(ds, ax);
        a.mov(es, ax);
        a.mov(ss, ax); // RPL 0 at CPL 1: #GP without compression
    }

    /// <summary>An interrupt gate (DPL <paramref name="dpl"/>) to the code at <paramref name="handler"/> through the ring-0 code selector.</summary>
    private static void Gate(Assembler a, int vector, uint handler, int dpl)
    {
        a.mov(eax, handler);
        a.mov(__word_ptr[Idt + (uint)vector * 8], ax);
        a.mov(__word_ptr[Idt + (uint)vector * 8 + 2], KernelCs);
        a.mov(__word_ptr[Idt + (uint)vector * 8 + 4], (ushort)((0x8E | (dpl << 5)) << 8));
        a.shr(eax, 16);
        a.mov(__word_ptr[Idt + (uint)vector * 8 + 6], ax);
    }

    private static void LoadIdt(Assembler a)
    {
        a.mov(__word_ptr[IdtImage], (ushort)(0x81 * 8 - 1));
        a.mov(__dword_ptr[IdtImage + 2], Idt);
        a.lidt(__fword_ptr[IdtImage]);
    }

    /// <summary>
    /// Far jump to the RPL-0 code selector, MOV from CS and SS into Scratch and Scratch + 4, an
    /// IRET and a RETF to RPL-0 frames, then INT3 through a DPL-0 gate whose handler stores the CS
    /// image of its frame at Scratch + 8; CPUID leaf 1's EDX at Scratch + 12.
    /// </summary>
    private static void RingZeroKernel(Assembler a, Places p)
    {
        Label start = a.CreateLabel();
        a.jmp(start);
        p.Mark(a, "breakpoint");
        a.mov(eax, __dword_ptr[esp + 4]);
        a.mov(__dword_ptr[TinyGuest.Scratch + 8], eax);
        a.iretd();
        a.Label(ref start);
        RingZeroGdt(a);
        Gate(a, 3, p["breakpoint"], dpl: 0);
        LoadIdt(a);
        a.mov(eax, p["afterJump"]);
        a.push(KernelCs);
        a.push(eax);
        a.jmp(__fword_ptr[esp]); // far jump to 0x08:afterJump
        p.Mark(a, "afterJump");
        a.add(esp, 8);
        a.xor(eax, eax);
        a.mov(ax, cs);
        a.mov(__dword_ptr[TinyGuest.Scratch], eax);
        a.mov(ax, ss);
        a.mov(__dword_ptr[TinyGuest.Scratch + 4], eax);
        a.mov(eax, p["afterIret"]);
        a.pushfd();
        a.push(KernelCs);
        a.push(eax);
        a.iretd(); // to RPL 0 from CPL 1: #GP without compression
        p.Mark(a, "afterIret");
        a.mov(eax, p["afterRetf"]);
        a.push(KernelCs);
        a.push(eax);
        a.retf();
        p.Mark(a, "afterRetf");
        a.int3();
        a.mov(eax, 1);
        a.cpuid();
        a.mov(__dword_ptr[TinyGuest.Scratch + 12], edx);
        a.mov(al, 0);
        a.@out(0xF4, al);
    }

    [Fact]
    public void UnderBtARingZeroKernelLoadsItsSelectorsAndSeesRingZeroSelectorsWhileRunningInRing1()
    {
        var bt = new BtHypervisor(TinyGuest.P4);

        (Vm vm, VmRunResult r) = TinyGuest.Run(bt, "bt", WithPlaces(RingZeroKernel));

        Assert.Equal(1, r.GuestExitCode);
        Assert.Equal(1, vm.Cpu.Cpl);
        Assert.Equal(KernelCs, vm.Memory.Read32(TinyGuest.Scratch)); // MOV from CS: RPL 0
        Assert.Equal(KernelDs, vm.Memory.Read32(TinyGuest.Scratch + 4)); // MOV from SS: RPL 0
        Assert.Equal(KernelCs, vm.Memory.Read32(TinyGuest.Scratch + 8)); // the interrupt frame's CS image
        Assert.Equal(0u, vm.Memory.Read32(TinyGuest.Scratch + 12) & (1u << 11)); // no SEP for a ring-1 kernel
        // The guest's own GDT keeps DPL 0; the monitor's copy shows DPL 1.
        Assert.Equal(0x00CF_9A00u, vm.Memory.Read32(Gdt + 12) & 0xFFFF_FEFF);
        Assert.Equal(1, vm.Cpu.Segment(SegReg.Cs).Dpl);
    }

    [Fact]
    public void OnTheBareMachineTheRingZeroKernelSeesTheSameSelectorsAndSep()
    {
        Vm vm = Vm.BootMultiboot(new VmConfig { CpuModel = CpuModel.Pentium4 }, Vmi.TestSupport.FlatKernel.Build(WithPlaces(RingZeroKernel)));
        VmRunResult r = vm.Run(1_000_000);

        Assert.Equal(1, r.GuestExitCode);
        Assert.Equal(0, vm.Cpu.Cpl);
        Assert.Equal(KernelCs, vm.Memory.Read32(TinyGuest.Scratch));
        Assert.Equal(KernelDs, vm.Memory.Read32(TinyGuest.Scratch + 4));
        Assert.Equal(KernelCs, vm.Memory.Read32(TinyGuest.Scratch + 8));
        Assert.NotEqual(0u, vm.Memory.Read32(TinyGuest.Scratch + 12) & (1u << 11));
    }

    /// <summary>The seam itself: at CPL 1 an RPL-0 selector of a DPL-1 stack segment loads only with the compressed ring set.</summary>
    [Fact]
    public void AnRplZeroStackSelectorLoadsAtCpl1OnlyUnderRingCompression()
    {
        (Vm vm, _) = TinyGuest.Run(new BtHypervisor(TinyGuest.P4), "bt", a => a.hlt());
        ushort rplZero = (ushort)(vm.Cpu.Segment(SegReg.Ss).Selector & ~3);

        vm.Cpu.CompressedRing = 0;
        Assert.False(vm.Cpu.TryLoadSegment(SegReg.Ss, rplZero, out CpuFault f));
        Assert.Equal(Vectors.GP, f.Vector);
        vm.Cpu.CompressedRing = 1;
        Assert.True(vm.Cpu.TryLoadSegment(SegReg.Ss, rplZero, out _));
        Assert.Equal(rplZero, vm.Cpu.Segment(SegReg.Ss).Selector);
    }

    /// <summary>
    /// A TSS with only SS0:ESP0 (and SS1:ESP1 used for something else, as Linux keeps its SYSENTER
    /// CS and the task stack there); IRET to user mode, whose INT 0x80 (a DPL-3 gate) enters the
    /// kernel: its handler stores ESP, the frame's CS and the user ESP at Scratch.
    /// </summary>
    private static void RingZeroTss(Assembler a, Places p)
    {
        Label start = a.CreateLabel();
        a.jmp(start);
        p.Mark(a, "syscall");
        a.mov(__dword_ptr.ss[TinyGuest.Scratch], esp);
        a.mov(ax, KernelDs); // the return to ring 3 nulled DS: its descriptor is the kernel's
        a.mov(ds, ax);
        a.mov(eax, __dword_ptr[esp + 4]);
        a.mov(__dword_ptr[TinyGuest.Scratch + 4], eax);
        a.mov(eax, __dword_ptr[esp + 12]);
        a.mov(__dword_ptr[TinyGuest.Scratch + 8], eax);
        a.mov(al, 0);
        a.@out(0xF4, al);
        a.Label(ref start);
        RingZeroGdt(a);
        a.mov(__dword_ptr[Tss + 4], Ring0Stack); // ESP0
        a.mov(__dword_ptr[Tss + 8], KernelDs); // SS0
        a.mov(__dword_ptr[Tss + 12], 0x1234_5678u); // ESP1: not a stack
        a.mov(__dword_ptr[Tss + 16], KernelCs); // SS1: a code selector, as Linux's SYSENTER CS
        a.mov(__word_ptr[Tss + 102], 0x68);
        a.mov(ax, TssSelector);
        a.ltr(ax);
        Gate(a, 0x80, p["syscall"], dpl: 3);
        LoadIdt(a);
        a.mov(__dword_ptr[Tss + 4], Ring0Stack - 0x100); // a later ESP0 (a context switch) reaches the monitor's copy
        a.mov(eax, p["user"]);
        a.push(UserDs);
        a.push(UserStack);
        a.pushfd();
        a.push(UserCs);
        a.push(eax);
        a.iretd();
        p.Mark(a, "user");
        a.@int(0x80);
        a.hlt();
    }

    [Fact]
    public void UnderBtAnInterruptFromUserModeEntersTheRingZeroKernelOnItsRingZeroStack()
    {
        var bt = new BtHypervisor(TinyGuest.P4);

        (Vm vm, VmRunResult r) = TinyGuest.Run(bt, "bt", WithPlaces(RingZeroTss));

        Assert.Equal(1, r.GuestExitCode);
        Assert.Equal(Ring0Stack - 0x100 - 20, vm.Memory.Read32(TinyGuest.Scratch)); // EIP, CS, EFLAGS, ESP, SS
        Assert.Equal(UserCs, vm.Memory.Read32(TinyGuest.Scratch + 4));
        Assert.Equal(UserStack, vm.Memory.Read32(TinyGuest.Scratch + 8));
        Assert.Equal(0x1234_5678u, vm.Memory.Read32(Tss + 12)); // the guest's own TSS is untouched
        Assert.Equal(0xFFC0_0000u + DescriptorTableShadow.TssOffset, vm.Cpu.Tr.Base);
        Assert.True(bt.Events.CountsByDetail[(Events.EventKind.TracingFault, DescriptorTableShadow.TssWrite)] >= 1); // the later ESP0, traced as a TSS write
    }

    [Fact]
    public void OnTheBareMachineTheSameKernelEntersOnItsRingZeroStack()
    {
        Vm vm = Vm.BootMultiboot(new VmConfig { CpuModel = CpuModel.Pentium4 }, Vmi.TestSupport.FlatKernel.Build(WithPlaces(RingZeroTss)));
        VmRunResult r = vm.Run(1_000_000);

        Assert.Equal(1, r.GuestExitCode);
        Assert.Equal(Ring0Stack - 0x100 - 20, vm.Memory.Read32(TinyGuest.Scratch));
        Assert.Equal(UserCs, vm.Memory.Read32(TinyGuest.Scratch + 4));
    }

    /// <summary>MOV to DR7 and back from the ring-1 kernel: trapped, emulated on the guest's own debug registers.</summary>
    [Fact]
    public void UnderBtTheKernelsDebugRegisterMovesAreEmulated()
    {
        var bt = new BtHypervisor(TinyGuest.P4);

        (Vm vm, VmRunResult r) = TinyGuest.Run(bt, "bt", a =>
        {
            a.mov(eax, 0x1234_0000u);
            a.mov(dr0, eax);
            a.mov(ebx, dr0);
            a.mov(__dword_ptr[TinyGuest.Scratch], ebx);
            a.mov(al, 0);
            a.@out(0xF4, al);
        });

        Assert.Equal(1, r.GuestExitCode);
        Assert.Equal(0x1234_0000u, vm.Memory.Read32(TinyGuest.Scratch));
        Assert.Equal(0x1234_0000u, vm.Cpu.Dr[0]);
    }
}
