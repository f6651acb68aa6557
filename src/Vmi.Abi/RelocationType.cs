namespace Vmi.Abi;

/// <summary>What get_reloc tells the kernel to do at each patch site of a call (ABI relocation types).</summary>
public enum RelocationType : byte
{
    /// <summary>Keep the native instruction(s): native is right on this hypervisor.</summary>
    None = 0,

    /// <summary>Write <c>E8 rel32</c> to the ROM's implementation and NOP-fill the rest of the site.</summary>
    CallRel = 1,

    /// <summary>Write <c>E9 rel32</c>; only for calls that never return (IRET, SYSEXIT).</summary>
    JumpRel = 2,

    /// <summary>NOP-fill the whole site: the operation is unnecessary here.</summary>
    Nop = 3,
}

/// <summary>Names of the relocation types.</summary>
public static class RelocationTypes
{
    /// <summary>The type as the ABI writes it ("CALL_REL"); "unknown(N)" for a byte the ABI does not define.</summary>
    public static string AbiName(RelocationType t) => t switch
    {
        RelocationType.None => "NONE",
        RelocationType.CallRel => "CALL_REL",
        RelocationType.JumpRel => "JUMP_REL",
        RelocationType.Nop => "NOP",
        _ => $"unknown({(byte)t})",
    };
}
