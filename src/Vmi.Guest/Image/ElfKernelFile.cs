using ELFSharp.ELF;
using ELFSharp.ELF.Sections;

namespace Vmi.Guest.Image;

/// <summary>
/// What the site tools need from an ELF32 i386 executable, read with ELFSharp: executable sections,
/// the site table's bytes, and code symbols. Only the identification bytes are checked by hand, so
/// that a wrong class or byte order is named as such instead of as an ELFSharp parse failure.
/// </summary>
internal sealed record ElfKernelFile(uint EntryPoint, IReadOnlyList<CodeSection> CodeSections, IReadOnlyList<CodeSymbol> Symbols, byte[]? SiteTable, long SiteTableOffset)
{
    private const int IdentClass = 4;
    private const int IdentData = 5;
    private const int TypeOffset = 16;
    private const int MachineOffset = 18;
    private const int Elf32HeaderSize = 52;

    private static ReadOnlySpan<byte> Magic => [0x7F, (byte)'E', (byte)'L', (byte)'F'];

    public static ElfKernelFile Read(byte[] file)
    {
        CheckIdentification(file);
        ELF<uint> elf;
        try
        {
            elf = ELFReader.Load<uint>(new MemoryStream(file, writable: false), shouldOwnStream: true);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // ELFSharp reads every header and symbol table up front; what fails here is a header
            // or table that points past the end of the file or holds nonsense.
            throw new GuestImageException(file.Length, "ELF headers",
                $"unreadable ({(e is EndOfStreamException ? "the file ends inside them: truncated?" : e.Message)})");
        }
        using (elf)
        {
            if (elf.Type != FileType.Executable)
            {
                throw new GuestImageException(TypeOffset, "e_type",
                    $"is {elf.Type}, must be Executable (site addresses are final only after linking)");
            }
            if (elf.Machine != Machine.Intel386)
            {
                throw new GuestImageException(MachineOffset, "e_machine", $"is {elf.Machine}, must be Intel386 (3)");
            }
            var code = new List<CodeSection>();
            var codeIndex = new Dictionary<int, CodeSection>();
            byte[]? sites = null;
            long sitesOffset = 0;
            for (int i = 0; i < elf.Sections.Count; i++)
            {
                Section<uint> s = elf.Sections[i];
                if (s.Name == Image.SiteTable.SectionName)
                {
                    if (sites is not null)
                    {
                        throw new GuestImageException(s.Offset, s.Name, "a second section of this name (the linker should have merged them)");
                    }
                    sites = Contents(file, s);
                    sitesOffset = s.Offset;
                }
                else if (s.Type == SectionType.ProgBits && s.Flags.HasFlag(SectionFlags.Allocatable | SectionFlags.Executable))
                {
                    var section = new CodeSection(s.Name, s.LoadAddress, Contents(file, s));
                    code.Add(section);
                    codeIndex[i] = section;
                }
            }
            return new ElfKernelFile(elf.EntryPoint, code, CodeSymbols(elf, codeIndex), sites, sitesOffset);
        }
    }

    private static void CheckIdentification(byte[] file)
    {
        if (file.Length < 4 || !file.AsSpan(0, 4).SequenceEqual(Magic))
        {
            throw new GuestImageException(0, "e_ident", "not an ELF file (no 7F 45 4C 46 magic)");
        }
        if (file.Length < Elf32HeaderSize)
        {
            throw new GuestImageException(file.Length, "ELF header", $"the file ends after {file.Length} bytes; an ELF32 header is {Elf32HeaderSize}");
        }
        if (file[IdentClass] != 1)
        {
            throw new GuestImageException(IdentClass, "e_ident[EI_CLASS]",
                $"is {file[IdentClass]}{(file[IdentClass] == 2 ? " (ELFCLASS64)" : "")}, must be 1 (ELFCLASS32)");
        }
        if (file[IdentData] != 1)
        {
            throw new GuestImageException(IdentData, "e_ident[EI_DATA]", $"is {file[IdentData]}, must be 1 (little-endian)");
        }
    }

    /// <summary>A section's bytes, checked to lie in the file (ELFSharp would silently return fewer).</summary>
    private static byte[] Contents(byte[] file, Section<uint> s)
    {
        if (s.Type != SectionType.ProgBits)
        {
            throw new GuestImageException(s.Offset, s.Name, $"is {s.Type}, must be ProgBits (bytes in the file)");
        }
        if ((ulong)s.Offset + s.Size > (ulong)file.Length)
        {
            throw new GuestImageException(s.Offset, s.Name,
                $"{s.Size} bytes at offset 0x{s.Offset:X} run past the end of the file (0x{file.Length:X}): truncated?");
        }
        return file.AsSpan((int)s.Offset, (int)s.Size).ToArray();
    }

    /// <summary>Functions and untyped labels that point into an executable section (.symtab, else .dynsym).</summary>
    private static List<CodeSymbol> CodeSymbols(ELF<uint> elf, Dictionary<int, CodeSection> codeIndex)
    {
        SymbolTable<uint>? table = elf.GetSections<SymbolTable<uint>>().OrderBy(t => t.Type == SectionType.SymbolTable ? 0 : 1).FirstOrDefault();
        if (table is null)
        {
            return [];
        }
        return table.Entries
            .Where(e => e.Type is SymbolType.Function or SymbolType.NotSpecified && e.Name.Length > 0
                && codeIndex.TryGetValue(e.PointedSectionIndex, out CodeSection? section) && e.Value >= section.Address && e.Value < section.End)
            .Select(e => new CodeSymbol(e.Name, e.Value, e.Size, e.Type == SymbolType.Function, e.Binding is SymbolBinding.Global or SymbolBinding.Weak))
            .ToList();
    }
}
