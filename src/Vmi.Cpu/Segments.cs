namespace Vmi.Cpu;

/// <summary>The hidden part of a segment register, as loaded from a descriptor (or real-mode rules).</summary>
public struct SegmentCache
{
    public ushort Selector;
    public uint Base;

    /// <summary>Byte-granular limit (already scaled by the granularity bit).</summary>
    public uint Limit;

    /// <summary>Descriptor access byte (type, S, DPL, P) in bits 0..7 and the flags nibble (AVL, L, D/B, G) in bits 12..15.</summary>
    public ushort Attributes;

    /// <summary>False for a null selector loaded into DS/ES/FS/GS: any access through it raises #GP(0).</summary>
    public bool Usable;

    public readonly int Dpl => (Attributes >> 5) & 3;

    public readonly bool Present => (Attributes & 0x80) != 0;

    public readonly bool IsSystem => (Attributes & 0x10) == 0;

    public readonly int Type => Attributes & 0xF;

    public readonly bool IsCode => !IsSystem && (Attributes & 0x8) != 0;

    public readonly bool IsConforming => IsCode && (Attributes & 0x4) != 0;

    /// <summary>Data: writable. Code: readable.</summary>
    public readonly bool ReadWriteBit => (Attributes & 0x2) != 0;

    public readonly bool IsExpandDown => !IsSystem && !IsCode && (Attributes & 0x4) != 0;

    /// <summary>The D/B bit: 32-bit default operand size for code, 32-bit stack pointer for SS.</summary>
    public readonly bool Big => (Attributes & 0x4000) != 0;

    public override readonly string ToString() =>
        $"{Selector:X4} base={Base:X8} limit={Limit:X8} attr={Attributes:X4}{(Usable ? "" : " unusable")}";
}

/// <summary>A decoded GDT/LDT descriptor.</summary>
public readonly struct Descriptor
{
    public readonly uint Low, High;

    public Descriptor(uint low, uint high)
    {
        Low = low;
        High = high;
    }

    public uint Base => (Low >> 16) | ((High & 0xFF) << 16) | (High & 0xFF00_0000);

    public uint Limit
    {
        get
        {
            uint raw = (Low & 0xFFFF) | (High & 0xF_0000);
            return (High & 0x80_0000) != 0 ? (raw << 12) | 0xFFF : raw;
        }
    }

    /// <summary>Same packing as <see cref="SegmentCache.Attributes"/>.</summary>
    public ushort Attributes => (ushort)(((High >> 8) & 0xFF) | ((High >> 8) & 0xF000));

    public int Dpl => (int)((High >> 13) & 3);

    public bool Present => (High & 0x8000) != 0;

    public bool IsSystem => (High & 0x1000) == 0;

    /// <summary>The D/B bit.</summary>
    public bool Big => (High & 0x40_0000) != 0;

    public int Type => (int)((High >> 8) & 0xF);

    public bool IsCode => !IsSystem && (Type & 0x8) != 0;

    public bool IsConforming => IsCode && (Type & 0x4) != 0;

    public bool IsReadableCode => IsCode && (Type & 0x2) != 0;

    public bool IsWritableData => !IsSystem && !IsCode && (Type & 0x2) != 0;

    /// <summary>Data segments and readable code segments can be loaded into DS/ES/FS/GS.</summary>
    public bool IsDataOrReadableCode => !IsSystem && (!IsCode || (Type & 0x2) != 0);

    public SegmentCache ToCache(ushort selector) => new()
    {
        Selector = selector,
        Base = Base,
        Limit = Limit,
        Attributes = Attributes,
        Usable = true,
    };
}

/// <summary>A descriptor-table register (GDTR, IDTR) or the LDTR/TR with its cached base and limit.</summary>
public struct TableRegister
{
    public ushort Selector;
    public uint Base;
    public uint Limit;

    /// <summary>For TR/LDTR: the system descriptor type; 0 when not loaded.</summary>
    public int Type;
}
