using System.Buffers.Binary;

namespace Vmi.Machine.Boot;

/// <summary>What a loader found to put in memory; <see cref="SegmentOrigins"/> are the file offsets of the
/// fields each segment came from, so later checks can point at them.</summary>
internal sealed record LoadPlan(IReadOnlyList<LoadSegment> Segments, IReadOnlyList<long> SegmentOrigins, uint EntryPoint);

/// <summary>
/// Reads the loadable part of an ELF32 i386 executable.
/// </summary>
/// <remarks>
/// Hand-written on purpose rather than a general ELF library: on a boot path every malformed
/// field must become a precise error naming the field and its file offset (as QEMU's multiboot
/// loader does), and we need only the executable header and PT_LOAD program headers.
/// Addresses come from p_paddr, like QEMU, so kernels linked high with a low load address work.
/// </remarks>
internal static class Elf32Reader
{
    private const int EhdrSize = 52;
    private const int PhdrSize = 32;
    private const ushort EtExec = 2;
    private const ushort EmI386 = 3;
    private const uint PtLoad = 1;
    private const uint PfExecute = 1;
    private const uint PfWrite = 2;
    private const ushort PnXnum = 0xFFFF;

    // Elf32_Ehdr field offsets.
    private const int EiClass = 4, EiData = 5, EiVersion = 6;
    private const int EType = 16, EMachine = 18, EEntry = 24, EPhoff = 28, EPhentsize = 42, EPhnum = 44;

    // Elf32_Phdr field offsets.
    private const int POffset = 4, PVaddr = 8, PPaddr = 12, PFilesz = 16, PMemsz = 20, PFlags = 24;

    public static bool HasElfMagic(ReadOnlySpan<byte> file) =>
        file.Length >= 4 && file[0] == 0x7F && file[1] == (byte)'E' && file[2] == (byte)'L' && file[3] == (byte)'F';

    public static LoadPlan Read(ReadOnlySpan<byte> file)
    {
        CheckIdent(file);

        ushort type = U16(file, EType);
        if (type != EtExec)
            throw new BootImageException($"ELF e_type is {type} ({TypeName(type)}), expected 2 (ET_EXEC): link the kernel as a static executable", EType);
        ushort machine = U16(file, EMachine);
        if (machine != EmI386)
            throw new BootImageException($"ELF e_machine is {machine} ({MachineName(machine)}), expected 3 (EM_386)", EMachine);

        var (phoff, phentsize, phnum) = ReadProgramHeaderTable(file);

        var segments = new List<LoadSegment>();
        var origins = new List<long>();
        var executableRanges = new List<(uint Vaddr, uint Paddr, uint FileSize)>();
        for (int i = 0; i < phnum; i++)
        {
            long ph = phoff + (long)i * phentsize;
            if (U32(file, ph) != PtLoad)
                continue;
            uint offset = U32(file, ph + POffset);
            uint vaddr = U32(file, ph + PVaddr);
            uint paddr = U32(file, ph + PPaddr);
            uint filesz = U32(file, ph + PFilesz);
            uint memsz = U32(file, ph + PMemsz);
            uint flags = U32(file, ph + PFlags);

            if (filesz > memsz)
                throw new BootImageException($"ELF program header {i}: p_filesz 0x{filesz:X} is larger than p_memsz 0x{memsz:X}", ph + PFilesz);
            if ((long)offset + filesz > file.Length)
            {
                throw new BootImageException(
                    $"ELF program header {i}: file range [0x{offset:X}, 0x{(long)offset + filesz:X}) (p_offset, p_filesz) extends past the end of the {file.Length}-byte file",
                    ph + POffset);
            }
            if ((ulong)paddr + memsz > 1UL << 32)
                throw new BootImageException($"ELF program header {i}: p_paddr 0x{paddr:X8} + p_memsz 0x{memsz:X} wraps past 4 GiB", ph + PPaddr);
            if (memsz == 0)
                continue; // nothing to place; QEMU skips these too

            var segment = new LoadSegment(paddr, file.Slice((int)offset, (int)filesz).ToArray(), memsz) { Writable = (flags & PfWrite) != 0 };
            for (int j = 0; j < segments.Count; j++)
            {
                if (segment.PhysicalAddress < segments[j].EndAddress && segments[j].PhysicalAddress < segment.EndAddress)
                {
                    throw new BootImageException(
                        $"ELF program header {i}: [0x{paddr:X8}, 0x{segment.EndAddress:X8}) (p_paddr, p_memsz) overlaps loadable segment {j} " +
                        $"[0x{segments[j].PhysicalAddress:X8}, 0x{segments[j].EndAddress:X8})",
                        ph + PPaddr);
                }
            }
            segments.Add(segment);
            origins.Add(ph);
            if ((flags & PfExecute) != 0)
                executableRanges.Add((vaddr, paddr, filesz));
        }

        if (segments.Count == 0)
            throw new BootImageException($"ELF file has no non-empty PT_LOAD program header among its {phnum}", EPhoff);

        uint entry = TranslateEntry(U32(file, EEntry), executableRanges);
        if (!segments.Any(s => entry >= s.PhysicalAddress && entry < s.EndAddress))
            throw new BootImageException($"ELF e_entry 0x{U32(file, EEntry):X8} (physical 0x{entry:X8}) is not inside any loadable segment", EEntry);

        return new LoadPlan(segments, origins, entry);
    }

