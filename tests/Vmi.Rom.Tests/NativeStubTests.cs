using Iced.Intel;
using Vmi.Abi;
using Vmi.Cpu;
using Xunit.Sdk;
using static Iced.Intel.AssemblerRegisters;
using M = Vmi.Rom.Tests.StubMachine;

namespace Vmi.Rom.Tests;

/// <summary>General-purpose registers, as a set (bit n is register n of <see cref="Reg"/>).</summary>
[Flags]
internal enum Gpr
{
    None = 0,
    Eax = 1 << Reg.Eax,
    Ecx = 1 << Reg.Ecx,
    Edx = 1 << Reg.Edx,
    Ebx = 1 << Reg.Ebx,
    Ebp = 1 << Reg.Ebp,
    Esi = 1 << Reg.Esi,
    Edi = 1 << Reg.Edi,
    EdxEax = Eax | Edx,
}

/// <summary>How a run of the call site ends.</summary>
internal enum Ending
{
    /// <summary>Back at the caller: the HLT after the call site.</summary>
    Returns,

    /// <summary>IRET/SYSEXIT: at <see cref="StubMachine.UserCode"/>, never back.</summary>
    LeavesToUserCode,

    /// <summary>Halts in the call; one interrupt wakes it and it returns.</summary>
    HaltsUntilInterrupt,

    /// <summary>Halts with interrupts off; a pending interrupt does not wake it.</summary>
    HaltsForever,

    /// <summary>The native instruction faults: both runs end in the handler of <see cref="Scenario.FaultVector"/>.</summary>
    Faults,
}

/// <summary>
/// One starting state for a call: the arguments, what the native code does from that state,
/// and concrete expectations that must hold after both the stub and the native code ran.
/// </summary>
internal sealed record Scenario(string Name, Action<Assembler> Native)
{
    public uint? Eax { get; init; }
    public uint? Edx { get; init; }
    public uint? Ecx { get; init; }

    /// <summary>Arguments beyond the third, first one at the lowest address (right above the return address).</summary>
    public uint[] Stack { get; init; } = [];

    public uint Eflags { get; init; } = M.BaseEflags;

    /// <summary>Extra machine state, applied before the TLB is warmed.</summary>
    public Action<StubMachine>? Prepare { get; init; }

    /// <summary>Registers the call returns; they must equal what the native code left.</summary>
    public Gpr Results { get; init; }

    public Ending Ending { get; init; } = Ending.Returns;

    public int FaultVector { get; init; } = -1;

    /// <summary>Concrete values after the run, checked on both machines (so the native reference is checked too).</summary>
    public Action<StubMachine>? Expect { get; init; }

    public override string ToString() => Name;
}

/// <summary>
/// For every VMI call, the native profile's stub (found through get_reloc, entered the way a
/// patched call site enters it) has the same effect as the native instruction(s) run from the
/// same state: registers the ABI preserves are preserved, results equal the native results, and
/// control registers, descriptor-table registers, segments, MSRs, debug registers, flags, the
/// TLB, memory and port traffic all match. Each call also has concrete expectations, so a
/// reference that is wrong in the same way as the stub is still caught.
/// </summary>
public sealed class NativeStubTests
{
    /// <summary>GetCycleFrequency's answer: above 4 GHz so that EDX carries a non-zero high dword.</summary>
    private const ulong Cycles = 0x0000_0002_540B_E400UL;

    /// <summary>Every call as a stub (the native profile keeps the timer and APIC calls native), the APIC at the test machine's.</summary>
    private static readonly VmiRom Rom = RomProfiles.AllStubs(Cycles, M.Apic);

    private static readonly Dictionary<VmiCall, Scenario[]> Table = BuildTable();

    public static TheoryData<VmiCall> Calls() => new(VmiCalls.All);

    [Fact]
    public void TheTableCoversEveryCall()
    {
        Assert.Equal(VmiCalls.Count, VmiCalls.All.Count);
        Assert.Equal(VmiCalls.All.OrderBy(c => c), Table.Keys.OrderBy(c => c));
        Assert.All(Table, row => Assert.NotEmpty(row.Value));
    }

    [Theory]
    [MemberData(nameof(Calls))]
    public void StubHasTheEffectOfTheNativeInstructions(VmiCall call)
    {
        RelocationInfo expected = Rom.ExpectedRelocation(call, M.RomPhysical);
        Assert.Equal(VmiCalls.NeverReturns(call) ? RelocationType.JumpRel : RelocationType.CallRel, expected.Type);
        foreach (Scenario s in Table[call])
        {
            StubMachine stub = Run(call, s, viaStub: true);
            StubMachine native = Run(call, s, viaStub: false);
            Assert.Equal(expected, stub.Relocation);
            List<string> differences = Compare(call, s, stub, native);
            Assert.True(differences.Count == 0, $"{VmiCalls.AbiName(call)} [{s.Name}]: stub differs from native:\n  {string.Join("\n  ", differences)}");
            Check(s, stub, "stub");
            Check(s, native, "native");
        }
    }

