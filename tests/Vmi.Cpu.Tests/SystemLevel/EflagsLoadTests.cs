using Iced.Intel;
using Vmi.Cpu.Memory;
using static Iced.Intel.AssemblerRegisters;
using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests.SystemLevel;

/// <summary>
/// Every path that loads EFLAGS, with all bits set in what it loads: afterwards bit 1 reads 1,
/// bits 3, 5, 15 and 22–31 read 0, VIF/VIP stay 0 (no VME/PVI), and each path changes exactly the
/// bits the SDM lets it change (POPF/IRET by mode and CPL, SAHF, SYSENTER, interrupt delivery, a
/// debugger's register write). Real-mode IRETW once kept the reserved bits it popped (0x802A).
/// </summary>
public sealed class EflagsLoadTests
{
    private const uint Reserved0 = (1u << 3) | (1u << 5) | (1u << 15) | 0xFFC0_0000u | EFlags.VIF | EFlags.VIP;

    /// <summary>The bits a 32-bit POPF/IRET may change at CPL 0 in protected mode, less VM and TF (kept off so no #DB follows).</summary>
    private const uint Cpl0Popf = EFlags.Writable & ~(EFlags.VM | EFlags.RF | EFlags.TF);

    public sealed record Row(string Name, Action<Assembler> Code, int Instructions, uint Expected, int Ring = 0, bool RealMode = false)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Row> Rows() =>
    [
        new("popfd, CPL 0", a => { a.push(unchecked((int)~EFlags.TF)); a.popfd(); }, 2, Cpl0Popf | EFlags.Reserved1),
        new("popf (16-bit), CPL 0", a => { a.push(unchecked((short)~EFlags.TF)); a.popf(); }, 2, (Cpl0Popf & 0xFFFF) | EFlags.Reserved1),
        new("popfd, CPL 3, IOPL 0: IF and IOPL kept", a => { a.push(unchecked((int)~EFlags.TF)); a.popfd(); }, 2,
            (Cpl0Popf & ~(EFlags.IF | EFlags.IoplMask)) | EFlags.Reserved1, Ring: 3),
        new("iretd to the same ring: RF loaded", a =>
        {
            a.push(unchecked((int)~(EFlags.TF | EFlags.VM | EFlags.NT)));
            a.push((int)H.Code0);
            a.push((int)H.CodeBase + 0x40);
            a.iretd();
        }, 4, (EFlags.Writable & ~(EFlags.TF | EFlags.VM | EFlags.NT)) | EFlags.Reserved1),
        new("sahf: only SF ZF AF PF CF", a => { a.mov(ah, 0xFF); a.sahf(); }, 2,
            EFlags.SF | EFlags.ZF | EFlags.AF | EFlags.PF | EFlags.CF | EFlags.Reserved1),
        new("sysenter clears VM, IF and RF", a =>
        {
            a.mov(ecx, Cpu.MsrSysenterCs);
            a.mov(eax, (int)H.Code0);
            a.xor(edx, edx);
            a.wrmsr();
            a.sti();
            a.sysenter();
        }, 6, EFlags.ZF | EFlags.PF | EFlags.Reserved1), // ZF, PF from the xor
        new("iretw in real mode", a =>
        {
            a.push(unchecked((short)~EFlags.TF));
            a.push(0);
            a.push(0x7C40);
            a.iret();
        }, 4, (0xFFFF & EFlags.Writable & ~EFlags.TF) | EFlags.Reserved1, RealMode: true),
        new("popf in real mode", a => { a.push(unchecked((short)~EFlags.TF)); a.popf(); }, 2,
            (0xFFFF & EFlags.Writable & ~EFlags.TF) | EFlags.Reserved1, RealMode: true),
    ];

    [Theory]
    [MemberData(nameof(Rows))]
    public void LoadsKeepReservedBitsAndChangeOnlyWhatTheyMay(Row row)
    {
        Cpu cpu = row.RealMode ? RealModeCpu(row) : ProtectedModeCpu(row);

        Assert.Equal(CpuExitReason.InstructionLimit, cpu.Run(row.Instructions).Reason);

        uint flags = cpu.Eflags;
        Assert.Equal(EFlags.Reserved1, flags & EFlags.Reserved1);
        Assert.Equal(0u, flags & Reserved0);
        Assert.Equal($"{row.Expected:X8}", $"{flags:X8}");
    }

