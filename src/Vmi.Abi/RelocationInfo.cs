namespace Vmi.Abi;

/// <summary>
/// get_reloc's answer: 8 bytes returned in EDX:EAX — <c>eip</c> (u32, absolute linear address) in EAX,
/// <c>type</c> in DL, then 3 reserved bytes (the rest of EDX).
/// </summary>
public readonly record struct RelocationInfo(uint Eip, RelocationType Type)
{
    /// <summary>The size of the relocation record.</summary>
    public const int Size = 8;

    /// <summary>A site must be at least this long to take an <c>E8/E9 rel32</c> (Linux treated shorter sites as a kernel bug).</summary>
    public const int MinSiteLength = 5;

    /// <summary>Whether <see cref="Type"/> is one of the four types the ABI defines.</summary>
    public bool IsKnownType => Type <= RelocationType.Nop;

    /// <summary>Decodes EDX:EAX; the reserved bytes (EDX bits 31..8) are ignored.</summary>
    public static RelocationInfo FromRegisters(uint eax, uint edx) => new(eax, (RelocationType)(byte)edx);

    /// <summary>Encodes as EDX:EAX with the reserved bytes zero.</summary>
    public (uint Eax, uint Edx) ToRegisters() => (Eip, (uint)Type);

    /// <summary>The displacement of an <c>E8/E9 rel32</c> at <paramref name="site"/>: <c>target - (site + 5)</c>.</summary>
    public static int Rel32(uint site, uint target) => unchecked((int)(target - (site + 5)));
}
