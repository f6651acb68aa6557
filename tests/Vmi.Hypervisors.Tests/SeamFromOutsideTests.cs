using System.Runtime.CompilerServices;

namespace Vmi.Hypervisors.Tests;

/// <summary>The backends are written against the CPU's and the machine's public API only.</summary>
public sealed class SeamFromOutsideTests
{
    [Theory]
    [InlineData(typeof(Vmi.Cpu.Cpu))]
    [InlineData(typeof(Vmi.Machine.Vm))]
    public void NeitherTheCpuNorTheMachineOpensItsInternalsToTheBackends(Type fromAssembly)
    {
        string[] friends = fromAssembly.Assembly.GetCustomAttributes(typeof(InternalsVisibleToAttribute), false)
            .Cast<InternalsVisibleToAttribute>().Select(a => a.AssemblyName).ToArray();

        Assert.DoesNotContain(friends, f => f.StartsWith("Vmi.Hypervisors", StringComparison.Ordinal));
        Assert.Contains(typeof(Hypervisor).Assembly.GetReferencedAssemblies(), r => r.Name == fromAssembly.Assembly.GetName().Name);
    }
}
