namespace Vmi.Hypervisors.Tests.Backends;

public sealed class ExploreTests(Xunit.Abstractions.ITestOutputHelper log)
{
    [Theory]
    [InlineData("native")]
    [InlineData("bt")]
    [InlineData("vt")]
    [InlineData("vt-npt")]
    public void Explore(string backend)
    {
        GuestRun r = GuestRun.Boot(backend, "vmi=off bench=all iters=20");
        log.WriteLine($"{backend}: {r.Result.Reason} {r.Result.Detail} exit={r.Result.GuestExitCode} instr={r.Result.Instructions}");
        log.WriteLine(r.Output);
        foreach (var kv in r.Hypervisor.Events.CountsByDetail) log.WriteLine($"  {kv.Key.Kind} {kv.Key.Detail}: {kv.Value}");
        Assert.Equal(1, r.Result.GuestExitCode);
    }
}