    private static void CheckIdent(ReadOnlySpan<byte> file)
    {
        if (!HasElfMagic(file))
            throw new BootImageException("not an ELF file: e_ident does not start with 7F 'E' 'L' 'F'", 0);
        if (file.Length < EiVersion + 1)
            throw new BootImageException($"ELF file truncated: {file.Length} bytes is shorter than e_ident", file.Length);
        byte cls = file[EiClass];
        if (cls == 2)
        {
            throw new BootImageException(
                "ELF64 image (e_ident[EI_CLASS] = 2): multiboot v1 boots 32-bit ELF only; link the kernel for i386 (gcc -m32, ld -m elf_i386)",
                EiClass);
        }
        if (cls != 1)
            throw new BootImageException($"ELF e_ident[EI_CLASS] is {cls}, expected 1 (ELFCLASS32)", EiClass);
        if (file[EiData] != 1)
            throw new BootImageException($"ELF e_ident[EI_DATA] is {file[EiData]}, expected 1 (little-endian)", EiData);
        if (file[EiVersion] != 1)
            throw new BootImageException($"ELF e_ident[EI_VERSION] is {file[EiVersion]}, expected 1 (EV_CURRENT)", EiVersion);
        if (file.Length < EhdrSize)
            throw new BootImageException($"ELF file truncated: {file.Length} bytes is shorter than the {EhdrSize}-byte ELF32 header", file.Length);
    }

    private static (long Phoff, int Phentsize, int Phnum) ReadProgramHeaderTable(ReadOnlySpan<byte> file)
    {
        uint phoff = U32(file, EPhoff);
        ushort phentsize = U16(file, EPhentsize);
        ushort phnum = U16(file, EPhnum);
        if (phnum == 0)
            throw new BootImageException("ELF e_phnum is 0: the file has no program headers, so nothing to load", EPhnum);
        if (phnum == PnXnum)
            throw new BootImageException("ELF e_phnum is PN_XNUM (0xFFFF, extended numbering), which is not supported", EPhnum);
        if (phentsize < PhdrSize)
            throw new BootImageException($"ELF e_phentsize is {phentsize}, smaller than the {PhdrSize}-byte Elf32_Phdr", EPhentsize);
        long end = phoff + (long)phentsize * phnum;
        if (end > file.Length)
        {
            throw new BootImageException(
                $"ELF program header table [0x{phoff:X}, 0x{end:X}) (e_phoff, e_phnum {phnum} x e_phentsize {phentsize}) extends past the end of the {file.Length}-byte file",
                EPhoff);
        }
        return (phoff, phentsize, phnum);
    }

    /// <summary>
    /// e_entry is a virtual address. When an executable segment is linked at a vaddr different from
    /// its paddr and contains the entry, jump to the physical copy, exactly as QEMU's ELF loader does.
    /// </summary>
    private static uint TranslateEntry(uint entry, List<(uint Vaddr, uint Paddr, uint FileSize)> executable)
    {
        foreach (var (vaddr, paddr, fileSize) in executable)
        {
            if (vaddr != paddr && entry >= vaddr && (ulong)entry < (ulong)vaddr + fileSize)
                return unchecked(entry - vaddr + paddr);
        }
        return entry;
    }

    private static string TypeName(ushort type) => type switch
    {
        0 => "ET_NONE",
        1 => "ET_REL, an object file",
        3 => "ET_DYN, a shared object or PIE",
        4 => "ET_CORE",
        _ => "unknown",
    };

    private static string MachineName(ushort machine) => machine switch
    {
        0 => "EM_NONE",
        6 => "EM_486",
        40 => "ARM",
        62 => "x86-64",
        183 => "AArch64",
        243 => "RISC-V",
        _ => "not i386",
    };

    private static ushort U16(ReadOnlySpan<byte> file, long offset) => BinaryPrimitives.ReadUInt16LittleEndian(file.Slice((int)offset, 2));

    private static uint U32(ReadOnlySpan<byte> file, long offset) => BinaryPrimitives.ReadUInt32LittleEndian(file.Slice((int)offset, 4));
}