    private static StubMachine Run(VmiCall call, Scenario s, bool viaStub)
    {
        var m = new StubMachine(Rom, call, s.Prepare);
        uint target = m.Relocation.Eip;
        // A patched site: CALL rel32 to the stub, or JMP rel32 for the calls that never return.
        Action<Assembler> site = VmiCalls.NeverReturns(call) ? a => a.jmp(target) : a => a.call(target);
        m.Start(viaStub ? site : s.Native, s.Eax, s.Ecx, s.Edx, s.Stack, s.Eflags);
        if (VmiCalls.IsInterruptMaskCall(call))
        {
            m.NullDataSegments();
        }
        string who = $"{VmiCalls.AbiName(call)} [{s.Name}] {(viaStub ? "stub" : "native")}";
        CpuExit exit;
        switch (s.Ending)
        {
            case Ending.Returns:
                exit = m.Run();
                Assert.True(exit.Reason == CpuExitReason.Halted && m.Cpu.Eip == m.EndEip, $"{who} did not return: {m.Describe(exit)}");
                break;
            case Ending.LeavesToUserCode:
                Assert.True(m.StepUntil(M.UserCode), $"{who} did not reach the return address: {m.Describe()}");
                break;
            case Ending.HaltsUntilInterrupt:
                exit = m.Run();
                Assert.True(exit.Reason == CpuExitReason.Halted && m.Cpu.Eip != m.EndEip && m.FaultMark == 0, $"{who} did not halt: {m.Describe(exit)}");
                m.Cpu.InterruptLine = true;
                exit = m.Run();
                Assert.True(exit.Reason == CpuExitReason.Halted && m.Cpu.Eip == m.EndEip, $"{who} did not return after the wakeup interrupt: {m.Describe(exit)}");
                break;
            case Ending.HaltsForever:
                exit = m.Run();
                uint haltedAt = m.Cpu.Eip;
                Assert.True(exit.Reason == CpuExitReason.Halted && m.FaultMark == 0, $"{who} did not halt: {m.Describe(exit)}");
                m.Cpu.InterruptLine = true;
                exit = m.Run();
                Assert.True(exit.Reason == CpuExitReason.Halted && m.Cpu.Eip == haltedAt, $"{who} was woken by an interrupt: {m.Describe(exit)}");
                break;
            case Ending.Faults:
                exit = m.Run();
                Assert.True(exit.Reason == CpuExitReason.Halted && m.FaultMark == (0x100u | (uint)s.FaultVector), $"{who} did not take vector {s.FaultVector}: {m.Describe(exit)}");
                break;
        }
        if (s.Ending != Ending.Faults)
        {
            Assert.True(m.FaultMark == 0, $"{who} took an exception: {m.Describe()}");
        }
        return m;
    }

    /// <summary>Registers a call may change without returning anything in them (vmi-abi.md, calling convention).</summary>
    private static Gpr Clobbers(VmiCall call) =>
        VmiCalls.IsInterruptMaskCall(call) || VmiCalls.NeverReturns(call) || call == VmiCall.Cpuid
            ? Gpr.None
            : Gpr.Eax | Gpr.Ecx | Gpr.Edx;

    private static List<string> Compare(VmiCall call, Scenario s, StubMachine stub, StubMachine native)
    {
        var d = new List<string>();
        Vmi.Cpu.Cpu a = stub.Cpu, b = native.Cpu;

        void Same<T>(string what, T x, T y, string other = "native")
        {
            if (!EqualityComparer<T>.Default.Equals(x, y)) d.Add($"{what}: stub {Show(x)}, {other} {Show(y)}");
        }

        Gpr free = Clobbers(call) & ~s.Results;
        string[] names = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
        for (int r = 0; r < 8; r++)
        {
            if (r == Reg.Esp) continue;
            var g = (Gpr)(1 << r);
            if ((s.Results & g) != 0) Same(names[r], a[r], b[r]);
            else if ((free & g) == 0) Same($"{names[r]} (preserved)", a[r], stub.Entry[r], "at entry");
        }

        uint entryEsp = stub.Entry[Reg.Esp];
        switch (s.Ending)
        {
            case Ending.Returns or Ending.HaltsUntilInterrupt:
                Same("esp after return", a.Esp, entryEsp, "at entry");
                Same("native esp after return", b.Esp, entryEsp, "at entry");
                break;
            case Ending.HaltsForever or Ending.Faults:
                Same("esp (the stub's return address still pushed)", a.Esp, b.Esp - 4, "native - 4");
                break;
            default:
                Same("esp", a.Esp, b.Esp);
                break;
        }
        if (s.Ending is Ending.LeavesToUserCode or Ending.Faults) Same("eip", a.Eip, b.Eip);
        uint flagMask = s.Ending == Ending.LeavesToUserCode ? ~0u : ~EFlags.Arith;
        Same("eflags (all but arithmetic flags, which calls may clobber)", a.Eflags & flagMask, b.Eflags & flagMask);
        Same("cpl", a.Cpl, b.Cpl);
        for (int sr = 0; sr < 6; sr++)
        {
            SegmentCache x = a.Segment(sr), y = b.Segment(sr);
            Same(SegReg.Names[sr], (x.Selector, x.Base, x.Limit, x.Attributes, x.Usable), (y.Selector, y.Base, y.Limit, y.Attributes, y.Usable));
        }
        Same("cr0", a.Cr0, b.Cr0);
        Same("cr2", a.Cr2, b.Cr2);
        Same("cr3", a.Cr3, b.Cr3);
        Same("cr4", a.Cr4, b.Cr4);
        for (int i = 0; i < 8; i++) Same($"dr{i}", a.Dr[i], b.Dr[i]);
        Same("gdtr", Fields(a.Gdtr), Fields(b.Gdtr));
        Same("idtr", Fields(a.Idtr), Fields(b.Idtr));
        Same("ldtr", Fields(a.Ldtr), Fields(b.Ldtr));
        Same("tr", Fields(a.Tr), Fields(b.Tr));
        Same("sysenter msrs", (a.SysenterCs, a.SysenterEsp, a.SysenterEip), (b.SysenterCs, b.SysenterEsp, b.SysenterEip));
        a.TryReadMsr(0x10, out ulong tscA);
        b.TryReadMsr(0x10, out ulong tscB);
        Same("tsc msr", tscA, tscB);
        Same("halted", a.Halted, b.Halted);
        Same("interrupt line", a.InterruptLine, b.InterruptLine);
        foreach (uint page in new[] { M.ProbeA, M.ProbeB, M.ProbeGlobal })
        {
            Same($"tlb entry for 0x{page:X}", a.TlbHasEntry(page), b.TlbHasEntry(page));
        }
        Same("port accesses", string.Join(", ", stub.Platform.Log), string.Join(", ", native.Platform.Log));
        CompareRam(stub.Ram(), native.Ram(), d);
        return d;

        static (ushort, uint, uint, int) Fields(TableRegister t) => (t.Selector, t.Base, t.Limit, t.Type);
    }

    /// <summary>All RAM but the call-site page (different code) and the kernel stack page (the stub's return address).</summary>
    private static void CompareRam(uint[] x, uint[] y, List<string> d)
    {
        (uint From, uint To)[] ranges = [(0, M.Code), (M.Code + 0x1000, M.StackPage), (M.StackTop, M.RamSize)];
        foreach ((uint from, uint to) in ranges)
        {
            int start = (int)(from / 4), length = (int)((to - from) / 4);
            int same = x.AsSpan(start, length).CommonPrefixLength(y.AsSpan(start, length));
            if (same < length)
            {
                int at = start + same;
                d.Add($"memory at 0x{at * 4:X}: stub 0x{x[at]:X8}, native 0x{y[at]:X8}");
            }
        }
    }

