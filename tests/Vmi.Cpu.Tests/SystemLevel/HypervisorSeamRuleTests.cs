using Iced.Intel;
using Vmi.Cpu.Tests.Support;
using static Iced.Intel.AssemblerRegisters;
using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests.SystemLevel;

/// <summary>
/// The rules of the hypervisor seam (ICpuIntercepts): privilege checks before interception,
/// skip versus resume, no PIC acknowledge before the hypervisor decides, queued injection,
/// per-operation masks, kernel and user blocks told apart, and news of invalidated code.
/// </summary>
public sealed class HypervisorSeamRuleTests
{
    /// <summary>A scriptable hypervisor: each callback is a delegate, every call is recorded.</summary>
    private sealed class Scripted : ICpuIntercepts
    {
        public List<SensitiveEvent> Instructions { get; } = [];

        public List<ExceptionEvent> Exceptions { get; } = [];

        public int ExternalInterrupts { get; private set; }

        public Func<Cpu, SensitiveEvent, InterceptAction> OnInstructionDo { get; set; } = (_, _) => InterceptAction.Default;

        public Func<Cpu, ExceptionEvent, InterceptAction> OnExceptionDo { get; set; } = (_, _) => InterceptAction.Default;

        public Func<Cpu, InterceptAction> OnExternalDo { get; set; } = _ => InterceptAction.Default;

        public InterceptAction OnInstruction(Cpu cpu, in SensitiveEvent e)
        {
            Instructions.Add(e);
            return OnInstructionDo(cpu, e);
        }

        public InterceptAction OnException(Cpu cpu, ref ExceptionEvent e)
        {
            Exceptions.Add(e);
            return OnExceptionDo(cpu, e);
        }

        public InterceptAction OnExternalInterrupt(Cpu cpu)
        {
            ExternalInterrupts++;
            return OnExternalDo(cpu);
        }
    }

    [Fact]
    public void APrivilegedInstructionAtCpl1FaultsBeforeAnyInterceptAndTheFaultCarriesTheInstruction()
    {
        var h = new H();
        var a = new Assembler(32);
        a.mov(eax, 0x0012_3000);
        a.mov(cr3, eax);
        a.cli();
        a.mov(ebx, 0x77);
        a.hlt();
        GuestProgram p = h.Load(a);
        h.EnterRing(1, p.Address, H.Ring1StackTop, EFlags.Reserved1 | EFlags.IF);
        var hv = new Scripted();
        uint emulatedCr3 = 0;
        hv.OnExceptionDo = (cpu, e) =>
        {
            if (e.Vector != Vectors.GP || !e.HasInstruction) return InterceptAction.Default;
            if (e.Instruction.Op == SensitiveOp.MovToCr) emulatedCr3 = e.Instruction.Value;
            if (e.Instruction.Op == SensitiveOp.Cli) cpu.Eflags &= ~EFlags.IF;
            return InterceptAction.Skip;
        };
        h.Cpu.Intercepts = hv;

        h.RunUntilEip(p.End - 1);

        Assert.Empty(hv.Instructions); // neither reached OnInstruction: the privilege check came first
        Assert.Equal([SensitiveOp.MovToCr, SensitiveOp.Cli], hv.Exceptions.Select(e => e.Instruction.Op));
        Assert.All(hv.Exceptions, e => Assert.Equal(Vectors.GP, e.Vector));
        SensitiveEvent mov = hv.Exceptions[0].Instruction;
        Assert.Equal((3u, 0x0012_3000u, 3, Reg.Eax), (mov.Operand, mov.Value, mov.Length, mov.Register));
        Assert.Equal(3, hv.Exceptions[0].InstructionLength);
        Assert.Equal(0x0012_3000u, emulatedCr3);
        Assert.False(h.Cpu.IF);
        Assert.Equal(0x77u, h.Cpu.Ebx); // Skip: each emulated instruction retired and execution went on after it
        Assert.Equal(0u, h.ExceptionCount);
    }

    [Fact]
    public void ResumeOnAnExceptionContinuesWhereTheHypervisorSetEip()
    {
        var h = new H();
        var a = new Assembler(32);
        Label target = a.CreateLabel();
        a.cli();
        a.mov(ebx, 1); // skipped over by the hypervisor
        a.Label(ref target);
        a.mov(ecx, 2);
        a.hlt();
        GuestProgram p = h.Load(a);
        h.EnterRing(1, p.Address, H.Ring1StackTop);
        var hv = new Scripted();
        hv.OnExceptionDo = (cpu, e) =>
        {
            if (!e.HasInstruction) return InterceptAction.Default;
            cpu.Eip = p[target];
            return InterceptAction.Resume;
        };
        h.Cpu.Intercepts = hv;
        long before = h.Cpu.InstructionsRetired;

        h.RunUntilEip(p.End - 1);

        Assert.Equal(0u, h.Cpu.Ebx);
        Assert.Equal(2u, h.Cpu.Ecx);
        Assert.Equal(before + 1, h.Cpu.InstructionsRetired); // only mov ecx retired: Resume is no retirement
    }

