using Iced.Intel;
using Vmi.Cpu.Tests.Support;
using static Iced.Intel.AssemblerRegisters;
using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests.SystemLevel;

/// <summary>
/// IOPL and the instructions that are sensitive without trapping: CLI/STI fault above IOPL, but
/// POPF silently ignores IF, PUSHF shows the real IF, and SGDT/SIDT/SMSW work at any CPL. These
/// are the exact behaviours that make the i386 not classically virtualizable.
/// </summary>
public sealed class IoplTests
{
    private static uint Iopl(int level) => (uint)level << 12;

    private static H UserHarness(Assembler a, uint eflags, out GuestProgram program)
    {
        var h = new H();
        h.SetGate(0x80, H.StubAddress(0x80), dpl: 3);
        program = h.Load(a);
        h.EnterRing(3, program.Address, H.Ring3StackTop, eflags);
        return h;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CliAtCpl3FaultsUnlessIoplIs3(bool iopl3)
    {
        var a = new Assembler(32);
        a.cli();
        a.pushfd();
        a.pop(eax);
        a.@int(0x80);
        H h = UserHarness(a, EFlags.IF | (iopl3 ? Iopl(3) : 0), out GuestProgram p);

        h.RunUntilHalt();

        if (iopl3)
        {
            h.AssertStopped(0x80);
            Assert.Equal(0u, h.Cpu.Eax & EFlags.IF);
        }
        else
        {
            h.AssertStopped(Vectors.GP);
            Assert.Equal(0u, h.Stack(0));
            Assert.Equal(p.Address, h.Stack(1));
            Assert.Equal(EFlags.IF, h.Stack(3) & EFlags.IF);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void PopfAtCpl3SilentlyKeepsIfAndIopl(bool ifInitially)
    {
        // The popped image flips IF, asks for IOPL 3 and sets CF: only CF may change.
        uint start = ifInitially ? EFlags.IF : 0;
        uint image = (start ^ EFlags.IF) | Iopl(3) | EFlags.CF | EFlags.Reserved1;
        var a = new Assembler(32);
        a.push(image);
        a.popfd();
        a.pushfd();
        a.pop(eax);
        a.@int(0x80);
        H h = UserHarness(a, start, out _);

        h.RunUntilHalt();

        h.AssertStopped(0x80);
        Assert.Equal(1u, h.ExceptionCount); // no #GP from POPF
        Assert.Equal(start, h.Cpu.Eax & EFlags.IF);
        Assert.Equal(0u, h.Cpu.Eax & EFlags.IoplMask);
        Assert.Equal(EFlags.CF, h.Cpu.Eax & EFlags.CF);
        Assert.Equal(start | EFlags.CF | EFlags.Reserved1, h.Stack(2) & (EFlags.IF | EFlags.CF | EFlags.IoplMask | EFlags.Reserved1));
    }

    [Fact]
    public void PopfAtCpl3WithIopl3ChangesIfButNotIopl()
    {
        var a = new Assembler(32);
        a.push(EFlags.IF | EFlags.Reserved1); // IOPL 0 in the image
        a.popfd();
        a.pushfd();
        a.pop(eax);
        a.@int(0x80);
        H h = UserHarness(a, Iopl(3), out _);

        h.RunUntilHalt();

        Assert.Equal(EFlags.IF, h.Cpu.Eax & EFlags.IF);
        Assert.Equal(Iopl(3), h.Cpu.Eax & EFlags.IoplMask);
    }

    [Fact]
    public void PopfAtCpl0ChangesIopl()
    {
        var h = new H();
        var a = new Assembler(32);
        a.push(Iopl(2) | EFlags.Reserved1);
        a.popfd();
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        Assert.Equal(Iopl(2), h.Cpu.Eflags & EFlags.IoplMask);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void PushfRevealsTheRealIf(bool interruptsOn)
    {
        var a = new Assembler(32);
        a.pushfd();
        a.pop(eax);
        a.pushf(); // 16-bit form too
        a.pop(bx);
        a.@int(0x80);
        H h = UserHarness(a, interruptsOn ? EFlags.IF : 0, out _);
        h.Cpu.Ebx = 0xFFFF_0000;

        h.RunUntilHalt();

        uint expected = interruptsOn ? EFlags.IF : 0;
        Assert.Equal(expected, h.Cpu.Eax & EFlags.IF);
        Assert.Equal(0xFFFF_0000u | expected | EFlags.Reserved1, h.Cpu.Ebx & (0xFFFF_0000u | EFlags.IF | EFlags.Reserved1));
    }

    /// <summary>Port, access size, allowed? Only port 0x80 and 0x3F8..0x3FB are open in the bitmap.</summary>
    [Theory]
    [InlineData(0x80, 1, true)]
    [InlineData(0x81, 1, false)]
    [InlineData(0x80, 2, false)]   // second byte is 0x81: every byte of the access must be allowed
    [InlineData(0x3F8, 4, true)]
    [InlineData(0x3F9, 4, false)]  // 0x3FC is denied
    [InlineData(0xFFFF, 1, false)]
    public void IoBitmapDecidesPortAccessAtCpl3(int port, int size, bool allowed)
    {
        var a = new Assembler(32);
        Label access = a.CreateLabel();
        a.mov(edx, port);
        a.mov(eax, 0x1234_5678u);
        a.Label(ref access);
        switch (size)
        {
            case 1: a.@out(dx, al); break;
            case 2: a.@out(dx, ax); break;
            default: a.@out(dx, eax); break;
        }
        switch (size)
        {
            case 1: a.@in(al, dx); break;
            case 2: a.@in(ax, dx); break;
            default: a.@in(eax, dx); break;
        }
        a.@int(0x80);
        H h = UserHarness(a, EFlags.IF, out GuestProgram p);
        h.AllowPort(0x80);
        for (ushort q = 0x3F8; q <= 0x3FB; q++)
        {
            h.AllowPort(q);
        }

        h.RunUntilHalt();

        if (allowed)
        {
            h.AssertStopped(0x80);
            uint mask = Cpu.SizeMask(size);
            Assert.Equal(new[] { ((ushort)port, size, 0x1234_5678u & mask) }, h.Platform.Writes);
            Assert.Equal(new[] { ((ushort)port, size) }, h.Platform.Reads);
            Assert.Equal((0xA5A5_0000u | (uint)port) & mask, h.Cpu.Eax & mask);
        }
        else
        {
            h.AssertStopped(Vectors.GP);
            Assert.Equal(0u, h.Stack(0));
            Assert.Equal(p[access], h.Stack(1));
            Assert.Empty(h.Platform.Writes);
            Assert.Empty(h.Platform.Reads);
        }
    }

    [Fact]
    public void ImmediatePortFormUsesTheBitmapToo()
    {
        var a = new Assembler(32);
        a.mov(al, 0x5A);
        a.@out(0x80, al);
        a.@in(al, 0x80);
        a.mov(ebx, eax);
        a.@out(0x81, al);
        a.@int(0x80);
        H h = UserHarness(a, 0, out _);
        h.AllowPort(0x80);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.GP);
        Assert.Equal(new[] { ((ushort)0x80, 1, 0x5Au) }, h.Platform.Writes);
        Assert.Equal(0x80u, h.Cpu.Ebx & 0xFF);
    }

    [Fact]
    public void Iopl3BypassesTheBitmap()
    {
        var a = new Assembler(32);
        a.mov(al, 7);
        a.@out(0x81, al);
        a.@int(0x80);
        H h = UserHarness(a, Iopl(3), out _);

        h.RunUntilHalt();

        h.AssertStopped(0x80);
        Assert.Equal(new[] { ((ushort)0x81, 1, 7u) }, h.Platform.Writes);
    }

    [Fact]
    public void StringOutputChecksTheBitmapBeforeTheFirstTransfer()
    {
        var a = new Assembler(32);
        a.mov(edx, 0x81);
        a.mov(esi, H.DataBase);
        a.mov(ecx, 4);
        a.rep.outsb();
        a.@int(0x80);
        H h = UserHarness(a, 0, out _);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.GP);
        Assert.Empty(h.Platform.Writes);
        Assert.Equal(4u, h.Cpu.Ecx);
    }

    [Fact]
    public void DescriptorTableStoresAndSmswWorkAtCpl3()
    {
        var a = new Assembler(32);
        a.sgdt(__[H.DataBase]);
        a.sidt(__[H.DataBase + 8]);
        a.smsw(__word_ptr[H.DataBase + 16]);
        a.smsw(eax);
        a.str(bx);
        a.@int(0x80);
        H h = UserHarness(a, 0, out _);

        h.RunUntilHalt();

        h.AssertStopped(0x80);
        Assert.Equal(1u, h.ExceptionCount);
        Assert.Equal((ushort)(H.GdtEntries * 8 - 1), h.Memory.Read16(H.DataBase));
        Assert.Equal(H.GdtBase, h.Memory.Read32(H.DataBase + 2));
        Assert.Equal((ushort)0x7FF, h.Memory.Read16(H.DataBase + 8));
        Assert.Equal(H.IdtBase, h.Memory.Read32(H.DataBase + 10));
        Assert.Equal((ushort)h.Cpu.Cr0, h.Memory.Read16(H.DataBase + 16));
        Assert.Equal(h.Cpu.Cr0 & 0xFFFF, h.Cpu.Eax & 0xFFFF);
        Assert.Equal(Cr0Bits.PE, h.Cpu.Eax & Cr0Bits.PE);
        Assert.Equal((uint)H.TssSelector, h.Cpu.Ebx & 0xFFFF);
    }
}
