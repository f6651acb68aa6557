using Iced.Intel;
using Vmi.Cpu.Tests.Support;
using static Iced.Intel.AssemblerRegisters;
using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests.SystemLevel;

/// <summary>
/// Ring transitions: IRET/RETF to outer rings, interrupts into inner rings through the TSS stacks
/// (ring 0 and ring 1: a ring-1 kernel is how a binary-translating VMM runs its guest),
/// segment-register scrubbing on the way out, and SYSENTER/SYSEXIT.
/// </summary>
public sealed class PrivilegeTests
{
    private const uint UserFlags = EFlags.IF | EFlags.Reserved1;

    /// <summary>push ss, esp, eflags, cs, eip; iretd.</summary>
    private static void EmitIretTo(Assembler a, int ring, uint eip, uint esp, uint eflags)
    {
        (ushort codeSelector, ushort stackSelector) = H.SelectorsOf(ring);
        a.push(stackSelector);
        a.push(esp);
        a.push(eflags);
        a.push(codeSelector);
        a.push(eip);
        a.iretd();
    }

    [Fact]
    public void IretToRing3ThenInt80BackToRing0UsesEsp0()
    {
        var h = new H();
        h.SetGate(0x80, H.StubAddress(0x80), dpl: 3);
        GuestProgram p = h.Load((a, l) =>
        {
            EmitIretTo(a, 3, l["user"], H.Ring3StackTop - 16, UserFlags);
            l.Define(a, "user");
            a.mov(eax, cs);
            a.mov(ebx, ss);
            a.mov(ecx, esp);
            a.@int(0x80);
            l.Define(a, "after");
            a.hlt();
        });

        h.RunUntilHalt();

        h.AssertStopped(0x80);
        Assert.Equal((uint)H.Code3, h.Cpu.Eax);
        Assert.Equal((uint)H.Data3, h.Cpu.Ebx);
        Assert.Equal(H.Ring3StackTop - 16, h.Cpu.Ecx);
        Assert.Equal(H.Ring0StackTop - 20, h.Cpu.Esp);
        Assert.Equal(H.Data0, h.Cpu.Segment(SegReg.Ss).Selector);
        Assert.Equal(p["after"], h.Stack(0));
        Assert.Equal((uint)H.Code3, h.Stack(1));
        Assert.Equal(UserFlags, h.Stack(2));
        Assert.Equal(H.Ring3StackTop - 16, h.Stack(3));
        Assert.Equal((uint)H.Data3, h.Stack(4));
        Assert.Equal(0u, h.Cpu.Eflags & EFlags.IF); // interrupt gate
    }

    [Fact]
    public void IretToRing1ThenInterruptToRing0()
    {
        var h = new H();
        h.SetGate(0x80, H.StubAddress(0x80), dpl: 3);
        GuestProgram p = h.Load((a, l) =>
        {
            EmitIretTo(a, 1, l["ring1"], H.Ring1StackTop - 8, EFlags.Reserved1);
            l.Define(a, "ring1");
            a.mov(eax, cs);
            a.@int(0x80);
            l.Define(a, "after");
            a.hlt();
        });

        h.RunUntilHalt();

        h.AssertStopped(0x80);
        Assert.Equal((uint)H.Code1, h.Cpu.Eax);
        Assert.Equal(p["after"], h.Stack(0));
        Assert.Equal((uint)H.Code1, h.Stack(1));
        Assert.Equal(H.Ring1StackTop - 8, h.Stack(3));
        Assert.Equal((uint)H.Data1, h.Stack(4));
    }

