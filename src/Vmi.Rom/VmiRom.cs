using Vmi.Abi;

namespace Vmi.Rom;

/// <summary>A built ROM image and what the builder knows about it (offsets are from the image start).</summary>
public sealed record VmiRom(
    string Profile,
    byte[] Image,
    IReadOnlyDictionary<VmiCall, RelocationType> Types,
    IReadOnlyDictionary<VmiCall, int> StubOffsets,
    int VmiInitCodeOffset,
    int GetRelocCodeOffset,
    int RelocationTableOffset)
{
    /// <summary>The answer get_reloc must give for <paramref name="call"/> when the ROM is mapped at <paramref name="romBase"/>.</summary>
    public RelocationInfo ExpectedRelocation(VmiCall call, uint romBase) =>
        StubOffsets.TryGetValue(call, out int offset)
            ? new RelocationInfo(romBase + (uint)offset, Types[call])
            : new RelocationInfo(0, Types[call]);
}
