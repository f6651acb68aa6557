using System.Diagnostics;
using System.Text;

namespace Vmi.TestSupport;

/// <summary>
/// Runs kernels on QEMU (the reference machine for differential tests) and builds the test
/// kernels in tests/assets (testkernel, romprobe).
/// </summary>
public static class QemuRunner
{
    public const string QemuBinary = "qemu-system-i386";

    /// <summary>Overrides the repository root, for running these helpers from a build outside the repo.</summary>
    public const string RepoRootVariable = "VMI_REPO_ROOT";

    private static readonly Lock BuildLock = new();
    private static readonly Dictionary<string, string> s_builtAssets = [];

    /// <summary>Full path of qemu-system-i386 on PATH, or null when QEMU is not installed.</summary>
    public static string? FindQemu() => FindOnPath(QemuBinary);

    /// <summary>
    /// Boots <paramref name="kernelPath"/> (a multiboot or Linux kernel) with the serial port on
    /// stdout, no display or monitor, no reboot (a triple fault ends the run) and the debug-exit
    /// device at port 0xF4. <paramref name="initrd"/> is passed as <c>-initrd</c> (multiboot modules,
    /// "FILE [ARGS][,FILE [ARGS]…]"), then <paramref name="extraArguments"/> (e.g. -icount). The run
    /// is killed after <paramref name="timeout"/>.
    /// </summary>
    public static QemuResult Run(string kernelPath, string cmdline, TimeSpan timeout, string? optionRom = null, int memoryMiB = 64, string? initrd = null,
        IEnumerable<string>? extraArguments = null)
    {
        string qemu = FindQemu() ?? throw new InvalidOperationException($"{QemuBinary} is not on PATH; install the qemu-system-x86 package");
        if (!File.Exists(kernelPath))
            throw new FileNotFoundException($"kernel image '{kernelPath}' does not exist", kernelPath);
        if (optionRom is not null && !File.Exists(optionRom))
            throw new FileNotFoundException($"option ROM '{optionRom}' does not exist", optionRom);
        ArgumentOutOfRangeException.ThrowIfLessThan(memoryMiB, 2);

        var psi = new ProcessStartInfo(qemu)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "-kernel", kernelPath, "-append", cmdline,
                     "-serial", "stdio", "-display", "none", "-monitor", "none", "-no-reboot",
                     "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                     "-m", memoryMiB.ToString(System.Globalization.CultureInfo.InvariantCulture),
                 })
        {
            psi.ArgumentList.Add(arg);
        }
        if (optionRom is not null)
        {
            psi.ArgumentList.Add("-option-rom");
            psi.ArgumentList.Add(optionRom);
        }
        if (initrd is not null)
        {
            psi.ArgumentList.Add("-initrd");
            psi.ArgumentList.Add(initrd);
        }
        foreach (string arg in extraArguments ?? [])
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {qemu}");
        process.StandardInput.Close(); // the guest gets EOF, never the test runner's terminal
        var stdout = new MemoryStream();
        var stdoutTask = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var stderrTask = process.StandardError.ReadToEndAsync();

        bool timedOut = !process.WaitForExit(timeout);
        if (timedOut)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        stdoutTask.Wait();
        byte[] bytes = stdout.ToArray();
        return new QemuResult(Encoding.UTF8.GetString(bytes), process.ExitCode, timedOut)
        {
            StdoutBytes = bytes,
            Stderr = stderrTask.Result,
        };
    }

    /// <summary>The directory containing Vmi.sln, searched upwards from the test binaries and the current directory.</summary>
    public static string FindRepoRoot()
    {
        if (Environment.GetEnvironmentVariable(RepoRootVariable) is { Length: > 0 } overridden)
        {
            return File.Exists(Path.Combine(overridden, "Vmi.sln"))
                ? Path.GetFullPath(overridden)
                : throw new InvalidOperationException($"{RepoRootVariable}='{overridden}' does not contain Vmi.sln");
        }
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Vmi.sln")))
                    return dir.FullName;
            }
        }
        throw new InvalidOperationException(
            $"no Vmi.sln above '{AppContext.BaseDirectory}' or '{Directory.GetCurrentDirectory()}'; set {RepoRootVariable}");
    }

    /// <summary>Builds tests/assets/testkernel (see <see cref="BuildAsset"/>) and returns the path of testkernel.elf.</summary>
    public static string BuildTestKernel() => BuildAsset("testkernel");

    /// <summary>Builds tests/assets/romprobe, the VMI ROM discovery probe, and returns the path of romprobe.elf.</summary>
    public static string BuildRomProbe() => BuildAsset("romprobe");

    /// <summary>
    /// Builds tests/assets/bootinfo (linked with plain ld, no linker script) and returns the path of
    /// the link named <paramref name="variant"/>: "bootinfo" (text at 1 MiB), "bootinfo-8000" or
    /// "bootinfo-0500" (text at 0x8000 or 0x500).
    /// </summary>
    public static string BuildBootInfo(string variant = "bootinfo")
    {
        string elf = Path.Combine(Path.GetDirectoryName(BuildAsset("bootinfo"))!, $"{variant}.elf");
        return File.Exists(elf) ? elf : throw new ArgumentException($"the bootinfo build made no {variant}.elf", nameof(variant));
    }

    /// <summary>
    /// Builds the kernel in tests/assets/<paramref name="name"/> with make into an object directory
    /// beside the test binaries (so the source tree stays clean and parallel test projects do not
    /// share outputs), once per process, and returns the path of <paramref name="name"/>.elf.
    /// make (run once per test process) decides what is stale: each kernel's Makefile lists the
    /// shared sources and headers in tests/assets/common and guest/lib as prerequisites, so a change there
    /// rebuilds too.
    /// make's output is in the exception on failure.
    /// </summary>
    public static string BuildAsset(string name) =>
        Build(Path.Combine(FindRepoRoot(), "tests", "assets", name), name, $"{name}.elf");

    /// <summary>Builds the VMI guest kernel (guest/, the product's own kernel) the same way; returns kernel.elf.</summary>
    public static string BuildGuestKernel() => Build(Path.Combine(FindRepoRoot(), "guest"), "guest", "kernel.elf");

    /// <summary>A variant of the guest kernel built with extra C flags (e.g. a -D a test needs), in its own directory.</summary>
    public static string BuildGuestKernelVariant(string variant, string extraCFlags) =>
        Build(Path.Combine(FindRepoRoot(), "guest"), $"guest-{variant}", "kernel.elf", $"EXTRA_CFLAGS={extraCFlags}");

    private static string Build(string source, string name, string elfName, params string[] makeArguments)
    {
        lock (BuildLock)
        {
            if (s_builtAssets.TryGetValue(name, out string? built))
                return built;

            if (!File.Exists(Path.Combine(source, "Makefile")))
                throw new ArgumentException($"no kernel '{name}' (expected a Makefile in {source})", nameof(name));
            string objDir = Path.Combine(AppContext.BaseDirectory, $"{name}-obj");
            var (exitCode, output) = RunMake(source, objDir, makeArguments);
            string elf = Path.Combine(objDir, elfName);
            if (exitCode != 0 || !File.Exists(elf))
                throw new InvalidOperationException($"building {name} failed (make exit code {exitCode}):\n{output}");
            s_builtAssets[name] = elf;
            return elf;
        }
    }

    private static (int ExitCode, string Output) RunMake(string source, string objDir, string[] makeArguments)
    {
        string make = FindOnPath("make") ?? throw new InvalidOperationException("make is not on PATH; the test kernels need make, gcc and ld");
        var psi = new ProcessStartInfo(make)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-C");
        psi.ArgumentList.Add(source);
        psi.ArgumentList.Add($"O={objDir}");
        foreach (string argument in makeArguments)
        {
            psi.ArgumentList.Add(argument);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start make");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return (-1, $"make timed out after 5 minutes\n{stdout.Result}{stderr.Result}");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    private static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }
}