    /// <summary>
    /// Ring 3 -> ring 1 through a gate whose code segment has DPL 1 (TSS ss1:esp1), then IRET back.
    /// IRET may restore IF only when the returning ring's CPL &lt;= IOPL: with IOPL 0 a ring-1
    /// kernel cannot re-enable interrupts that way (the ring-compression problem of VMMs).
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void InterruptFromRing3IntoRing1UsesTssStack1AndIretReturns(int iopl)
    {
        uint userFlags = UserFlags | ((uint)iopl << 12);
        var h = new H();
        h.SetGate(0x80, H.StubAddress(0x80), dpl: 3);
        GuestProgram p = h.Load((a, l) =>
        {
            // ring 3
            a.mov(esi, 0x3333);
            a.@int(0x81);
            l.Define(a, "back");
            a.@int(0x80);
            a.hlt();

            // ring-1 handler: leaves a mark and returns to ring 3
            l.Define(a, "ring1");
            a.mov(edi, ss);
            a.iretd();
        });
        h.SetGate(0x81, p["ring1"], dpl: 3, selector: H.Code1);
        h.EnterRing(3, p.Address, H.Ring3StackTop, userFlags);

        h.RunUntilEip(p["ring1"]);

        Assert.Equal(1, h.Cpu.Cpl);
        Assert.Equal(H.Code1, h.Cpu.Segment(SegReg.Cs).Selector);
        Assert.Equal(H.Data1, h.Cpu.Segment(SegReg.Ss).Selector);
        Assert.Equal(H.Ring1StackTop - 20, h.Cpu.Esp);
        Assert.Equal(p["back"], h.Stack(0));
        Assert.Equal((uint)H.Code3, h.Stack(1));
        Assert.Equal(userFlags, h.Stack(2));
        Assert.Equal(H.Ring3StackTop, h.Stack(3));
        Assert.Equal((uint)H.Data3, h.Stack(4));
        Assert.Equal(0u, h.Cpu.Eflags & EFlags.IF);

        h.RunUntilHalt();

        h.AssertStopped(0x80);
        Assert.Equal((uint)H.Data1, h.Cpu.Edi);
        Assert.Equal(p["back"] + 2, h.Stack(0));
        Assert.Equal((uint)H.Code3, h.Stack(1));
        Assert.Equal(iopl >= 1 ? userFlags : userFlags & ~EFlags.IF, h.Stack(2));
        Assert.Equal(H.Ring3StackTop, h.Stack(3));
    }