    private static string Show<T>(T v) => v switch
    {
        uint u => $"0x{u:X8}",
        ulong u => $"0x{u:X16}",
        _ => v?.ToString() ?? "null",
    };

    private static void Check(Scenario s, StubMachine m, string which)
    {
        try
        {
            s.Expect?.Invoke(m);
        }
        catch (XunitException e)
        {
            throw new XunitException($"[{s.Name}] expectation failed on the {which} run: {e.Message}");
        }
    }

    // ---- the table ------------------------------------------------------------------------

    private static Scenario Nothing(string name = "no effect on bare hardware") => new(name, _ => { })
    {
        // A hypervisor-only call: nothing at all changes but the clobbered registers.
        Expect = m =>
        {
            Assert.Empty(m.Platform.Log);
            Assert.True(m.Cpu.TlbHasEntry(M.ProbeA) && m.Cpu.TlbHasEntry(M.ProbeGlobal));
            Assert.Equal(M.PageDirA, m.Cpu.Cr3);
        },
    };

    private static void Add(Dictionary<VmiCall, Scenario[]> t, VmiCall call, params Scenario[] scenarios) => t.Add(call, scenarios);

    private static int DrIndex(int n) => n switch { 4 => 6, 5 => 7, _ => n };

    private static bool HasErrorCode(int vector) => vector is 8 or (>= 10 and <= 14) or 17;

    /// <summary>The faulting instruction's address in the exception frame (past the error code, if any).</summary>
    private static uint FaultingEip(StubMachine m, int vector) => m.Memory.Read32(m.Cpu.Esp + (HasErrorCode(vector) ? 4u : 0));

    private static void ExpectFaultAt(StubMachine m, int vector, byte opcode)
    {
        uint eip = FaultingEip(m, vector);
        Assert.Equal(new byte[] { 0x0F, opcode }, new[] { m.Memory.Read8(eip), m.Memory.Read8(eip + 1) });
        if (HasErrorCode(vector)) Assert.Equal(0u, m.Memory.Read32(m.Cpu.Esp));
    }

