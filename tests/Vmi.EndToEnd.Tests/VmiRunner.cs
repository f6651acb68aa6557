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

    public static CliResult Cli(params string[] args)
    {
        string vmiDll = Path.Combine(AppContext.BaseDirectory, "vmi.dll");
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(vmiDll);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
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
}
