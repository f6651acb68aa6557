using System.Text;
using Vmi.Cpu;
using Vmi.Machine.Boot;

namespace Vmi.Machine;

/// <summary>Everything needed to build a VM. Guest time runs at <see cref="NominalHz"/> ticks per second, one tick per instruction.</summary>
public sealed record VmConfig
{
    public const uint DefaultMemoryBytes = 64u << 20;

    /// <summary>1 GHz nominal clock: one retired instruction is one nanosecond of guest time.</summary>
    public const long DefaultNominalHz = 1_000_000_000;

    public uint MemoryBytes { get; init; } = DefaultMemoryBytes;

    /// <summary>
    /// The command line handed to the kernel (multiboot cmdline), byte for byte: a kernel command
    /// line is bytes, not text, and QEMU passes it through unchanged.
    /// </summary>
    public byte[] CommandLineBytes { get; init; } = [];

    /// <summary>Convenience view of <see cref="CommandLineBytes"/> as UTF-8 text.</summary>
    public string CommandLine
    {
        get => Encoding.UTF8.GetString(CommandLineBytes);
        init => CommandLineBytes = Encoding.UTF8.GetBytes(value);
    }

    /// <summary>Multiboot modules loaded with the kernel (<c>qemu -initrd</c>), in order.</summary>
    public IReadOnlyList<MultibootModule> Modules { get; init; } = [];

    public CpuModel CpuModel { get; init; } = CpuModel.Pentium4;

    /// <summary>Memory a hypervisor backend keeps for itself beyond guest RAM (e.g. bt's descriptor tables); the guest never sees it.</summary>
    public uint HostMemoryBytes { get; init; }

    public long NominalHz { get; init; } = DefaultNominalHz;

    /// <summary>An option ROM image (e.g. a VMI ROM) to place in the ROM window, or null.</summary>
    public byte[]? OptionRom { get; init; }

    /// <summary>Physical address of <see cref="OptionRom"/>: 2 KiB aligned inside 0xC0000–0xDFFFF, where a VMI kernel scans.</summary>
    public uint OptionRomBase { get; init; } = DefaultOptionRomBase;

    public const uint DefaultOptionRomBase = 0xC0000;

    /// <summary>
    /// The date and time (UTC) the CMOS clock shows at power-on; from there it advances with guest
    /// time only, so a run is deterministic unless the caller passes the host's clock (<c>--rtc-base now</c>).
    /// </summary>
    public DateTime RtcStart { get; init; } = DefaultRtcStart;

    /// <summary>2026-01-01 00:00:00 UTC: fixed, so runs repeat, and recent, so neither a current distribution nor a 32-bit time_t objects.</summary>
    public static readonly DateTime DefaultRtcStart = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>Where the guest's COM1 output goes.</summary>
    public Stream SerialOutput { get; init; } = Stream.Null;
}

/// <summary>A VM could not be built from its configuration or kernel image (a user error: exit code 2).</summary>
public sealed class VmBuildException : Exception
{
    public VmBuildException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