    private static Dictionary<VmiCall, Scenario[]> BuildTable()
    {
        var t = new Dictionary<VmiCall, Scenario[]>();
        const Gpr All4 = Gpr.Eax | Gpr.Ebx | Gpr.Ecx | Gpr.Edx;

        Add(t, VmiCall.Cpuid,
            new Scenario("leaf 0", a => a.cpuid())
            {
                Eax = 0,
                Ecx = 0,
                Results = All4,
                Expect = m =>
                {
                    Assert.Equal(1u, m.Cpu.Eax);
                    Assert.Equal(0x756E_6547u, m.Cpu.Ebx); // "Genu"
                    Assert.Equal(0x4965_6E69u, m.Cpu.Edx); // "ineI"
                    Assert.Equal(0x6C65_746Eu, m.Cpu.Ecx); // "ntel"
                },
            },
            new Scenario("leaf 1", a => a.cpuid())
            {
                Eax = 1,
                Ecx = 0,
                Results = All4,
                Expect = m =>
                {
                    Assert.Equal(CpuModel.Plain.Signature, m.Cpu.Eax);
                    Assert.Equal(CpuModel.Plain.FeaturesEdx & CpuidBits.ImplementedEdx, m.Cpu.Edx);
                },
            },
            new Scenario("leaf 0x80000000", a => a.cpuid()) { Eax = 0x8000_0000, Ecx = 0, Results = All4, Expect = m => Assert.Equal(0x8000_0004u, m.Cpu.Eax) },
            new Scenario("leaf 0x80000002 subleaf 7", a => a.cpuid()) { Eax = 0x8000_0002, Ecx = 7, Results = All4, Expect = m => Assert.Equal(0x2069_6D76u, m.Cpu.Eax) }); // "vmi "

        var msrs = new (uint Msr, ulong Value, Func<Vmi.Cpu.Cpu, ulong> Read)[]
        {
            (0x174, 0x60, c => c.SysenterCs),
            (0x175, 0x8_8000, c => c.SysenterEsp),
            (0x176, 0xC010_0000, c => c.SysenterEip),
            (0x10, 0x0000_00AB_8765_4321, c => c.TryReadMsr(0x10, out ulong v) ? v : 0),
        };
        Add(t, VmiCall.Wrmsr, [.. msrs.Select(x => new Scenario($"msr 0x{x.Msr:X}", a =>
        {
            a.mov(ecx, x.Msr);
            a.mov(eax, (uint)x.Value);
            a.mov(edx, (uint)(x.Value >> 32));
            a.wrmsr();
        })
        {
            Eax = x.Msr, Edx = (uint)x.Value, Ecx = (uint)(x.Value >> 32),
            Expect = m => Assert.Equal(x.Value, x.Read(m.Cpu)),
        })]);
        var reads = new (uint Msr, ulong Value)[] { (0x174, M.BaseSysenterCs), (0x175, M.BaseSysenterEsp), (0x176, M.BaseSysenterEip), (0x10, RecordingPlatform.Tsc) };
        Add(t, VmiCall.Rdmsr, [.. reads.Select(x => new Scenario($"msr 0x{x.Msr:X}", a => { a.mov(ecx, eax); a.rdmsr(); })
        {
            Eax = x.Msr, Results = Gpr.EdxEax,
            Expect = m => Assert.Equal(x.Value, ((ulong)m.Cpu.Edx << 32) | m.Cpu.Eax),
        })]);

        // Descriptor-table registers from and to 6-byte images.
        Add(t, VmiCall.SetGdt, new Scenario("load image", a => a.lgdt(__[eax]))
        {
            Eax = M.Images,
            Prepare = m => WriteImage(m, M.Images, 0xFF, 0x0001_8000),
            Expect = m => Assert.Equal((0x0001_8000u, 0xFFu), (m.Cpu.Gdtr.Base, m.Cpu.Gdtr.Limit)),
        });
        Add(t, VmiCall.SetIdt, new Scenario("load image", a => a.lidt(__[eax]))
        {
            Eax = M.Images + 8,
            Prepare = m => WriteImage(m, M.Images + 8, 0x3FF, 0x0001_9000),
            Expect = m => Assert.Equal((0x0001_9000u, 0x3FFu), (m.Cpu.Idtr.Base, m.Cpu.Idtr.Limit)),
        });
        Add(t, VmiCall.GetGdt, new Scenario("store image", a => a.sgdt(__[eax]))
        {
            Eax = M.Images + 0x20,
            Expect = m => ExpectImage(m, M.Images + 0x20, M.GdtLimit, M.Gdt),
        });
        Add(t, VmiCall.GetIdt, new Scenario("store image", a => a.sidt(__[eax]))
        {
            Eax = M.Images + 0x30,
            Expect = m => ExpectImage(m, M.Images + 0x30, M.IdtLimit, M.Idt),
        });

        // LDT and task register from real descriptors in the GDT.
        Add(t, VmiCall.SetLdt,
            new Scenario("second LDT", a => a.lldt(ax))
            {
                Eax = M.LdtBSel,
                Expect = m => Assert.Equal((M.LdtBSel, M.LdtB, M.LdtLimit), (m.Cpu.Ldtr.Selector, m.Cpu.Ldtr.Base, m.Cpu.Ldtr.Limit)),
            },
            new Scenario("null selector", a => a.lldt(ax)) { Eax = 0, Expect = m => Assert.Equal(0, m.Cpu.Ldtr.Selector) });
        Add(t, VmiCall.SetTr, new Scenario("second TSS", a => a.ltr(ax))
        {
            Eax = M.TssBSel,
            Expect = m =>
            {
                Assert.Equal((M.TssBSel, M.TssB, M.TssLimit), (m.Cpu.Tr.Selector, m.Cpu.Tr.Base, m.Cpu.Tr.Limit));
                Assert.Equal(0x8Bu, (m.Memory.Read32(M.Gdt + M.TssBSel + 4) >> 8) & 0xFF); // marked busy
            },
        });
        Add(t, VmiCall.GetLdt, new Scenario("loaded LDT", a => a.sldt(eax)) { Results = Gpr.Eax, Expect = m => Assert.Equal((uint)M.LdtASel, m.Cpu.Eax) });
        Add(t, VmiCall.GetTr, new Scenario("loaded TSS", a => a.str(eax)) { Results = Gpr.Eax, Expect = m => Assert.Equal((uint)M.TssASel, m.Cpu.Eax) });

        // Write*Entry(table, index, low, [stack] high).
        Add(t, VmiCall.WriteGdtEntry, WriteEntry(M.Gdt, 12, M.Descriptor(0x0012_3000, 0xF_FFFF, 0xF3, 0xC)));
        Add(t, VmiCall.WriteLdtEntry, WriteEntry(M.LdtA, 2, M.Descriptor(0, 0xF_FFFF, 0xFB, 0xC)));
        Add(t, VmiCall.WriteIdtEntry, WriteEntry(M.Idt, 0x41, (0x0008_5678, 0x0010_EE00)));

        // (SS0 selector, esp0) as Linux passes them, after it stored esp0 in its own TSS: on bare
        // hardware nothing more happens. (The stub once wrote EDX to [EAX+4], i.e. to 0x14 for
        // __KERNEL_DS: Linux 2.6.32 faulted there.)
        Add(t, VmiCall.UpdateKernelStack, Nothing("after the kernel's own TSS write") with
        {
            Eax = M.KernelDs,
            Edx = 0x8_E000,
            Prepare = m => m.Memory.Write32(M.TssA + 4, 0x8_E000),
            Expect = m =>
            {
                Assert.Equal(0x8_E000u, m.Memory.Read32(M.TssA + 4));
                Assert.Equal((uint)M.KernelDs, m.Memory.Read32(M.TssA + 8)); // ss0 untouched
                Assert.Empty(m.Platform.Log);
            },
        });

        // Control registers.
        Add(t, VmiCall.SetCr0,
            new Scenario("set TS", a => a.mov(cr0, eax)) { Eax = M.BaseCr0 | Cr0Bits.TS, Expect = m => Assert.Equal(M.BaseCr0 | Cr0Bits.TS, m.Cpu.Cr0) },
            new Scenario("clear WP (flushes the TLB)", a => a.mov(cr0, eax))
            {
                Eax = M.BaseCr0 & ~Cr0Bits.WP,
                Expect = m =>
                {
                    Assert.Equal(M.BaseCr0 & ~Cr0Bits.WP, m.Cpu.Cr0);
                    Assert.False(m.Cpu.TlbHasEntry(M.ProbeA));
                },
            });
        Add(t, VmiCall.SetCr2, new Scenario("value", a => a.mov(cr2, eax)) { Eax = 0xDEAD_B000, Expect = m => Assert.Equal(0xDEAD_B000u, m.Cpu.Cr2) });
        Add(t, VmiCall.SetCr3, new Scenario("other page directory", a => a.mov(cr3, eax))
        {
            Eax = M.PageDirB,
            Expect = m =>
            {
                Assert.Equal(M.PageDirB, m.Cpu.Cr3);
                Assert.False(m.Cpu.TlbHasEntry(M.ProbeA));     // stale non-global entries are gone
                Assert.False(m.Cpu.TlbHasEntry(M.ProbeB));
                Assert.True(m.Cpu.TlbHasEntry(M.ProbeGlobal)); // a global one survives (CR4.PGE)
            },
        });
        Add(t, VmiCall.SetCr4,
            new Scenario("add DE", a => a.mov(cr4, eax))
            {
                Eax = M.BaseCr4 | Cr4Bits.DE,
                Expect = m =>
                {
                    Assert.Equal(M.BaseCr4 | Cr4Bits.DE, m.Cpu.Cr4);
                    Assert.True(m.Cpu.TlbHasEntry(M.ProbeA));
                },
            },
            new Scenario("clear PGE (flushes global pages)", a => a.mov(cr4, eax))
            {
                Eax = 0,
                Expect = m =>
                {
                    Assert.Equal(0u, m.Cpu.Cr4);
                    Assert.False(m.Cpu.TlbHasEntry(M.ProbeGlobal));
                },
            });
        Add(t, VmiCall.GetCr0, new Scenario("value", a => a.mov(eax, cr0)) { Results = Gpr.Eax, Expect = m => Assert.Equal(M.BaseCr0, m.Cpu.Eax) });
        Add(t, VmiCall.GetCr2, new Scenario("value", a => a.mov(eax, cr2)) { Results = Gpr.Eax, Expect = m => Assert.Equal(M.BaseCr2, m.Cpu.Eax) });
        Add(t, VmiCall.GetCr3, new Scenario("value", a => a.mov(eax, cr3)) { Results = Gpr.Eax, Expect = m => Assert.Equal(M.PageDirA, m.Cpu.Eax) });
        Add(t, VmiCall.GetCr4, new Scenario("value", a => a.mov(eax, cr4)) { Results = Gpr.Eax, Expect = m => Assert.Equal(M.BaseCr4, m.Cpu.Eax) });
        Add(t, VmiCall.Wbinvd, new Scenario("no visible state", a => a.wbinvd()) { Expect = m => Assert.True(m.Cpu.TlbHasEntry(M.ProbeA)) });

        // Debug registers, by number; DR4/DR5 alias DR6/DR7 unless CR4.DE makes them #UD.
        AssemblerRegisterDR[] drs = [dr0, dr1, dr2, dr3, dr4, dr5, dr6, dr7];
        Add(t, VmiCall.SetDr,
        [
            .. Enumerable.Range(0, 8).Select(n => new Scenario($"dr{n}", a => a.mov(drs[n], edx))
            {
                Eax = (uint)n, Edx = 0x0BAD_0000u + (uint)n,
                // DR6 and DR7 keep their fixed bits (DR6 4-11 and 16-31 read 1, DR7 bit 10 reads 1, 11/12/14/15 read 0).
                Expect = m => Assert.Equal(
                    DrIndex(n) switch
                    {
                        6 => (0x0BAD_0000u + (uint)n) | DebugBits.Dr6Fixed1,
                        7 => ((0x0BAD_0000u + (uint)n) & DebugBits.Dr7Writable) | DebugBits.Dr7Fixed1,
                        _ => 0x0BAD_0000u + (uint)n,
                    },
                    m.Cpu.Dr[DrIndex(n)]),
            }),
            new Scenario("dr5 with CR4.DE", a => a.mov(dr5, edx))
            {
                Eax = 5, Edx = 0x0BAD_0005, Prepare = m => m.Cpu.TrySetControlRegister(4, M.BaseCr4 | Cr4Bits.DE),
                Ending = Ending.Faults, FaultVector = Vectors.UD, Expect = m => ExpectFaultAt(m, Vectors.UD, 0x23),
            },
        ]);
        Add(t, VmiCall.GetDr,
        [
            .. Enumerable.Range(0, 8).Select(n => new Scenario($"dr{n}", a => a.mov(eax, drs[n]))
            {
                Eax = (uint)n, Results = Gpr.Eax,
                Expect = m => Assert.Equal(M.BaseDr[DrIndex(n)], m.Cpu.Eax),
            }),
            new Scenario("dr4 with CR4.DE", a => a.mov(eax, dr4))
            {
                Eax = 4, Prepare = m => m.Cpu.TrySetControlRegister(4, M.BaseCr4 | Cr4Bits.DE),
                Ending = Ending.Faults, FaultVector = Vectors.UD, Expect = m => ExpectFaultAt(m, Vectors.UD, 0x21),
            },
        ]);
        // This CPU has no performance counters: RDPMC raises #GP(0) natively, and so must the stub.
        Add(t, VmiCall.Rdpmc, new Scenario("counter 0", a => { a.mov(ecx, eax); a.rdpmc(); })
        {
            Eax = 0,
            Ending = Ending.Faults,
            FaultVector = Vectors.GP,
            Expect = m => ExpectFaultAt(m, Vectors.GP, 0x33),
        });

        // Time.
        Scenario tsc = new("platform clock", a => a.rdtsc())
        {
            Results = Gpr.EdxEax,
            Expect = m => Assert.Equal(RecordingPlatform.Tsc, ((ulong)m.Cpu.Edx << 32) | m.Cpu.Eax),
        };
        Add(t, VmiCall.Rdtsc, tsc);
        Add(t, VmiCall.GetCycleCounter, tsc);
        Add(t, VmiCall.GetCycleFrequency, new Scenario("built-in frequency", a => { a.mov(eax, unchecked((uint)Cycles)); a.mov(edx, (uint)(Cycles >> 32)); })
        {
            Results = Gpr.EdxEax,
            Expect = m => Assert.Equal(Cycles, ((ulong)m.Cpu.Edx << 32) | m.Cpu.Eax),
        });
        Add(t, VmiCall.GetWallclockTime, new Scenario("no wallclock", a => { a.xor(eax, eax); a.xor(edx, edx); })
        {
            Results = Gpr.EdxEax,
            Expect = m => Assert.Equal((0u, 0u), (m.Cpu.Edx, m.Cpu.Eax)),
        });
        Add(t, VmiCall.WallclockUpdated, new Scenario("never", a => a.xor(eax, eax)) { Results = Gpr.Eax, Expect = m => Assert.Equal(0u, m.Cpu.Eax) });
        Add(t, VmiCall.SetAlarm, Nothing() with { Eax = 1, Edx = 0x1000, Ecx = 0, Stack = [0x2000, 0] });
        Add(t, VmiCall.CancelAlarm, Nothing() with { Eax = 1 });

        Add(t, VmiCall.Clts, new Scenario("TS set", a => a.clts())
        {
            Prepare = m => m.Cpu.TrySetControlRegister(0, M.BaseCr0 | Cr0Bits.TS),
            Expect = m => Assert.Equal(M.BaseCr0, m.Cpu.Cr0),
        });

        // Interrupt flag: only flags (and GetInterruptMask's EAX) may change; DS/ES/FS/GS are null.
        const uint noIf = M.BaseEflags & ~EFlags.IF;
        Add(t, VmiCall.EnableInterrupts,
            new Scenario("from disabled", a => a.sti()) { Eflags = noIf, Expect = m => Assert.True(m.Cpu.IF) },
            new Scenario("already enabled", a => a.sti()) { Expect = m => Assert.True(m.Cpu.IF) });
        Add(t, VmiCall.DisableInterrupts,
            new Scenario("from enabled", a => a.cli()) { Expect = m => Assert.False(m.Cpu.IF) },
            new Scenario("already disabled", a => a.cli()) { Eflags = noIf, Expect = m => Assert.False(m.Cpu.IF) });
        Add(t, VmiCall.GetInterruptMask,
            new Scenario("enabled", a => { a.pushfd(); a.pop(eax); a.and(eax, 0x200); }) { Results = Gpr.Eax, Expect = m => Assert.Equal(0x200u, m.Cpu.Eax) },
            new Scenario("disabled", a => { a.pushfd(); a.pop(eax); a.and(eax, 0x200); }) { Eflags = noIf, Results = Gpr.Eax, Expect = m => Assert.Equal(0u, m.Cpu.Eax) });
        Add(t, VmiCall.SetInterruptMask,
        [
            .. from bool before in new[] { false, true }
               from uint mask in new[] { 0u, CallArguments.InterruptsEnabled }
               select new Scenario($"IF {(before ? 1 : 0)} → mask 0x{mask:X}", mask != 0 ? a => a.sti() : a => a.cli())
               {
                   Eax = mask, Eflags = before ? M.BaseEflags : noIf,
                   Expect = m => Assert.Equal(mask != 0, m.Cpu.IF),
               },
        ]);

        // IRET and SYSEXIT: entered by a jump, land in (user) code, keep every GPR.
        Add(t, VmiCall.Iret,
            new Scenario("to ring 3", a => a.iretd())
            {
                Stack = [M.UserCode, M.UserCs, 0x0000_0A03, M.UserStack, M.UserDs],
                Ending = Ending.LeavesToUserCode,
                Expect = m =>
                {
                    Assert.Equal((M.UserCs, M.UserDs, 3), (m.Cpu.Segment(SegReg.Cs).Selector, m.Cpu.Segment(SegReg.Ss).Selector, m.Cpu.Cpl));
                    Assert.Equal((M.UserStack, 0x0000_0A03u), (m.Cpu.Esp, m.Cpu.Eflags));
                    Assert.Equal(0, m.Cpu.Segment(SegReg.Ds).Selector); // kernel data segments do not leak to ring 3
                },
            },
            new Scenario("to ring 0, interrupts off", a => a.iretd())
            {
                Stack = [M.UserCode, M.KernelCs, 0x0000_0046],
                Ending = Ending.LeavesToUserCode,
                Expect = m =>
                {
                    Assert.Equal((M.KernelCs, 0), (m.Cpu.Segment(SegReg.Cs).Selector, m.Cpu.Cpl));
                    Assert.Equal((M.StackTop, 0x0000_0046u), (m.Cpu.Esp, m.Cpu.Eflags));
                },
            });
        Add(t, VmiCall.Sysexit, new Scenario("sti; sysexit", a => { a.sti(); a.sysexit(); })
        {
            Edx = M.UserCode,
            Ecx = M.UserStack,
            Eflags = noIf,
            Ending = Ending.LeavesToUserCode,
            Expect = m =>
            {
                Assert.Equal((M.UserCs, M.UserDs, 3), (m.Cpu.Segment(SegReg.Cs).Selector, m.Cpu.Segment(SegReg.Ss).Selector, m.Cpu.Cpl));
                Assert.Equal(M.UserStack, m.Cpu.Esp);
                Assert.True(m.Cpu.IF); // user mode runs with interrupts enabled
            },
        });

        // Halting.
        Add(t, VmiCall.Halt,
            new Scenario("safe halt from interrupts disabled", a => { a.sti(); a.hlt(); })
            {
                Eflags = noIf,
                Ending = Ending.HaltsUntilInterrupt,
                Expect = m => Assert.Equal((true, 1u), (m.Cpu.IF, m.WakeCount)),
            },
            new Scenario("interrupts already enabled", a => { a.sti(); a.hlt(); })
            {
                Ending = Ending.HaltsUntilInterrupt,
                Expect = m => Assert.Equal((true, 1u), (m.Cpu.IF, m.WakeCount)),
            });
        Add(t, VmiCall.Reboot,
        [
            .. new[] { CallArguments.RebootSoft, CallArguments.RebootHard }.Select(kind => new Scenario($"kind {kind}", a =>
            {
                Label again = a.CreateLabel();
                a.mov(al, 0xFE);
                a.@out(0x64, al);
                a.cli();
                a.Label(ref again);
                a.hlt();
                a.jmp(again);
            })
            {
                Eax = kind, Ending = Ending.HaltsForever,
                Expect = m =>
                {
                    Assert.Equal(new[] { new PortAccess(true, 0x64, 1, 0xFE) }, m.Platform.Log);
                    Assert.Equal((false, 0u), (m.Cpu.IF, m.WakeCount));
                },
            }),
        ]);
        Add(t, VmiCall.Shutdown, new Scenario("halt with interrupts off", a =>
        {
            Label again = a.CreateLabel();
            a.cli();
            a.Label(ref again);
            a.hlt();
            a.jmp(again);
        })
        {
            Ending = Ending.HaltsForever,
            Expect = m =>
            {
                Assert.Empty(m.Platform.Log);
                Assert.Equal((false, 0u), (m.Cpu.IF, m.WakeCount));
            },
        });

        // Page tables.
        const uint pte = 0x0030_2067, pteFlags = (uint)(PxEFlags.Pt | PxEFlags.CurrentAs) | M.ProbeGlobal;
        Add(t, VmiCall.SetPxE, new Scenario("write entry", a => a.mov(__dword_ptr[M.PteTable + 0x10], pte))
        {
            Eax = pte,
            Edx = M.PteTable + 0x10,
            Ecx = pteFlags,
            Expect = m =>
            {
                Assert.Equal(pte, m.Memory.Read32(M.PteTable + 0x10));
                Assert.Equal(0x0BAD_0005u, m.Memory.Read32(M.PteTable + 0x14));
            },
        });
        Add(t, VmiCall.SetPxELong, new Scenario("write 64-bit entry", a =>
        {
            a.mov(__dword_ptr[M.PteTable + 0x24], 0x8000_0000);
            a.mov(__dword_ptr[M.PteTable + 0x20], pte);
        })
        {
            Eax = pte,
            Edx = 0x8000_0000,
            Ecx = M.PteTable + 0x20,
            Stack = [pteFlags],
            Expect = m => Assert.Equal((pte, 0x8000_0000u), (m.Memory.Read32(M.PteTable + 0x20), m.Memory.Read32(M.PteTable + 0x24))),
        });
        Scenario Announce(string name) => Nothing(name) with
        {
            Expect = m =>
            {
                Assert.Equal(0x0BAD_0004u, m.Memory.Read32(M.PteTable + 0x10)); // the entry is the kernel's to write
                Assert.True(m.Cpu.TlbHasEntry(M.ProbeGlobal));
                Assert.Empty(m.Platform.Log);
            },
        };
        Add(t, VmiCall.UpdatePxE, Announce("entry already written") with { Eax = M.PteTable + 0x10, Edx = pteFlags | (uint)PxEFlags.Defer });
        Add(t, VmiCall.UpdatePxELong, Announce("entry already written") with { Eax = M.PteTable + 0x10, Edx = pteFlags });
        Add(t, VmiCall.AllocatePage, Announce("zeroed page-table page") with
        {
            Eax = M.PteTable >> 12,
            Edx = (uint)PxEFlags.Pt | (uint)AllocatePageFlags.Zeroed,
            Ecx = 0,
            Stack = [0, 0],
        });
        Add(t, VmiCall.ReleasePage, Announce("page-table page") with { Eax = M.PteTable >> 12, Edx = (uint)PxEFlags.Pt });
        Add(t, VmiCall.SetLinearMapping, Nothing() with { Eax = 0, Edx = 0xC000_0000, Ecx = 0x400, Stack = [0] });
        Add(t, VmiCall.SetLazyMode,
            Nothing("mmu") with { Eax = (uint)LazyMode.Mmu },
            Nothing("cpu") with { Eax = (uint)LazyMode.Cpu },
            Nothing("off") with { Eax = (uint)LazyMode.Off });
        Add(t, VmiCall.MachineToPhysical, new Scenario("identity", _ => { }) { Eax = 0x0001_2345, Results = Gpr.Eax, Expect = m => Assert.Equal(0x0001_2345u, m.Cpu.Eax) });
        Add(t, VmiCall.PhysicalToMachine, new Scenario("identity", _ => { }) { Eax = 0x0000_0BCD, Results = Gpr.Eax, Expect = m => Assert.Equal(0x0000_0BCDu, m.Cpu.Eax) });

        // TLB.
        Add(t, VmiCall.InvalPage,
            new Scenario("non-global page", a => a.invlpg(__[eax]))
            {
                Eax = M.ProbeA + 0x123,
                Expect = m => Assert.Equal((false, true, true), (m.Cpu.TlbHasEntry(M.ProbeA), m.Cpu.TlbHasEntry(M.ProbeB), m.Cpu.TlbHasEntry(M.ProbeGlobal))),
            },
            new Scenario("global page", a => a.invlpg(__[eax]))
            {
                Eax = M.ProbeGlobal,
                Expect = m => Assert.Equal((true, true, false), (m.Cpu.TlbHasEntry(M.ProbeA), m.Cpu.TlbHasEntry(M.ProbeB), m.Cpu.TlbHasEntry(M.ProbeGlobal))),
            });
        Action<Assembler> reloadCr3 = a => { a.mov(eax, cr3); a.mov(cr3, eax); };
        Add(t, VmiCall.FlushTlb,
            new Scenario("non-global", reloadCr3)
            {
                Eax = CallArguments.FlushTlbNonGlobal,
                Expect = m => Assert.Equal((false, false, true), (m.Cpu.TlbHasEntry(M.ProbeA), m.Cpu.TlbHasEntry(M.ProbeB), m.Cpu.TlbHasEntry(M.ProbeGlobal))),
            },
            new Scenario("global, CR4.PGE set", a =>
            {
                // Linux's __flush_tlb_global: clearing PGE drops global entries too.
                a.mov(ecx, cr4);
                a.mov(edx, ecx);
                a.and(edx, ~(int)Cr4Bits.PGE);
                a.mov(cr4, edx);
                a.mov(eax, cr3);
                a.mov(cr3, eax);
                a.mov(cr4, ecx);
            })
            {
                Eax = CallArguments.FlushTlbNonGlobal | CallArguments.FlushTlbGlobal,
                Expect = m =>
                {
                    Assert.Equal((false, false, false), (m.Cpu.TlbHasEntry(M.ProbeA), m.Cpu.TlbHasEntry(M.ProbeB), m.Cpu.TlbHasEntry(M.ProbeGlobal)));
                    Assert.Equal(M.BaseCr4, m.Cpu.Cr4);
                },
            },
            new Scenario("global, CR4.PGE clear", reloadCr3)
            {
                // Without PGE no entry is global and a CR3 reload flushes everything.
                Eax = CallArguments.FlushTlbNonGlobal | CallArguments.FlushTlbGlobal,
                Prepare = m => m.Cpu.TrySetControlRegister(4, 0),
                Expect = m =>
                {
                    Assert.Equal((false, false, false), (m.Cpu.TlbHasEntry(M.ProbeA), m.Cpu.TlbHasEntry(M.ProbeB), m.Cpu.TlbHasEntry(M.ProbeGlobal)));
                    Assert.Equal(0u, m.Cpu.Cr4);
                },
            });

        // Port I/O.
        Add(t, VmiCall.Inl, In(0x0CFC, 4, a => a.@in(eax, dx)));
        Add(t, VmiCall.Inb, In(0x03F8, 1, a => { a.@in(al, dx); a.movzx(eax, al); }));
        Add(t, VmiCall.Inw, In(0x01CE, 2, a => { a.@in(ax, dx); a.movzx(eax, ax); }));
        Add(t, VmiCall.Outl, Out(0x0CF8, 4, a => a.@out(dx, eax)));
        Add(t, VmiCall.Outb, Out(0x03F8, 1, a => a.@out(dx, al)));
        Add(t, VmiCall.Outw, Out(0x01CE, 2, a => a.@out(dx, ax)));
        Add(t, VmiCall.Insl, Ins(0x01F0, 4, a => a.rep.insd()));
        Add(t, VmiCall.Insb, Ins(0x0060, 1, a => a.rep.insb()));
        Add(t, VmiCall.Insw, Ins(0x01F0, 2, a => a.rep.insw()));
        Add(t, VmiCall.Outsl, Outs(0x01F0, 4, a => a.rep.outsd()));
        Add(t, VmiCall.Outsb, Outs(0x03F8, 1, a => a.rep.outsb()));
        Add(t, VmiCall.Outsw, Outs(0x01F0, 2, a => a.rep.outsw()));
        Add(t, VmiCall.IoDelay, new Scenario("port 0x80", a => a.@out(0x80, al))
        {
            Expect = m => Assert.Equal(new[] { new PortAccess(true, 0x80, 1, M.BaseGprs[Reg.Eax] & 0xFF) }, m.Platform.Log),
        });
        Add(t, VmiCall.SetIoplMask,
            new Scenario("IOPL 1", IoplNative(0x1000)) { Eax = 0x1000, Expect = m => Assert.Equal(0x1000u, m.Cpu.Eflags & EFlags.IoplMask) },
            new Scenario("IOPL 3 → 0", IoplNative(0)) { Eax = 0, Eflags = M.BaseEflags | EFlags.IoplMask, Expect = m => Assert.Equal(0u, m.Cpu.Eflags & EFlags.IoplMask) });

        // Local APIC registers are memory; the kernel passes the register offset (Linux's apic_read(reg)).
        Add(t, VmiCall.ApicWrite, new Scenario("ICR low", a => a.mov(__dword_ptr[eax + M.Apic], edx))
        {
            Eax = 0x300,
            Edx = 0x000C_4500,
            Expect = m => Assert.Equal((0x000C_4500u, 0xA91C_0304u), (m.Memory.Read32(M.Apic + 0x300), m.Memory.Read32(M.Apic + 0x304))),
        });
        Add(t, VmiCall.ApicRead,
            new Scenario("ID", a => a.mov(eax, __dword_ptr[eax + M.Apic])) { Eax = 0x20, Results = Gpr.Eax, Expect = m => Assert.Equal(0xA91C_0020u, m.Cpu.Eax) },
            new Scenario("TPR", a => a.mov(eax, __dword_ptr[eax + M.Apic])) { Eax = 0x80, Results = Gpr.Eax, Expect = m => Assert.Equal(0xA91C_0080u, m.Cpu.Eax) });

        Add(t, VmiCall.SetInitialApState, Nothing() with { Eax = M.Images, Edx = 1 });
        Add(t, VmiCall.SetCallbacks, Nothing() with { Eax = M.Images });
        return t;
    }

