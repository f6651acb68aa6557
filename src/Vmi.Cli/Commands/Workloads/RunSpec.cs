using System.Text;

namespace Vmi.Cli.Commands.Workloads;

/// <summary>
/// One guest run to make: a workload with a number of iterations under a backend, the kernel told
/// to ignore any VMI ROM (<see cref="VmiOff"/>) or not, with <see cref="OptionRom"/> (if any) mapped
/// in the option-ROM window, and <see cref="Extra"/> appended to the command line.
/// </summary>
internal sealed record RunSpec(BackendChoice Backend, string Bench, int Iters, bool VmiOff, byte[]? OptionRom, byte[] Extra)
{
    /// <summary>
    /// "kernel [vmi=off ]quiet bench=BENCH iters=N[ EXTRA]": the first word is the kernel's name, as
    /// a boot loader passes it (the guest skips it).
    /// </summary>
    public byte[] CommandLine()
    {
        byte[] prefix = Encoding.ASCII.GetBytes($"kernel {(VmiOff ? "vmi=off " : "")}quiet bench={Bench} iters={Iters}");
        return Extra.Length == 0 ? prefix : [.. prefix, (byte)' ', .. Extra];
    }
}
