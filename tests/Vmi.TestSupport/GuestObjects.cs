using System.Diagnostics;

namespace Vmi.TestSupport;

/// <summary>
/// Builds small guest executables from the C and assembly sources in tests/assets/sites with gcc
/// and ld at test time, against the real guest/arch headers (vmi_site.h), so the tests read what
/// the guest kernel's own macros emit, not a hand-made copy.
/// </summary>
public static class GuestObjects
{
    /// <summary>Where the guest object sources are linked: the guest kernel's text address.</summary>
    public const uint TextAddress = 0xC0100000;

    private static readonly string[] CompileFlags =
        ["-m32", "-ffreestanding", "-nostdlib", "-mgeneral-regs-only", "-fno-pic", "-fno-stack-protector", "-O2", "-fno-asynchronous-unwind-tables"];

    private static readonly Lock BuildLock = new();
    private static readonly Dictionary<string, string> s_built = [];

    /// <summary>
    /// Compiles <paramref name="sources"/> (file names in tests/assets/sites) with <paramref name="defines"/>
    /// (-D switches) and links them with entry <c>f</c> at <see cref="TextAddress"/> into
    /// <paramref name="name"/>.elf beside the test binaries, once per process; returns its path.
    /// gcc's and ld's output is in the exception on failure.
    /// </summary>
    public static string Link(string name, string[] sources, params string[] defines)
    {
        lock (BuildLock)
        {
            if (s_built.TryGetValue(name, out string? built))
            {
                return built;
            }
            string root = QemuRunner.FindRepoRoot();
            string sourceDir = Path.Combine(root, "tests", "assets", "sites");
            string objDir = Path.Combine(AppContext.BaseDirectory, "sites-obj", name);
            Directory.CreateDirectory(objDir);
            var objects = new List<string>();
            foreach (string source in sources)
            {
                string obj = Path.Combine(objDir, Path.GetFileNameWithoutExtension(source) + ".o");
                Run("gcc", [.. CompileFlags, .. defines.Select(d => "-D" + d), "-I", Path.Combine(root, "guest"), "-c", Path.Combine(sourceDir, source), "-o", obj]);
                objects.Add(obj);
            }
            string elf = Path.Combine(objDir, name + ".elf");
            Run("ld", ["-m", "elf_i386", "-Ttext", $"0x{TextAddress:X}", "-e", "f", .. objects, "-o", elf]);
            s_built[name] = elf;
            return elf;
        }
    }

    private static void Run(string tool, string[] arguments)
    {
        var psi = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in arguments)
        {
            psi.ArgumentList.Add(a);
        }
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {tool}; the guest objects need gcc and ld");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} did not finish within 2 minutes");
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} failed (exit code {process.ExitCode}):\n{stdout.Result}{stderr.Result}");
        }
    }
}
