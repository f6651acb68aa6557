namespace Vmi.Machine.Boot;

/// <summary>A block of bytes the loader puts at a guest-physical address.</summary>
public sealed record PlacedBlock(uint Address, byte[] Bytes)
{
    public ulong End => Address + (ulong)Bytes.Length;
}

/// <summary>
/// Everything a Linux boot puts in guest RAM and where, with what the summary reports: the
/// protocol version, how the payload was handled, and the kernel's entry.
/// </summary>
public sealed record LinuxBootPlan
{
    public required LinuxSetupHeader Header { get; init; }

    public required PayloadFormat PayloadFormat { get; init; }

    /// <summary>The vmlinux the host decompressed and loads; false: the compressed image runs its own decompressor.</summary>
    public required bool HostDecompressed { get; init; }

    /// <summary>Bytes of vmlinux the host decompressed (0 when it did not).</summary>
    public required long DecompressedBytes { get; init; }

    /// <summary>Why the payload was left to the kernel's own decompressor, or null.</summary>
    public string? FallbackReason { get; init; }

    /// <summary>The kernel: vmlinux's PT_LOAD segments at p_paddr, or the protected-mode part at 1 MiB.</summary>
    public required IReadOnlyList<LoadSegment> Segments { get; init; }

    /// <summary>[start, end) the kernel needs from where it runs (init_size); nothing else is placed there.</summary>
    public required (ulong Start, ulong End) Footprint { get; init; }

    public required PlacedBlock ZeroPage { get; init; }

    /// <summary>The command line, NUL-terminated.</summary>
    public required PlacedBlock CommandLine { get; init; }

    /// <summary>The initrd, or null without one.</summary>
    public PlacedBlock? Initrd { get; init; }

    /// <summary>The boot GDT: flat code at <see cref="LinuxLoader.BootCodeSelector"/>, flat data at <see cref="LinuxLoader.BootDataSelector"/>.</summary>
    public required PlacedBlock Gdt { get; init; }

    /// <summary>Physical address the CPU starts at: vmlinux's startup_32, or code32_start.</summary>
    public required uint EntryPoint { get; init; }

    /// <summary>Lowest load address of the kernel's segments.</summary>
    public uint LoadAddress => Segments.Min(s => s.PhysicalAddress);

    /// <summary>One line for the run summary.</summary>
    public string Describe() =>
        $"Linux boot protocol {Header.VersionText}, payload {KernelPayload.Name(PayloadFormat)}" +
        (HostDecompressed
            ? $", decompressed on the host to {DecompressedBytes:N0} bytes, vmlinux loaded at 0x{LoadAddress:X8}"
            : $", left to the kernel's decompressor, image loaded at 0x{LoadAddress:X8}") +
        $", entry 0x{EntryPoint:X8}, zero page 0x{ZeroPage.Address:X8}" +
        (Initrd is { } i ? $", initrd 0x{i.Address:X8} ({i.Bytes.Length:N0} bytes)" : "");
}
