using System.Buffers.Binary;
using Vmi.Abi;

namespace Vmi.Guest.Image;

/// <summary>
/// Decodes and checks the <c>.vmi_sites</c> records (guest/arch/vmi_site.h): 8 bytes each,
/// <c>u32 address, u16 call, u8 length, u8 clobbers</c>, little-endian, absolute after linking.
/// </summary>
internal static class SiteTable
{
    public const string SectionName = ".vmi_sites";
    public const int RecordSize = 8;

    private const int CallOffset = 4;
    private const int LengthOffset = 6;

    /// <summary>
    /// The sites of <paramref name="table"/>, found at file offset <paramref name="fileOffset"/>, in record order.
    /// Every record must name an API 3.x call and lie, whole and at least 5 bytes long, inside one
    /// executable section, apart from every other site: the kernel rewrites each one in place.
    /// </summary>
    public static List<VmiSite> Read(ReadOnlySpan<byte> table, long fileOffset, IReadOnlyList<CodeSection> sections, IReadOnlyList<CodeRegion> regions)
    {
        if (table.Length % RecordSize != 0)
        {
            throw new GuestImageException(fileOffset + table.Length - table.Length % RecordSize, SectionName,
                $"size {table.Length} is not a multiple of the {RecordSize}-byte record ({table.Length % RecordSize} bytes left over)");
        }
        var sites = new List<VmiSite>(table.Length / RecordSize);
        for (int i = 0; i < table.Length / RecordSize; i++)
        {
            ReadOnlySpan<byte> record = table.Slice(i * RecordSize, RecordSize);
            long at = fileOffset + i * RecordSize;
            uint address = BinaryPrimitives.ReadUInt32LittleEndian(record);
            ushort call = BinaryPrimitives.ReadUInt16LittleEndian(record[CallOffset..]);
            int length = record[LengthOffset];
            var clobbers = (SiteClobbers)record[LengthOffset + 1];
            if (!VmiCalls.IsDefined(call))
            {
                throw new GuestImageException(at + CallOffset, "call", $"{call} is not a VMI API 3.x call number (0..{VmiCalls.Count - 1})", i);
            }
            if (length < RelocationInfo.MinSiteLength)
            {
                throw new GuestImageException(at + LengthOffset, "length",
                    $"is {length}, must be at least {RelocationInfo.MinSiteLength} (room for E8/E9 rel32) at 0x{address:X8}", i);
            }
            CodeSection section = sections.FirstOrDefault(s => s.Contains(address, 1))
                ?? throw new GuestImageException(at, "address", $"0x{address:X8} is in no executable section", i);
            if (!section.Contains(address, length))
            {
                throw new GuestImageException(at + LengthOffset, "length",
                    $"{length} bytes at 0x{address:X8} run past the end of {section.Name} (0x{section.End:X8})", i);
            }
            string? function = CodeMap.Find(regions, address)?.Name;
            sites.Add(new VmiSite(i, address, (VmiCall)call, length, clobbers, section.Slice(address, length).ToArray(), function));
        }
        CheckNoOverlap(sites, fileOffset);
        return sites;
    }

    private static void CheckNoOverlap(List<VmiSite> sites, long fileOffset)
    {
        VmiSite[] byAddress = [.. sites.OrderBy(s => s.Address).ThenBy(s => s.Index)];
        for (int i = 1; i < byAddress.Length; i++)
        {
            VmiSite before = byAddress[i - 1], site = byAddress[i];
            if (site.Address < before.Address + (ulong)before.Length)
            {
                VmiSite later = site.Index > before.Index ? site : before, earlier = later == site ? before : site;
                throw new GuestImageException(fileOffset + later.Index * RecordSize, "address",
                    $"site 0x{later.Address:X8}+{later.Length} overlaps record {earlier.Index} (0x{earlier.Address:X8}+{earlier.Length})", later.Index);
            }
        }
    }
}
