using Vmi.Abi;
using Vmi.Cpu;
using Vmi.Hypervisors.BinaryTranslation;
using Vmi.Hypervisors.Events;
using Vmi.Hypervisors.Tests.Backends;
using Vmi.Rom;

namespace Vmi.Hypervisors.Tests.Paravirtual;

/// <summary>The ROM each backend publishes: what the kernel makes of it, and how its answers follow from the CPU and the costs.</summary>
public sealed class PublishedRomTests
{
    [Fact]
    public void UnderEveryBackendTheKernelTakesThatBackendsRomAndPrintsTheSameResults()
    {
        GuestRun reference = GuestRun.Boot("native", "vmi=off bench=all iters=20");
        foreach (string backend in HypervisorCatalog.Names)
        {
            GuestRun run = GuestRun.Boot(backend, "bench=all iters=20", publishRom: true);

            Assert.True(run.Result.GuestExitCode == 1, $"{backend}: {run.Result.Detail}\n{run.Output}");
            Assert.Equal(reference.Results, run.Results);
            Assert.Matches(@"VMI: vmi project VMI .*ROM.* API 3\.0 at 0xc0000; sites: \d+ call", run.Output);
        }
    }

    [Fact]
    public void EveryBackendsRomKeepsLinuxsClientRules()
    {
        foreach (string backend in HypervisorCatalog.Names)
        {
            foreach (CpuModel model in CpuModel.All)
            {
                VmiRom rom = HypervisorCatalog.Create(backend, TinyGuest.P4)!.BuildRom(model);
                var answers = VmiCalls.All.ToDictionary(c => c, c => rom.ExpectedRelocation(c, 0xC0000));
                Assert.Empty(LinuxClientRules.Check(answers, 0xC0000, rom.Image.Length));
            }
        }
    }

    private static byte[] StubOf(VmiRom rom, VmiCall call) => rom.Image.AsSpan(rom.StubOffsets[call], 16).ToArray();

    private static readonly byte[] Vmcall = [0x0F, 0x01, 0xC1], Vmmcall = [0x0F, 0x01, 0xD9], Int82 = [0xCD, 0x82];

    private static bool Contains(byte[] code, byte[] pattern) => code.AsSpan().IndexOf(pattern) >= 0;

    [Fact]
    public void TheHypercallInstructionIsTheCpusVendors()
    {
        VmiRom intel = HypervisorCatalog.Create("vt", TinyGuest.P4)!.BuildRom(CpuModel.Pentium4);
        VmiRom amd = HypervisorCatalog.Create("vt", TinyGuest.P4)!.BuildRom(CpuModel.Opteron);
        VmiRom software = HypervisorCatalog.Create("bt", TinyGuest.P4)!.BuildRom(CpuModel.Pentium4);

        Assert.True(Contains(StubOf(intel, VmiCall.SetCr3), Vmcall));
        Assert.True(Contains(StubOf(amd, VmiCall.SetCr3), Vmmcall));
        Assert.False(Contains(StubOf(amd, VmiCall.SetCr3), Vmcall));
        Assert.True(Contains(StubOf(software, VmiCall.Halt), Int82)); // bt uses no hardware assistance
    }

    [Fact]
    public void VtNptsAnswersFollowNestedPagingInTheModel()
    {
        var npt = HypervisorCatalog.Create("vt-npt", TinyGuest.P4)!;
        VmiRom with = npt.BuildRom(CpuModel.Barcelona);
        VmiRom without = npt.BuildRom(CpuModel.Barcelona with { NestedPaging = false });

        // With nested paging, page-table writes, CR3 loads and INVLPG cost nothing natively: NONE.
        foreach (VmiCall call in new[] { VmiCall.SetPxE, VmiCall.SetCr3, VmiCall.InvalPage, VmiCall.FlushTlb })
        {
            Assert.Equal(RelocationType.None, with.Types[call]);
            Assert.Equal(RelocationType.CallRel, without.Types[call]); // without it, they exit: a hypercall is cheaper
        }
        // Either way the hardware virtualizes the interrupt flag, and CPUID comes from the ROM's table.
        Assert.Equal(RelocationType.None, with.Types[VmiCall.DisableInterrupts]);
        Assert.Equal(RelocationType.CallRel, with.Types[VmiCall.Cpuid]);
        Assert.False(Contains(StubOf(with, VmiCall.Cpuid), Vmmcall));
    }

    [Fact]
    public void BtsRomPutsTheInterruptFlagOnTheSharedPageAndVtKeepsItNative()
    {
        VmiRom bt = HypervisorCatalog.Create("bt", TinyGuest.P4)!.BuildRom(CpuModel.Pentium4);
        VmiRom vt = HypervisorCatalog.Create("vt", TinyGuest.P4)!.BuildRom(CpuModel.Pentium4);

        foreach (VmiCall call in new[] { VmiCall.DisableInterrupts, VmiCall.EnableInterrupts, VmiCall.GetInterruptMask, VmiCall.SetInterruptMask })
        {
            Assert.Equal(RelocationType.CallRel, bt.Types[call]);
            Assert.False(Contains(StubOf(bt, call), Int82)); // no trap on the way... (the enable path's trap is behind a branch)
            Assert.Equal(RelocationType.None, vt.Types[call]);
        }
        Assert.Equal(RelocationType.JumpRel, bt.Types[VmiCall.Iret]);
        Assert.Equal(RelocationType.JumpRel, vt.Types[VmiCall.Iret]);
        Assert.Equal(0xFFC0_0000u, bt.Image.AsSpan(0x10, 4).ToArray() is var top ? BitConverter.ToUInt32(top) : 0); // virtual_top
    }

