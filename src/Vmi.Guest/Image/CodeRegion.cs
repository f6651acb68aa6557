namespace Vmi.Guest.Image;

/// <summary>
/// A stretch of an executable section that holds code of one symbol: a function from its start to
/// its size, or an untyped label up to the next symbol. Decoding region by region keeps data that
/// sits in a text section between functions (tables, padding) from being read as instructions.
/// </summary>
/// <param name="Name">The preferred symbol name (STT_FUNC before a label, global before local); null for a section without symbols.</param>
/// <param name="Aliases">Every symbol name at <paramref name="Start"/>, <paramref name="Name"/> included.</param>
public sealed record CodeRegion(CodeSection Section, uint Start, uint End, string? Name, IReadOnlyList<string> Aliases)
{
    public bool Contains(uint address) => address >= Start && address < End;
}
