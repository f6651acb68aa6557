using System.Diagnostics;
using Vmi.Machine;
using Vmi.Machine.Boot;
using Vmi.TestSupport;

namespace Vmi.EndToEnd.Tests;

/// <summary>Boots a kernel on our machine in-process, or runs the `vmi` command as a child process.</summary>
internal static class VmiRunner
{
    public sealed record InProcessResult(VmRunResult Run, byte[] Serial)
    {
        public string Output => System.Text.Encoding.ASCII.GetString(Serial);
    }

    /// <summary>
    /// Boots with the command line QEMU would build ("path args"), so output compares byte for byte,
    /// and with <paramref name="optionRom"/> (if any) placed at <paramref name="optionRomBase"/>.
    /// </summary>
    public static InProcessResult Boot(string elf, string args, long maxInstructions = 2_000_000_000,
        byte[]? optionRom = null, uint optionRomBase = VmConfig.DefaultOptionRomBase)
    {
        var serial = new MemoryStream();
        var vm = Vm.BootMultiboot(new VmConfig
        {
            CommandLine = MultibootInfoBuilder.QemuStyleCommandLine(elf, args),
            SerialOutput = serial,
            OptionRom = optionRom,
            OptionRomBase = optionRomBase,
        }, File.ReadAllBytes(elf));
        VmRunResult r = vm.Run(maxInstructions);
        return new InProcessResult(r, serial.ToArray());
    }

    public sealed record CliResult(int ExitCode, string Stdout, string Stderr);

    public static CliResult Cli(params string[] args) => Run(VmiStartInfo(args));

    /// <summary>Starts the real vmi with <paramref name="args"/>, stdout and stderr redirected, stdin closed; the caller waits and reads.</summary>
    public static Process Start(params string[] args) => Start(VmiStartInfo(args));

    private static ProcessStartInfo VmiStartInfo(string[] args)
    {
        var psi = new ProcessStartInfo("dotnet");
        psi.ArgumentList.Add(VmiDll);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        return psi;
    }

    /// <summary>
    /// Runs vmi with <paramref name="args"/> followed by one argument of arbitrary bytes, which .NET
    /// cannot pass itself (it encodes every argument as UTF-8): /bin/sh builds that argument with
    /// printf from octal escapes, so the bytes reach vmi's argv unchanged.
    /// </summary>
    public static CliResult CliWithRawLastArgument(byte[] lastArgument, params string[] args)
    {
        var psi = new ProcessStartInfo("/bin/sh");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec dotnet \"$@\" \"$(printf \"$VMI_TEST_RAW_ARGUMENT\")\"");
        psi.ArgumentList.Add("sh");
        psi.ArgumentList.Add(VmiDll);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["VMI_TEST_RAW_ARGUMENT"] = string.Concat(lastArgument.Select(b => "\\" + Convert.ToString(b, 8).PadLeft(3, '0')));
        return Run(psi);
    }

    private static string VmiDll => Path.Combine(AppContext.BaseDirectory, "vmi.dll");

    private static Process Start(ProcessStartInfo psi)
    {
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = true;
        psi.UseShellExecute = false;
        Process p = Process.Start(psi)!;
        p.StandardInput.Close();
        return p;
    }

    private static CliResult Run(ProcessStartInfo psi)
    {
        using Process p = Start(psi);
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("vmi did not finish within 60 s");
        }
        return new CliResult(p.ExitCode, stdout.Result, stderr.Result);
    }

    public static string TestKernel => QemuRunner.BuildTestKernel();

    public static string RomProbe => QemuRunner.BuildRomProbe();

    public static string BootInfo => QemuRunner.BuildBootInfo();
}