    /// <summary>A bad ss1 in the TSS: entering ring 1 raises #TS, which ring 0 (valid ss0) can take.</summary>
    [Theory]
    [InlineData(0, 0u)]       // null selector
    [InlineData(0x10, 0x10u)] // RPL 0, not the target ring
    [InlineData(0x23, 0x20u)] // RPL 3
    [InlineData(0x29, 0x28u)] // RPL 1 but a code segment
    public void BadRing1StackInTssRaisesInvalidTss(int ss1, uint expectedError)
    {
        var h = new H();
        h.Memory.Write32(H.TssBase + 16, (uint)ss1);
        GuestProgram p = h.Load((a, l) =>
        {
            a.@int(0x81);
            a.hlt();
            l.Define(a, "ring1");
            a.hlt();
        });
        h.SetGate(0x81, p["ring1"], dpl: 3, selector: H.Code1);
        h.EnterRing(3, p.Address, H.Ring3StackTop);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.TS);
        Assert.Equal(expectedError, h.Stack(0));
        Assert.Equal(p.Address, h.Stack(1));
        Assert.Equal((uint)H.Code3, h.Stack(2));
        Assert.Equal(H.Ring3StackTop, h.Stack(4));
    }

    [Fact]
    public void ExceptionAtRing1ThroughRing1GateStaysOnTheRing1Stack()
    {
        // The ring-1 handler reports to ring 0 with INT 0x80, whose frame shows the ring-1 ESP.
        const uint ring1Esp = H.Ring1StackTop - 0x40;
        var h = new H();
        h.SetGate(0x80, H.StubAddress(0x80), dpl: 3);
        GuestProgram p = h.Load((a, l) =>
        {
            l.Define(a, "fault");
            a.ud2();
            l.Define(a, "handler");
            a.@int(0x80);
        });
        h.SetGate(Vectors.UD, p["handler"], selector: H.Code1);
        h.EnterRing(1, p.Address, ring1Esp);

        h.RunUntilHalt();

        h.AssertStopped(0x80);
        Assert.Equal((uint)H.Code1, h.Stack(1));
        Assert.Equal(ring1Esp - 12, h.Stack(3)); // same-ring delivery: no SS:ESP pushed
        Assert.Equal((uint)H.Data1, h.Stack(4));
        Assert.Equal(p["fault"], h.ReadLinear32(ring1Esp - 12));
        Assert.Equal((uint)H.Code1, h.ReadLinear32(ring1Esp - 8));
    }

    [Fact]
    public void InterruptGateToAnOuterRingIsRefused()
    {
        // Ring 1 takes #UD through a gate whose code segment is ring 3: #GP(selector).
        var h = new H();
        var a = new Assembler(32);
        a.ud2();
        GuestProgram p = h.Load(a);
        h.SetGate(Vectors.UD, p.Address, selector: H.Code3);
        h.EnterRing(1, p.Address, H.Ring1StackTop);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.GP);
        Assert.Equal((uint)(H.Code3 & 0xFFFC) | 1, h.Stack(0)); // EXT: raised while delivering an exception
        Assert.Equal((uint)H.Code1, h.Stack(2));
    }

    [Fact]
    public void Ring1CannotLoadRing0DataSegments()
    {
        var h = new H();
        var a = new Assembler(32);
        a.mov(eax, H.Data0);
        a.mov(es, ax);
        GuestProgram p = h.Load(a);
        h.EnterRing(1, p.Address, H.Ring1StackTop);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.GP);
        Assert.Equal((uint)H.Data0, h.Stack(0));
        Assert.Equal(H.Data1, h.Cpu.Segment(SegReg.Es).Selector);
    }

    [Fact]
    public void ReturnToOuterRingNullsDataSegmentsItMayNotUse()
    {
        var h = new H();
        GuestProgram p = h.Load((a, l) =>
        {
            a.mov(eax, H.Data0);
            a.mov(ds, ax);
            a.mov(es, ax);
            a.mov(gs, ax);
            a.mov(eax, H.Data3);
            a.mov(fs, ax);
            EmitIretTo(a, 3, l["user"], H.Ring3StackTop, UserFlags);
            l.Define(a, "user");
            a.mov(ebx, __dword_ptr.fs[H.DataBase]); // FS (DPL 3) survives
            l.Define(a, "fault");
            a.mov(ebx, __dword_ptr[H.DataBase]);    // DS was nulled: #GP(0)
            a.hlt();
        });

        h.RunUntilEip(p["user"]);

        Assert.Equal(3, h.Cpu.Cpl);
        foreach (int s in new[] { SegReg.Ds, SegReg.Es, SegReg.Gs })
        {
            Assert.Equal(0, h.Cpu.Segment(s).Selector);
            Assert.False(h.Cpu.Segment(s).Usable);
        }
        Assert.Equal(H.Data3, h.Cpu.Segment(SegReg.Fs).Selector);
        Assert.True(h.Cpu.Segment(SegReg.Fs).Usable);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.GP);
        Assert.Equal(0u, h.Stack(0));
        Assert.Equal(p["fault"], h.Stack(1));
    }

    [Fact]
    public void ReturnFromRing0ToRing1KeepsRing1DataSegments()
    {
        var h = new H();
        GuestProgram p = h.Load((a, l) =>
        {
            a.mov(eax, H.Data1);
            a.mov(ds, ax);
            a.mov(eax, H.Data0);
            a.mov(es, ax);
            EmitIretTo(a, 1, l["ring1"], H.Ring1StackTop, EFlags.Reserved1);
            l.Define(a, "ring1");
            a.nop();
        });

        h.RunUntilEip(p["ring1"]);

        Assert.Equal(1, h.Cpu.Cpl);
        Assert.Equal(H.Data1, h.Cpu.Segment(SegReg.Ds).Selector);
        Assert.True(h.Cpu.Segment(SegReg.Ds).Usable);
        Assert.False(h.Cpu.Segment(SegReg.Es).Usable);
    }

    [Fact]
    public void FarReturnToRing3SwitchesStacksAndReleasesParameters()
    {
        var h = new H();
        h.SetGate(0x80, H.StubAddress(0x80), dpl: 3);
        GuestProgram p = h.Load((a, l) =>
        {
            // Outer stack image for "retf 8": eip, cs, 8 bytes of parameters, esp, ss.
            a.push(H.Data3);
            a.push(H.Ring3StackTop - 0x20);
            a.push(0x1111);
            a.push(0x2222);
            a.push(H.Code3);
            a.push(l["user"]);
            a.retf(8);
            l.Define(a, "user");
            a.@int(0x80);
            a.hlt();
        });

        h.RunUntilHalt();

        h.AssertStopped(0x80);
        Assert.Equal((uint)H.Code3, h.Stack(1));
        Assert.Equal(H.Ring3StackTop - 0x20 + 8, h.Stack(3)); // RETF imm also pops the outer stack
        Assert.Equal((uint)H.Data3, h.Stack(4));
        _ = p;
    }

    [Fact]
    public void IretToInnerRingIsRefused()
    {
        var h = new H();
        var a = new Assembler(32);
        a.push(EFlags.Reserved1);
        a.push(H.Code0);
        a.push(H.CodeBase);
        a.iretd();
        GuestProgram p = h.Load(a);
        h.EnterRing(3, p.Address, H.Ring3StackTop);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.GP);
        Assert.Equal((uint)(H.Code0 & 0xFFFC), h.Stack(0));
    }

    [Fact]
    public void SysexitAndSysenterRoundTrip()
    {
        const uint sysenterStack = 0x7_0000;
        var h = new H();
        GuestProgram p = h.Load((a, l) =>
        {
            a.xor(edx, edx);
            a.mov(ecx, 0x174);
            a.mov(eax, (uint)H.Code0);
            a.wrmsr();
            a.mov(ecx, 0x175);
            a.mov(eax, sysenterStack);
            a.wrmsr();
            a.mov(ecx, 0x176);
            a.mov(eax, l["entry"]);
            a.wrmsr();
            a.mov(edx, l["user"]);
            a.mov(ecx, H.Ring3StackTop - 4);
            a.sti();
            a.sysexit();

            l.Define(a, "user");
            a.mov(esi, cs);
            a.mov(edi, ss);
            a.mov(ebp, esp);
            a.pushfd();
            a.pop(ebx);
            a.sysenter();

            l.Define(a, "entry");
            a.hlt();
        });

        h.RunUntilHalt();

        Assert.Equal(H.NoVector, h.LastVector);
        Assert.Equal(p["entry"] + 1, h.Cpu.Eip);
        Assert.Equal((uint)H.Code3, h.Cpu.Esi);
        Assert.Equal((uint)H.Data3, h.Cpu.Edi);
        Assert.Equal(H.Ring3StackTop - 4, h.Cpu.Ebp);
        Assert.Equal(EFlags.IF, h.Cpu.Ebx & EFlags.IF);
        Assert.Equal(0, h.Cpu.Cpl);
        Assert.Equal(H.Code0, h.Cpu.Segment(SegReg.Cs).Selector);
        Assert.Equal(H.Data0, h.Cpu.Segment(SegReg.Ss).Selector);
        Assert.Equal(sysenterStack, h.Cpu.Esp);
        Assert.Equal(0u, h.Cpu.Eflags & EFlags.IF); // SYSENTER masks interrupts
    }

    [Fact]
    public void SysenterWithoutConfiguredMsrRaisesGeneralProtection()
    {
        var h = new H();
        var a = new Assembler(32);
        a.sysenter();
        GuestProgram p = h.Load(a);
        h.EnterRing(3, p.Address, H.Ring3StackTop);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.GP);
        Assert.Equal(0u, h.Stack(0));
        Assert.Equal(p.Address, h.Stack(1));
    }

    [Fact]
    public void FarJumpToRing3CodeIsRefused()
    {
        // A direct far JMP cannot change privilege: non-conforming code needs DPL == CPL.
        var h = new H();
        var a = new Assembler(32);
        a.jmp(H.Code3, H.CodeBase);
        h.Load(a);

        h.RunUntilHalt();

        h.AssertStopped(Vectors.GP);
        Assert.Equal((uint)(H.Code3 & 0xFFFC), h.Stack(0));
    }

    [Fact]
    public void FarCallAndReturnWithinRing0()
    {
        var h = new H();
        GuestProgram p = h.Load((a, l) =>
        {
            a.call(H.Code0, l["callee"]);
            l.Define(a, "ret");
            a.hlt();
            l.Define(a, "callee");
            a.mov(eax, __dword_ptr[esp]);
            a.mov(ebx, __dword_ptr[esp + 4]);
            a.retf();
        });

        h.RunUntilHalt();

        Assert.Equal(p["ret"], h.Cpu.Eax);
        Assert.Equal((uint)H.Code0, h.Cpu.Ebx);
        Assert.Equal(H.Ring0StackTop, h.Cpu.Esp);
    }
}
