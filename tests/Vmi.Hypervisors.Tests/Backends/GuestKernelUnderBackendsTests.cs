using Vmi.Hypervisors.Events;

namespace Vmi.Hypervisors.Tests.Backends;

/// <summary>The VMI guest kernel (built from source), unmodified path (vmi=off), under every backend.</summary>
public sealed class GuestKernelUnderBackendsTests
{
    private const string AllWorkloads = "vmi=off bench=all iters=20";

    [Fact]
    public void EveryBackendGivesTheSameResultLinesAndTheKernelPassesItsSelfChecks()
    {
        var runs = HypervisorCatalog.Names.ToDictionary(b => b, b => GuestRun.Boot(b, AllWorkloads));

        foreach ((string backend, GuestRun run) in runs)
        {
            Assert.True(run.Result.GuestExitCode == 1, $"{backend}: {run.Result.Detail}\n{run.Output}");
            Assert.Equal(11, run.Results.Count);
            Assert.Equal(runs["native"].Results, run.Results);
        }
        // Ring 1 under bt (the kernel read it from CS at entry), ring 0 elsewhere.
        Assert.Contains("ring 1", runs["bt"].Output);
        Assert.Contains("ring 0", runs["vt"].Output);
        Assert.Empty(runs["native"].Hypervisor.Events.Counts);
    }

    [Fact]
    public void StartedInRing1TheKernelPatchedFromTheNativeRomStillPassesEverything()
    {
        // The native ROM's stubs execute the native instructions: in ring 1 the privileged ones trap
        // into bt and are emulated, so the patched kernel is as correct as the unpatched one.
        byte[] rom = Vmi.Rom.RomProfiles.Native().Image;
        GuestRun native = GuestRun.Boot("native", "bench=all iters=20", optionRom: rom);
        GuestRun ring1 = GuestRun.Boot("bt", "bench=all iters=20", optionRom: rom);

        Assert.True(ring1.Result.GuestExitCode == 1, $"{ring1.Result.Detail}\n{ring1.Output}");
        Assert.Contains("ring 1", ring1.Output);
        Assert.Matches(@"VMI: .* API 3\.\d+ at 0xc0000; sites: \d+ call", ring1.Output);
        Assert.Equal(native.Results, ring1.Results);
        Assert.Equal(11, ring1.Results.Count);
    }

    [Fact]
    public void TheSameRunTwiceGivesTheSameCounts()
    {
        foreach (string backend in new[] { "bt", "vt-npt" })
        {
            GuestRun a = GuestRun.Boot(backend, "vmi=off bench=forkwait,ptemod iters=10");
            GuestRun b = GuestRun.Boot(backend, "vmi=off bench=forkwait,ptemod iters=10");

            Assert.Equal(a.Result.Instructions, b.Result.Instructions);
            Assert.Equal(a.Hypervisor.Events.CountsByDetail, b.Hypervisor.Events.CountsByDetail);
            Assert.Equal(a.Hypervisor.ModelledCycles(a.Result.Instructions), b.Hypervisor.ModelledCycles(b.Result.Instructions));
            Assert.Equal(a.Output, b.Output); // the guest's own cycle figures included
        }
    }

    /// <summary>Per-iteration figures of one workload: the difference of runs with 2N and N iterations (boot and printing cancel).</summary>
    private static (long Cycles, IReadOnlyDictionary<EventKind, long> Events) PerIterations(string backend, string bench, int n)
    {
        GuestRun twice = GuestRun.Boot(backend, $"vmi=off quiet bench={bench} iters={2 * n}");
        GuestRun once = GuestRun.Boot(backend, $"vmi=off quiet bench={bench} iters={n}");
        long cycles = twice.Hypervisor.ModelledCycles(twice.Result.Instructions) - once.Hypervisor.ModelledCycles(once.Result.Instructions);
        var events = Enum.GetValues<EventKind>().ToDictionary(k => k, k => twice.Hypervisor.Events[k] - once.Hypervisor.Events[k]);
        return (cycles, events);
    }

    [Fact]
    public void VtNptTakesNoPageFaultExitsOnThePageFaultWorkloadWhileVtTakesSeveralPerFault()
    {
        const int n = 50;
        (_, var vt) = PerIterations("vt", "pgfault", n);
        (_, var npt) = PerIterations("vt-npt", "pgfault", n);

        Assert.True(vt[EventKind.ExitPageFault] >= 2 * n, $"vt: {vt[EventKind.ExitPageFault]} page-fault exits for {n} faults");
        Assert.Equal(n, vt[EventKind.TrueGuestPageFault]);
        Assert.Equal(0, npt[EventKind.ExitPageFault]);
        Assert.Equal(0, npt[EventKind.HiddenPageFault] + npt[EventKind.TrueGuestPageFault] + npt[EventKind.TracingFault]);
        Assert.True(npt[EventKind.NestedTlbMiss] >= n);
    }

