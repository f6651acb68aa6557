using Vmi.Machine;
using Vmi.Machine.Boot;

namespace Vmi.EndToEnd.Tests;

/// <summary>
/// The execution engine must not allocate per guest instruction: after the code is decoded,
/// running millions of instructions (with timer interrupts) allocates only a bounded amount.
/// </summary>
public sealed class AllocationTests
{
    [Fact]
    public void SteadyStateExecutionDoesNotAllocatePerInstruction()
    {
        string elf = VmiRunner.TestKernel;
        var vm = Vm.BootMultiboot(new VmConfig
        {
            CommandLine = MultibootInfoBuilder.QemuStyleCommandLine(elf, "bench=loop iters=60000"),
            SerialOutput = new MemoryStream(),
        }, File.ReadAllBytes(elf));

        vm.Run(5_000_000); // boot, self-tests, and the loop's code decoded once
        long before = GC.GetAllocatedBytesForCurrentThread();
        VmRunResult r = vm.Run(20_000_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(20_000_000, r.Instructions);
        // 20 M instructions: well under one byte per thousand instructions.
        Assert.True(allocated < 20_000, $"{allocated} bytes allocated while running {r.Instructions} instructions");
    }
}