    [Fact]
    public void UnderBtAKernelThatTookTheRomRunsDirectlyAndItsInterruptFlagIsVirtual()
    {
        GuestRun off = GuestRun.Boot("bt", "vmi=off quiet bench=irqflags iters=2000");
        GuestRun rom = GuestRun.Boot("bt", "quiet bench=irqflags iters=2000", publishRom: true);
        var bt = (BtHypervisor)rom.Hypervisor;

        Assert.Equal(off.Results, rom.Results);
        Assert.True(bt.Paravirtual);
        // No CLI/STI trapped, no PUSHF/POPF translated: irqflags runs on the shared page.
        long Detail(GuestRun r, EventKind k, string d) => r.Hypervisor.Events.CountsByDetail.GetValueOrDefault((k, d));
        Assert.True(Detail(off, EventKind.TrapAndEmulate, "cli") >= 2000);
        Assert.Equal(0, Detail(rom, EventKind.TranslatedSensitive, "pushf") + Detail(rom, EventKind.TranslatedSensitive, "popf"));
        Assert.True(Detail(rom, EventKind.TrapAndEmulate, "cli") <= 1); // the boot stub's, before the kernel found the ROM
        Assert.True(rom.Hypervisor.ModelledCycles(rom.Result.Instructions) * 2 < off.Hypervisor.ModelledCycles(off.Result.Instructions));
        // Translation stopped when the kernel took the ROM.
        Assert.True(rom.Hypervisor.Events[EventKind.TranslatedInstruction] < off.Hypervisor.Events[EventKind.TranslatedInstruction]);
    }

    [Fact]
    public void UnderBtAParavirtualKernelsSystemCallsEnterItWithoutTheMonitor()
    {
        const int n = 100;
        (long Cycles, long Reflections) PerN(bool rom)
        {
            string off = rom ? "" : "vmi=off ";
            GuestRun twice = GuestRun.Boot("bt", $"{off}quiet bench=syscall iters={2 * n}", publishRom: rom);
            GuestRun once = GuestRun.Boot("bt", $"{off}quiet bench=syscall iters={n}", publishRom: rom);
            Assert.Equal(1, twice.Result.GuestExitCode);
            return (twice.Hypervisor.ModelledCycles(twice.Result.Instructions) - once.Hypervisor.ModelledCycles(once.Result.Instructions),
                twice.Hypervisor.Events[EventKind.InterruptReflection] - once.Hypervisor.Events[EventKind.InterruptReflection]);
        }
        GuestRun nativeTwice = GuestRun.Boot("native", $"vmi=off quiet bench=syscall iters={2 * n}");
        GuestRun nativeOnce = GuestRun.Boot("native", $"vmi=off quiet bench=syscall iters={n}");
        long native = nativeTwice.Result.Instructions - nativeOnce.Result.Instructions;

        (long offCycles, long offReflections) = PerN(rom: false);
        (long romCycles, long romReflections) = PerN(rom: true);

        Assert.True(offReflections >= n);      // translated: every INT 0x80 through the monitor
        Assert.Equal(0, romReflections);       // paravirtual: straight in, through the trampoline
        Assert.True(romCycles * 2 < offCycles);
        Assert.InRange(romCycles, native / 2, native * 3 / 2);
    }

    [Fact]
    public void AKernelThatTakesTheRomTicksOnTheHypervisorsAlarmNotThePit()
    {
        foreach (string backend in new[] { "bt", "vt", "vt-npt" })
        {
            GuestRun run = GuestRun.Boot(backend, "bench=syscall iters=20", publishRom: true);

            Assert.True(run.Result.GuestExitCode == 1, $"{backend}: {run.Result.Detail}\n{run.Output}");
            Assert.Contains("timer: the hypervisor's alarm", run.Output);
            Assert.Contains("ok timer 5", run.Output); // the boot check saw ticks arrive
            Assert.False(run.Vm.Board.Pit.Channel0Armed);
            var byDetail = run.Hypervisor.Events.CountsByDetail;
            Assert.Equal(1, byDetail.Where(kv => kv.Key.Detail == "SetAlarm").Sum(kv => kv.Value));
        }
        // Without a hypervisor clock (the native ROM answers NONE for the timer calls) the PIT ticks.
        GuestRun native = GuestRun.Boot("native", "bench=syscall iters=20", publishRom: true);
        Assert.DoesNotContain("timer: the hypervisor's alarm", native.Output);
        Assert.True(native.Vm.Board.Pit.Channel0Armed);
    }
}