    private static void WriteImage(StubMachine m, uint at, ushort limit, uint @base)
    {
        m.Memory.Load(at, BitConverter.GetBytes(limit));
        m.Memory.Write32(at + 2, @base);
    }

    private static void ExpectImage(StubMachine m, uint at, uint limit, uint @base)
    {
        Assert.Equal(limit, m.Memory.Read16(at));
        Assert.Equal(@base, m.Memory.Read32(at + 2));
        Assert.Equal(0xCC, m.Memory.Read8(at + 6)); // exactly six bytes
    }

    private static Scenario WriteEntry(uint table, uint index, (uint Low, uint High) e) =>
        new($"entry {index}", a =>
        {
            a.mov(__dword_ptr[table + index * 8], e.Low);
            a.mov(__dword_ptr[table + index * 8 + 4], e.High);
        })
        {
            Eax = table,
            Edx = index,
            Ecx = e.Low,
            Stack = [e.High],
            Expect = m =>
            {
                Assert.Equal(e, (m.Memory.Read32(table + index * 8), m.Memory.Read32(table + index * 8 + 4)));
                Assert.Equal(0u, m.Memory.Read32(table + index * 8 + 8)); // the next entry is untouched
            },
        };

    private static Scenario In(ushort port, int size, Action<Assembler> native) => new($"port 0x{port:X}", native)
    {
        Edx = port,
        Results = Gpr.Eax,
        Expect = m =>
        {
            uint v = RecordingPlatform.ReadValue(port, 0) & RecordingPlatform.Mask(size);
            Assert.Equal(v, m.Cpu.Eax); // zero-extended
            Assert.Equal(new[] { new PortAccess(false, port, size, v) }, m.Platform.Log);
        },
    };

