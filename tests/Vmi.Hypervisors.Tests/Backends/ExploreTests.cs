using Vmi.Hypervisors.BinaryTranslation;
using Vmi.Hypervisors.Costs;

namespace Vmi.Hypervisors.Tests.Backends;

public sealed class ExploreTests(Xunit.Abstractions.ITestOutputHelper log)
{
    [Fact]
    public void Explore()
    {
        GuestRun r = GuestRun.Boot("bt", "vmi=off bench=all iters=20", hypervisor: new BtHypervisor(CostProfiles.Load("p4-2006")) { Translate = false }, maxInstructions: 50_000_000);
        log.WriteLine($"{r.Result.Reason} {r.Result.Detail} exit={r.Result.GuestExitCode} instr={r.Result.Instructions}");
        log.WriteLine(r.Output);
        foreach (var kv in r.Hypervisor.Events.CountsByDetail) log.WriteLine($"  {kv.Key.Kind} {kv.Key.Detail}: {kv.Value}");
    }
}
