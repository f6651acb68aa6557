using System.Buffers.Binary;

namespace Vmi.Machine.Boot;

/// <summary>
/// Lays out a Linux boot by the 32-bit boot protocol (Documentation/x86/boot.rst): the kernel,
/// then the zero page, command line, boot GDT and initrd in the RAM the kernel leaves free.
/// </summary>
/// <remarks>
/// <para>The kernel. When the host can decompress the payload (<see cref="KernelPayload"/>), the
/// result is the vmlinux ELF: its PT_LOAD segments go to their physical addresses (p_paddr) and
/// the CPU starts at its physical entry, startup_32 in arch/x86/kernel/head_32.S, which is where
/// the kernel's own decompressor would have jumped. A relocatable kernel loaded at the address it
/// was linked for (p_paddr is LOAD_PHYSICAL_ADDR) needs none of the relocations appended to the
/// payload: the decompressor applies them only for the difference between that address and where
/// it put the kernel, here zero. Otherwise the protected-mode part is loaded at 1 MiB and started
/// at code32_start, and the kernel decompresses itself.</para>
/// <para>What startup_32 (and the decompressor's entry) expect, per boot.rst and head_32.S: protected
/// mode, paging and interrupts off, CS a flat 4 GiB code segment at __BOOT_CS (0x10), DS, ES, SS,
/// FS and GS flat data at __BOOT_DS (0x18), from a GDT that exists in memory (the kernel reloads
/// the selectors before its own LGDT in some paths); ESI the zero page, which it copies before it
/// touches anything, and EBP, EDI, EBX zero. It clears its own bss; the loader zeroes it anyway.</para>
/// <para>Placement. The kernel's footprint, [runtime start, runtime start + init_size) with the
/// runtime start computed from pref_address and kernel_alignment as boot.rst gives it, is taken
/// whole, as is the compressed image at 1 MiB when the kernel decompresses itself, so nothing the
/// loader writes lies where the kernel will unpack or grow. The boot GDT, zero page and command
/// line go low (first fit from 0x500, 0x10000 and 0x20000, QEMU's addresses for its real-mode part
/// and command line), the initrd page-aligned as high as it fits below both initrd_addr_max and
/// the end of RAM, as boot.rst recommends and QEMU does.</para>
/// </remarks>
public static class LinuxLoader
{
    public const ushort BootCodeSelector = 0x10;
    public const ushort BootDataSelector = 0x18;
    public const int BootGdtSize = 32;
    public const uint InitrdAlignment = 4096;
    public const uint PreferredZeroPage = 0x0001_0000;
    public const uint PreferredCommandLine = 0x0002_0000;

    /// <summary>The most vmlinux the host decompresses, whatever the RAM: a 32-bit kernel is a few tens of MiB.</summary>
    public const long MaxDecompressedBytes = 256L << 20;

    /// <summary>
    /// Plans the boot of <paramref name="image"/> on <paramref name="ramBytes"/> of RAM. With
    /// <paramref name="hostDecompression"/> false the kernel always decompresses itself.
    /// </summary>
    public static LinuxBootPlan Plan(ReadOnlySpan<byte> image, uint ramBytes, ReadOnlySpan<byte> commandLine, byte[]? initrd, bool hostDecompression = true)
    {
        if (ramBytes < GuestLayout.MinimumRamBytes)
        {
            throw new BootImageException($"RAM size 0x{ramBytes:X} bytes is below the minimum 0x{GuestLayout.MinimumRamBytes:X} (2 MiB)");
        }
        LinuxSetupHeader header = LinuxSetupHeader.Parse(image);
        CheckCommandLine(header, commandLine);

        ulong runtime = header.RuntimeStart(LinuxSetupHeader.ProtectedModeLoadAddress);
        ulong footprintEnd = runtime + header.InitSize;
        if (footprintEnd > ramBytes)
        {
            throw new BootImageException(
                $"Linux setup header field init_size (offset 0x{LinuxSetupHeader.InitSizeOffset:X}) is 0x{header.InitSize:X}: the kernel needs RAM " +
                $"[0x{runtime:X8}, 0x{footprintEnd:X8}) from where it runs, but the machine has 0x{ramBytes:X8} bytes (give it more with --memory)",
                LinuxSetupHeader.InitSizeOffset);
        }

        var ram = new GuestRamAllocator(ramBytes);
        ram.Take(runtime, footprintEnd, "the kernel's footprint (init_size)");
        var kernel = LoadKernel(image, header, ramBytes, hostDecompression);
        for (int i = 0; i < kernel.Segments.Count; i++)
        {
            LoadSegment s = kernel.Segments[i];
            ram.Take(s.PhysicalAddress, s.EndAddress, kernel.HostDecompressed ? $"vmlinux segment {i}" : "the compressed kernel");
        }

        uint gdt = ram.Place(BootGdtSize, 8, "the boot GDT", GuestLayout.PreferredBootGdt);
        uint zeroPage = ram.Place(LinuxZeroPage.Size, 4096, "the zero page", PreferredZeroPage);
        uint cmdline = ram.Place((ulong)commandLine.Length + 1, 16, "the command line", PreferredCommandLine);
        PlacedBlock? initrdBlock = null;
        if (initrd is { Length: > 0 })
        {
            ulong limit = Math.Min((ulong)header.InitrdAddrMax + 1, ramBytes);
            initrdBlock = new PlacedBlock(ram.PlaceHighest((ulong)initrd.Length, InitrdAlignment, $"the initrd (below initrd_addr_max 0x{header.InitrdAddrMax:X8} and the end of RAM)", limit), initrd);
        }

        byte[] page = LinuxZeroPage.Build(image, header, E820Map.For(ramBytes), cmdline, initrdBlock?.Address ?? 0, (uint)(initrdBlock?.Bytes.Length ?? 0));
        return new LinuxBootPlan
        {
            Header = header,
            PayloadFormat = kernel.Format,
            HostDecompressed = kernel.HostDecompressed,
            DecompressedBytes = kernel.DecompressedBytes,
            FallbackReason = kernel.FallbackReason,
            Segments = kernel.Segments,
            Footprint = (runtime, footprintEnd),
            ZeroPage = new PlacedBlock(zeroPage, page),
            CommandLine = new PlacedBlock(cmdline, [.. commandLine, 0]),
            Initrd = initrdBlock,
            Gdt = new PlacedBlock(gdt, BootGdt()),
            EntryPoint = kernel.Entry,
        };
    }