    private static Scenario Out(ushort port, int size, Action<Assembler> native) => new($"port 0x{port:X}", native)
    {
        Eax = 0x1234_5678,
        Edx = port,
        Expect = m => Assert.Equal(new[] { new PortAccess(true, port, size, 0x1234_5678 & RecordingPlatform.Mask(size)) }, m.Platform.Log),
    };

    private const uint StringCount = 3;

    private static Scenario Ins(ushort port, int size, Action<Assembler> rep) => new($"3 from port 0x{port:X}", a => { a.mov(edi, eax); rep(a); })
    {
        Eax = M.IoBuffer,
        Edx = port,
        Ecx = StringCount,
        Expect = m =>
        {
            for (int i = 0; i < StringCount; i++)
            {
                uint v = RecordingPlatform.ReadValue(port, i) & RecordingPlatform.Mask(size);
                Assert.Equal(new PortAccess(false, port, size, v), m.Platform.Log[i]);
                uint at = M.IoBuffer + (uint)(i * size);
                Assert.Equal(v, size switch { 1 => m.Memory.Read8(at), 2 => m.Memory.Read16(at), _ => m.Memory.Read32(at) });
            }
            Assert.Equal((int)StringCount, m.Platform.Log.Count);
            uint next = (uint)StringCount * (uint)size;
            Assert.Equal((byte)(next * 7 + 1), m.Memory.Read8(M.IoBuffer + next)); // nothing beyond the count
        },
    };

    private static Scenario Outs(ushort port, int size, Action<Assembler> rep) => new($"3 to port 0x{port:X}", a => { a.mov(esi, eax); rep(a); })
    {
        Eax = M.IoBuffer + 0x100,
        Edx = port,
        Ecx = StringCount,
        Expect = m =>
        {
            var expected = new List<PortAccess>();
            for (uint i = 0; i < StringCount; i++)
            {
                uint at = M.IoBuffer + 0x100 + i * (uint)size;
                expected.Add(new PortAccess(true, port, size, size switch { 1 => m.Memory.Read8(at), 2 => m.Memory.Read16(at), _ => m.Memory.Read32(at) }));
            }
            Assert.Equal(expected, m.Platform.Log);
        },
    };

    private static Action<Assembler> IoplNative(uint iopl) => a =>
    {
        a.pushfd();
        a.and(__dword_ptr[esp], ~(int)EFlags.IoplMask);
        a.or(__dword_ptr[esp], (int)iopl);
        a.popfd();
    };
}
