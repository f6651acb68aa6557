using Vmi.Abi;

namespace Vmi.Guest.Image;

/// <summary>
/// One patch site of the kernel, as its <c>.vmi_sites</c> record and the linked file describe it.
/// </summary>
/// <param name="Index">The record's position in <c>.vmi_sites</c>.</param>
/// <param name="Address">Linear address of the site's first byte.</param>
/// <param name="Call">The VMI call the site performs.</param>
/// <param name="Length">Bytes in the site (at least <see cref="RelocationInfo.MinSiteLength"/>).</param>
/// <param name="Clobbers">What the ROM's implementation may clobber besides the results.</param>
/// <param name="NativeBytes">The site's bytes in the file: the native instruction(s) and NOP padding.</param>
/// <param name="Function">The symbol of the code that holds the site, when the file has one.</param>
public sealed record VmiSite(int Index, uint Address, VmiCall Call, int Length, SiteClobbers Clobbers, byte[] NativeBytes, string? Function)
{
    /// <summary>Whether <paramref name="address"/> is one of the site's bytes.</summary>
    public bool Contains(uint address) => address >= Address && address - Address < (uint)Length;
}
