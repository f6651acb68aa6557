namespace Vmi.Guest.Image;

/// <summary>
/// A site record's clobber mask (guest/arch/vmi_site.h VMI_CLOBBER_*): the registers the ROM's
/// implementation may change besides its results. Bits the header does not define are kept as read.
/// </summary>
[Flags]
public enum SiteClobbers : byte
{
    None = 0x00,
    Eax = 0x01,
    Ecx = 0x02,
    Edx = 0x04,

    /// <summary>What an ordinary ROM call may clobber (the ABI's calling convention).</summary>
    Call = Eax | Ecx | Edx,
}

public static class SiteClobbersText
{
    /// <summary>"eax,ecx,edx", "none", or the hex mask when it has bits the header does not define.</summary>
    public static string Describe(this SiteClobbers c)
    {
        if (((byte)c & ~(byte)SiteClobbers.Call) != 0)
        {
            return $"0x{(byte)c:X2}";
        }
        if (c == SiteClobbers.None)
        {
            return "none";
        }
        var names = new List<string>(3);
        if (c.HasFlag(SiteClobbers.Eax)) names.Add("eax");
        if (c.HasFlag(SiteClobbers.Ecx)) names.Add("ecx");
        if (c.HasFlag(SiteClobbers.Edx)) names.Add("edx");
        return string.Join(',', names);
    }
}
