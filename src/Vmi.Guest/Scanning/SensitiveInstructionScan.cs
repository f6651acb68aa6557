using Iced.Intel;
using Vmi.Guest.Image;

namespace Vmi.Guest.Scanning;

/// <summary>
/// Finds the privileged or sensitive instructions of a kernel that no patch site covers: the ones
/// a ROM can never redirect, so the kernel would execute them natively under any hypervisor.
/// </summary>
public static class SensitiveInstructionScan
{
    /// <summary>
    /// Decodes every code region of <paramref name="image"/> (function by function, see
    /// <see cref="CodeRegion"/>) and lists each sensitive instruction that starts outside every site,
    /// in address order. Code of a function named in <paramref name="exemptFunctions"/> (any of its
    /// symbol names) is not reported: code that runs before VMI is activated, like the entry stub.
    /// </summary>
    public static IReadOnlyList<SensitiveInstruction> Run(GuestKernelImage image, IEnumerable<string>? exemptFunctions = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        var exempt = new HashSet<string>(exemptFunctions ?? [], StringComparer.Ordinal);
        VmiSite[] sites = [.. image.Sites.OrderBy(s => s.Address)];
        var formatter = new NasmFormatter();
        var text = new StringOutput();
        var found = new List<SensitiveInstruction>();
        foreach (CodeRegion region in image.Regions)
        {
            if (region.Aliases.Any(exempt.Contains))
            {
                continue;
            }
            int offset = (int)(region.Start - region.Section.Address);
            var reader = new ByteArrayCodeReader(region.Section.Bytes, offset, (int)(region.End - region.Start));
            var decoder = Decoder.Create(32, reader);
            decoder.IP = region.Start;
            // Until the region's bytes are used up: an instruction cut off by the region's end decodes as invalid.
            while (reader.CanReadByte)
            {
                decoder.Decode(out Instruction instruction);
                if (instruction.IsInvalid || !SensitiveInstructions.IsSensitive(instruction) || InSite(sites, (uint)instruction.IP))
                {
                    continue;
                }
                formatter.Format(instruction, text);
                found.Add(new SensitiveInstruction((uint)instruction.IP, region.Name, text.ToStringAndReset()));
            }
        }
        return found;
    }

    /// <summary>Whether <paramref name="address"/> is a byte of a site (<paramref name="byAddress"/> sorted, sites never overlap).</summary>
    private static bool InSite(VmiSite[] byAddress, uint address)
    {
        int lo = 0, hi = byAddress.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (address < byAddress[mid].Address)
            {
                hi = mid - 1;
            }
            else if (byAddress[mid].Contains(address))
            {
                return true;
            }
            else
            {
                lo = mid + 1;
            }
        }
        return false;
    }
}