    [Fact]
    public void InterruptDeliveryPushesTheArchitecturalImage()
    {
        var h = new H();
        var a = new Assembler(32);
        a.push(unchecked((int)~(EFlags.TF | EFlags.IF | EFlags.NT)));
        a.popfd();
        a.@int(0x30);
        h.Load(a);

        h.RunUntilHalt();

        h.AssertStopped(0x30);
        uint pushed = h.Stack(2);
        Assert.Equal(EFlags.Reserved1, pushed & EFlags.Reserved1);
        Assert.Equal(0u, pushed & Reserved0);
        Assert.Equal(0u, pushed & EFlags.RF); // a software interrupt pushes RF = 0
    }

    [Fact]
    public void ADebuggerWriteKeepsTheReservedBits()
    {
        // What the gdb stub's P/G packets and loaders use.
        var h = new H();
        h.Cpu.Eflags = 0xFFFF_FFFF;
        Assert.Equal(EFlags.Writable | EFlags.Reserved1, h.Cpu.Eflags);
        h.Cpu.Eflags = 0;
        Assert.Equal(EFlags.Reserved1, h.Cpu.Eflags);
    }

    [Fact]
    public void RealModeIretwThenDasGivesTheSiliconResult()
    {
        // The reported case: after IRETW popped 0xFFFF, EFLAGS read 0x802A and DAS differed from
        // hardware. With AL = 0x9A, CF = AF = 0: DAS gives AL = 0x34, CF = AF = 1 (SDM pseudocode).
        var row = new Row("das", a =>
        {
            a.push(unchecked((short)0xFEEE)); // every bit but TF, CF and AF, reserved ones included
            a.push(0);
            a.push(0x7C40);
            a.iret();
        }, 4, 0, RealMode: true);
        Cpu cpu = RealModeCpu(row);
        var das = new Assembler(16);
        das.mov(al, 0x9A);
        das.das();
        das.pushf();
        das.pop(bx);
        Load(cpu.Memory, das, 0x7C40);

        Assert.Equal(CpuExitReason.InstructionLimit, cpu.Run(4 + 4).Reason);

        Assert.Equal(0x34u, cpu.Eax & 0xFF);
        Assert.Equal(EFlags.CF | EFlags.AF, cpu.Ebx & (EFlags.CF | EFlags.AF));
        Assert.Equal(0u, cpu.Ebx & Reserved0 & 0xFFFF); // PUSHF after it shows no reserved bit (was 0x802A)
        Assert.Equal(EFlags.Reserved1, cpu.Ebx & EFlags.Reserved1);
    }

    private static Cpu ProtectedModeCpu(Row row)
    {
        var h = new H();
        var a = new Assembler(32);
        row.Code(a);
        h.Load(a);
        if (row.Ring != 0)
        {
            h.EnterRing(row.Ring, H.CodeBase, H.Ring3StackTop);
        }
        return h.Cpu;
    }

    /// <summary>A CPU after RESET, moved to 0000:7C00 with a stack at 0000:7000 (RAM; the reset vector is not).</summary>
    private static Cpu RealModeCpu(Row row)
    {
        var memory = new PhysicalMemory(1u << 20);
        var cpu = new Cpu(memory);
        var a = new Assembler(16);
        row.Code(a);
        Load(memory, a, 0x7C00);
        cpu.SetSegment(SegReg.Cs, new SegmentCache { Selector = 0, Base = 0, Limit = 0xFFFF, Attributes = 0x9B, Usable = true });
        cpu.Eip = 0x7C00;
        cpu.Esp = 0x7000;
        return cpu;
    }

    private static void Load(PhysicalMemory memory, Assembler a, uint address)
    {
        var writer = new Writer();
        a.Assemble(writer, address);
        memory.Load(address, writer.Bytes.ToArray());
    }

    private sealed class Writer : CodeWriter
    {
        public List<byte> Bytes { get; } = [];

        public override void WriteByte(byte value) => Bytes.Add(value);
    }
}
