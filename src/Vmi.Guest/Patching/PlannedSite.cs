using Vmi.Abi;
using Vmi.Guest.Image;

namespace Vmi.Guest.Patching;

/// <summary>One site and the exact bytes it holds once the kernel has patched it for the ROM's answer.</summary>
public sealed record PlannedSite(VmiSite Site, RelocationInfo Relocation, byte[] Bytes)
{
    /// <summary>Where the site's call or jump goes; null for NONE and NOP.</summary>
    public uint? Target => Relocation.Type is RelocationType.CallRel or RelocationType.JumpRel ? Relocation.Eip : null;
}