    private sealed record LoadedKernel(IReadOnlyList<LoadSegment> Segments, uint Entry, PayloadFormat Format, bool HostDecompressed, long DecompressedBytes, string? FallbackReason);

    private static LoadedKernel LoadKernel(ReadOnlySpan<byte> image, LinuxSetupHeader header, uint ramBytes, bool hostDecompression)
    {
        long payloadAt = header.SetupBytes + header.PayloadOffset;
        ReadOnlySpan<byte> payload = header.Payload(image);
        PayloadFormat format = KernelPayload.Detect(payload);
        string? fallback = "host decompression was turned off (--guest-decompress)";
        if (hostDecompression)
        {
            DecompressedPayload decompressed = KernelPayload.Decompress(payload, Math.Min(ramBytes, MaxDecompressedBytes), payloadAt);
            if (decompressed.Vmlinux is byte[] vmlinux)
            {
                LoadPlan elf = ReadVmlinux(vmlinux, format, payloadAt);
                CheckVmlinuxSegments(elf, ramBytes);
                return new LoadedKernel(elf.Segments, elf.EntryPoint, format, true, vmlinux.Length, null);
            }
            fallback = decompressed.NotHandled;
        }

        ReadOnlySpan<byte> protectedMode = header.ProtectedModePart(image);
        uint load = LinuxSetupHeader.ProtectedModeLoadAddress;
        if (load + (ulong)protectedMode.Length > ramBytes)
        {
            throw new BootImageException($"the protected-mode part (0x{protectedMode.Length:X} bytes from 0x{load:X8}) does not fit RAM of 0x{ramBytes:X8} bytes");
        }
        if (header.Code32Start < load || header.Code32Start >= load + (ulong)protectedMode.Length)
        {
            throw new BootImageException(
                $"Linux setup header field code32_start (offset 0x{LinuxSetupHeader.Code32StartOffset:X}) is 0x{header.Code32Start:X8}: " +
                $"it must point into the protected-mode part loaded at [0x{load:X8}, 0x{load + (ulong)protectedMode.Length:X8})",
                LinuxSetupHeader.Code32StartOffset);
        }
        var segment = new LoadSegment(load, protectedMode.ToArray(), (uint)protectedMode.Length);
        return new LoadedKernel([segment], header.Code32Start, format, false, 0, fallback);
    }

    private static LoadPlan ReadVmlinux(byte[] vmlinux, PayloadFormat format, long payloadAt)
    {
        try
        {
            return Elf32Reader.Read(vmlinux);
        }
        catch (BootImageException e)
        {
            throw new BootImageException($"the decompressed payload ({KernelPayload.Name(format)}) is not a loadable vmlinux: {e.Message}", payloadAt);
        }
    }

    /// <summary>vmlinux's segments must be in RAM above 1 MiB: below lie the loader's structures and the BIOS's holes.</summary>
    private static void CheckVmlinuxSegments(LoadPlan elf, uint ramBytes)
    {
        for (int i = 0; i < elf.Segments.Count; i++)
        {
            LoadSegment s = elf.Segments[i];
            if (s.PhysicalAddress < GuestLayout.HighMemoryStart || s.EndAddress > ramBytes)
            {
                throw new BootImageException(
                    $"vmlinux segment {i} [0x{s.PhysicalAddress:X8}, 0x{s.EndAddress:X8}) (p_paddr, p_memsz) is outside RAM above 1 MiB [0x{GuestLayout.HighMemoryStart:X8}, 0x{ramBytes:X8})");
            }
        }
    }

    private static void CheckCommandLine(LinuxSetupHeader header, ReadOnlySpan<byte> commandLine)
    {
        if (commandLine.IndexOf((byte)0) is int nul and >= 0)
        {
            throw new BootImageException($"command line contains a NUL byte at index {nul}; the kernel would see it truncated");
        }
        // cmdline_size is the longest string the kernel takes, not counting the terminating NUL.
        if ((uint)commandLine.Length > header.CmdlineSize)
        {
            throw new BootImageException(
                $"the command line is {commandLine.Length} bytes, longer than the kernel's cmdline_size (offset 0x{LinuxSetupHeader.CmdlineSizeOffset:X}) of {header.CmdlineSize}",
                LinuxSetupHeader.CmdlineSizeOffset);
        }
    }

    /// <summary>Null, null, then flat 4 GiB code (0x10) and data (0x18): the selectors __BOOT_CS and __BOOT_DS name.</summary>
    private static byte[] BootGdt()
    {
        var gdt = new byte[BootGdtSize];
        BinaryPrimitives.WriteUInt64LittleEndian(gdt.AsSpan(BootCodeSelector), 0x00CF_9B00_0000_FFFF);
        BinaryPrimitives.WriteUInt64LittleEndian(gdt.AsSpan(BootDataSelector), 0x00CF_9300_0000_FFFF);
        return gdt;
    }
}