    [Fact]
    public void AnExternalInterruptIsNotAcknowledgedBeforeTheHypervisorDecidesAndAnInjectionIsDeliveredNext()
    {
        var h = new H();
        var a = new Assembler(32);
        a.nop();
        a.nop();
        a.nop();
        a.hlt();
        GuestProgram p = h.Load(a);
        h.Cpu.Eflags |= EFlags.IF;
        h.Platform.PendingVectors.Enqueue(0x30);
        h.Cpu.InterruptLine = true;
        var hv = new Scripted();
        int acknowledgesSeen = -1;
        hv.OnExternalDo = cpu =>
        {
            acknowledgesSeen = h.Platform.Acknowledges;
            byte v = cpu.Platform.AcknowledgeInterrupt(); // as VT's "acknowledge on exit" would, but by choice
            Assert.True(cpu.InjectInterrupt(v));
            return InterceptAction.Resume;
        };
        h.Cpu.Intercepts = hv;

        h.RunUntilHalt();

        Assert.Equal(0, acknowledgesSeen);
        Assert.Equal(1, hv.ExternalInterrupts);
        Assert.Equal(1, h.Platform.Acknowledges);
        Assert.Equal(0x30u, h.LastVector);
    }

    [Fact]
    public void AnExternalInterruptLeftPendingStaysAtThePic()
    {
        var h = new H();
        var a = new Assembler(32);
        a.nop();
        a.hlt();
        h.Load(a);
        h.Cpu.Eflags |= EFlags.IF;
        h.Platform.PendingVectors.Enqueue(0x30);
        h.Cpu.InterruptLine = true;
        var hv = new Scripted { OnExternalDo = cpu => InterceptAction.Stop };
        h.Cpu.Intercepts = hv;

        CpuExit exit = h.Cpu.Run(100);

        Assert.Equal(CpuExitReason.InterceptStop, exit.Reason);
        Assert.Equal(0, h.Platform.Acknowledges);
        Assert.True(h.Cpu.InterruptLine);
    }

    [Fact]
    public void AnInjectedPageFaultSetsCr2OnDeliveryAndIsNotInterceptedAgain()
    {
        var h = new H();
        var a = new Assembler(32);
        a.nop();
        a.hlt();
        h.Load(a);
        var hv = new Scripted();
        h.Cpu.Intercepts = hv;
        Assert.True(h.Cpu.InjectException(Vectors.PF, 6, 0xDEAD_0000));
        Assert.False(h.Cpu.InjectException(Vectors.GP, 0)); // one queued event at a time

        h.Cpu.Run(100);

        h.AssertStopped(Vectors.PF);
        Assert.Equal(0xDEAD_0000u, h.Cpu.Cr2);
        Assert.Empty(hv.Exceptions);
    }

    [Fact]
    public void TheInstructionMaskLeavesUnaskedOperationsAlone()
    {
        var h = new H();
        var a = new Assembler(32);
        a.xor(eax, eax);
        a.cpuid();
        a.rdtsc();
        a.hlt();
        h.Load(a);
        var hv = new Scripted();
        h.Cpu.Intercepts = hv;
        h.Cpu.InstructionIntercepts = Cpu.MaskOf(SensitiveOp.Rdtsc);

        h.RunUntilHalt();

        Assert.Equal([SensitiveOp.Rdtsc], hv.Instructions.Select(e => e.Op));
    }

    [Fact]
    public void TheSameBytesRunByTheKernelAndByAUserProgramAreTwoBlocks()
    {
        var h = new H();
        var a = new Assembler(32);
        a.mov(eax, 1);
        a.mov(ebx, 2);
        a.hlt();
        GuestProgram p = h.Load(a);
        var seen = new List<(uint Eip, int Cpl)>();
        h.Cpu.BlockDecoded = (in DecodedBlock b) => seen.Add((b.LinearEip, b.Cpl));

        h.RunUntilEip(p.End - 1);
        int kernelBlocks = seen.Count;
        h.EnterRing(3, p.Address, H.Ring3StackTop);
        h.RunUntilEip(p.End - 1);
        int userBlocks = seen.Count - kernelBlocks;
        h.EnterRing(0, p.Address, H.Ring0StackTop);
        h.RunUntilEip(p.End - 1);

        Assert.Contains((p.Address, 0), seen);
        Assert.Contains((p.Address, 3), seen);
        Assert.Equal(kernelBlocks, userBlocks);
        Assert.Equal(2 * kernelBlocks, seen.Count); // ring 0 again reuses the kernel's blocks
    }

    [Fact]
    public void ABackendHearsWhenCodeItSawBecomesStale()
    {
        var h = new H();
        var a = new Assembler(32);
        a.mov(__byte_ptr[H.CodeBase + 0x40], 0x90); // same 128-byte chunk as the running block
        a.hlt();
        h.Load(a);
        var pages = new List<uint>();
        h.Cpu.CodeInvalidated = page => pages.Add(page);

        h.RunUntilHalt();

        Assert.Equal([H.CodeBase >> 12], pages);
    }
}
