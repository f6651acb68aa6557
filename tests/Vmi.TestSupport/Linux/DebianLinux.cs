namespace Vmi.TestSupport.Linux;

/// <summary>
/// Debian's unmodified i386 kernel and static busybox, fetched from Debian's package registry by
/// tests/linux/fetch-debian.sh (never committed), and the initramfs the tests boot: busybox and
/// tests/linux/init, whose output between "VMI-LINUX begin" and "VMI-LINUX end" is what a run is
/// judged by.
/// </summary>
public sealed class DebianLinux
{
    /// <summary>Overrides where the fetched files are (default tests/linux/debian).</summary>
    public const string DirectoryVariable = "VMI_DEBIAN_DIR";

    /// <summary>The kernel command line: serial console, no APIC/SMP (the machine has neither), no crypto self-tests or ISA PnP probing (boot time).</summary>
    public const string CommandLine = "console=ttyS0 cryptomgr.notests noisapnp noapic nolapic nosmp quiet";

    public const int MemoryMiB = 128;

    private DebianLinux(string directory, string versions)
    {
        Directory = directory;
        Versions = versions;
    }

    public string Directory { get; }

    /// <summary>The packages and versions fetched (versions.txt).</summary>
    public string Versions { get; }

    public string Kernel => Path.Combine(Directory, "vmlinuz");

    public string Busybox => Path.Combine(Directory, "busybox");

    /// <summary>The fetched files, or null with the reason they cannot be used.</summary>
    public static DebianLinux? Find(out string reason)
    {
        string dir = Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } d
            ? d
            : Path.Combine(QemuRunner.FindRepoRoot(), "tests", "linux", "debian");
        string versions = Path.Combine(dir, "versions.txt");
        if (!File.Exists(versions) || !File.Exists(Path.Combine(dir, "vmlinuz")) || !File.Exists(Path.Combine(dir, "busybox")))
        {
            reason = $"Debian's kernel and busybox are not in {dir}: run tests/linux/fetch-debian.sh (it needs Debian's package registry)";
            return null;
        }
        reason = "";
        return new DebianLinux(dir, File.ReadAllText(versions).Trim());
    }

    /// <summary>Writes the initramfs (busybox as /bin/busybox, tests/linux/init as /init, /dev/console) beside the kernel and returns its path.</summary>
    public string BuildInitramfs()
    {
        string init = Path.Combine(QemuRunner.FindRepoRoot(), "tests", "linux", "init");
        byte[] archive = new Initramfs()
            .AddDirectory("dev")
            .AddCharacterDevice("dev/console", 5, 1)
            .AddDirectory("bin")
            .AddExecutable("bin/busybox", File.ReadAllBytes(Busybox))
            .AddExecutable("init", File.ReadAllBytes(init))
            .ToArray();
        string path = Path.Combine(Directory, "initramfs.cpio");
        string temporary = path + $".{Environment.ProcessId}.tmp";
        File.WriteAllBytes(temporary, archive);
        File.Move(temporary, path, overwrite: true);
        return path;
    }

    /// <summary>The lines /init printed, from "VMI-LINUX begin" to "VMI-LINUX end" (kernel messages, which start with '[', left out).</summary>
    public static IReadOnlyList<string> MarkedLines(string console)
    {
        var lines = console.Replace("\r", "", StringComparison.Ordinal).Split('\n');
        int begin = Array.IndexOf(lines, "VMI-LINUX begin"), end = Array.IndexOf(lines, "VMI-LINUX end");
        if (begin < 0 || end < begin)
        {
            return [];
        }
        return lines[begin..(end + 1)].Where(l => !l.StartsWith('[')).ToList();
    }
}