    [Theory]
    [InlineData("bt", EventKind.Hypercall)]
    [InlineData("vt", EventKind.ExitHypercall)]
    public void WithItsRomAShadowPagingBackendTakesNoTrapForInvalidationsOrCr2AndBatchesMunmap(string backend, EventKind trap)
    {
        // pgfault: a demand fault per iteration (the handler reads CR2), then brk gives every page
        // back in one lazy-MMU section. ptemod: two single-entry mprotects per iteration, each with INVLPG.
        const int n = 60;
        GuestRun Run(string bench, int iters) => GuestRun.Boot(backend, $"quiet bench={bench} iters={iters}", publishRom: true);
        GuestRun pgfault = Run("pgfault", n), ptemod = Run("ptemod", n);
        GuestRun pgfaultOff = GuestRun.Boot(backend, $"vmi=off quiet bench=pgfault iters={n}", publishRom: true);

        Assert.Equal(pgfaultOff.Results, pgfault.Results);
        var byDetail = pgfault.Hypervisor.Events.CountsByDetail;
        Assert.False(byDetail.ContainsKey((trap, "GetCR2")), "CR2 comes from the shared page (bt) or the hardware (vt)");
        Assert.False(byDetail.ContainsKey((trap, "InvalPage")));
        Assert.False(byDetail.ContainsKey((trap, "FlushTLB")));
        Assert.True(byDetail.GetValueOrDefault((EventKind.QueuedPageTableUpdate, "SetPxE")) >= n, "brk's unmapping went through the queue");
        Assert.InRange(byDetail.GetValueOrDefault((trap, "flush MMU queue")), 1, 10);
        Assert.Equal(0, pgfault.Hypervisor.Events.CountsByDetail.Where(kv => kv.Key.Detail.Contains("refused", StringComparison.Ordinal)).Sum(kv => kv.Value));
        Assert.False(ptemod.Hypervisor.Events.CountsByDetail.ContainsKey((trap, "InvalPage")));
        Assert.Contains($"RESULT bench=ptemod iters={n}", ptemod.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void TheModelReproducesThePublishedShapes()
    {
        // Adams & Agesen 2006: BT pays for a system call (the kernel entry and exit go through the
        // monitor) while VT runs it at native speed; VT pays far more than BT for page faults and
        // page-table writes (every shadow-paging event is a VM exit).
        const int n = 20;
        long Cycles(string backend, string bench) => PerIterations(backend, bench, n).Cycles;

        Assert.True(Cycles("bt", "syscall") > 5 * Cycles("native", "syscall"));
        // (Within 5%: a timer tick may fall in one backend's measured iterations and not another's.)
        Assert.InRange(Cycles("vt", "syscall"), Cycles("native", "syscall"), Cycles("native", "syscall") * 105 / 100);
        Assert.True(Cycles("vt", "pgfault") > 2 * Cycles("bt", "pgfault"));
        Assert.True(Cycles("vt", "ptemod") > 2 * Cycles("bt", "ptemod"));
        Assert.True(Cycles("vt", "forkwait") > Cycles("bt", "forkwait"));
        // Pure user arithmetic costs the same everywhere: user code runs directly under every backend.
        // (100 more iterations take no timer tick under any backend, so only compute is measured.)
        (long native, _) = PerIterations("native", "compute", 100);
        foreach (string backend in new[] { "bt", "vt", "vt-npt" })
        {
            (long cycles, var events) = PerIterations(backend, "compute", 100);
            Assert.Equal(0, events[EventKind.InterruptInjection] + events[EventKind.InterruptReflection]);
            Assert.Equal(native, cycles);
        }
    }

    [Fact]
    public void TheGuestsOwnClockSeesTheVirtualizationOverhead()
    {
        GuestRun native = GuestRun.Boot("native", "vmi=off quiet bench=cpuid iters=100");
        GuestRun vt = GuestRun.Boot("vt", "vmi=off quiet bench=cpuid iters=100");

        long GuestCycles(GuestRun r) => long.Parse(r.Output.Split('\n').Single(l => l.StartsWith("cycles bench=cpuid", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[2]);
        long exit = vt.Hypervisor.Profile.CostOf(EventKind.ExitCpuid);

        // 100 CPUID exits measured by the workload's own rdtsc, within the cost of one more exit.
        long overhead = GuestCycles(vt) - GuestCycles(native);
        Assert.InRange(overhead, 100 * exit, 101 * exit);
    }
}
