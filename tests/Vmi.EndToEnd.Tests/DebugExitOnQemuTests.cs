using Vmi.Machine;
using Vmi.TestSupport;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.EndToEnd.Tests;

/// <summary>
/// Writes of every width to every port of QEMU's <c>isa-debug-exit,iobase=0xf4,iosize=4</c>, on
/// QEMU (TCG, as the test harness runs it) and on vmi: the same accesses end the run with the
/// same status. After the write under test the guest exits with 0x33 itself, so an access the
/// device refuses shows as status 0x67.
/// </summary>
public sealed class DebugExitOnQemuTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("vmi-dbgexit-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    public static TheoryData<ushort, int> Accesses()
    {
        var data = new TheoryData<ushort, int>();
        for (ushort port = 0xF4; port <= 0xF7; port++)
        {
            foreach (int size in new[] { 1, 2, 4 })
            {
                data.Add(port, size);
            }
        }
        return data;
    }

    private string Kernel(ushort port, int size) => FlatKernel.Write(dir, $"out{size}-{port:x}.bin", a =>
    {
        a.mov(eax, 0x0403_0201);
        a.mov(dx, port);
        switch (size)
        {
            case 1: a.@out(dx, al); break;
            case 2: a.@out(dx, ax); break;
            default: a.@out(dx, eax); break;
        }
        FlatKernel.DebugExit(a, 0x33);
    });

    [Theory]
    [MemberData(nameof(Accesses))]
    public void VmiEndsTheRunWhereQemuDoes(ushort port, int size)
    {
        string kernel = Kernel(port, size);
        VmRunResult ours = VmiRunner.Boot(kernel, "").Run;
        Assert.Equal(VmExitReason.DebugExit, ours.Reason);
        // QEMU's TCG rejects an access whose offset in the region is not a multiple of its size.
        bool exitsAtTheAccess = (port - 0xF4) % size == 0;
        Assert.Equal(exitsAtTheAccess ? 3 : 0x67, ours.GuestExitCode!.Value & 0xFF);
    }

    [SkippableTheory]
    [MemberData(nameof(Accesses))]
    public void QemuAgrees(ushort port, int size)
    {
        Skip.If(QemuRunner.FindQemu() is null, $"{QemuRunner.QemuBinary} is not installed");
        string kernel = Kernel(port, size);
        QemuResult qemu = QemuRunner.Run(kernel, "", TimeSpan.FromSeconds(30));
        VmRunResult ours = VmiRunner.Boot(kernel, "").Run;
        Assert.False(qemu.TimedOut);
        Assert.Equal(qemu.ExitCode, ours.GuestExitCode!.Value & 0xFF);
    }
}
