using System.Security.Cryptography;
using Vmi.Abi;
using Vmi.Rom;

namespace Vmi.Cli.Commands.Bench;

/// <summary>
/// A VMI ROM a backend published for a CPU model (<see cref="Vmi.Hypervisors.Hypervisor.BuildRom"/>),
/// known in the outputs by <see cref="Id"/>, the start of its SHA-256: backends that publish the
/// same bytes share one entry.
/// </summary>
internal sealed record PublishedRom(VmiRom Rom, string Sha256, string? Product)
{
    public string Id => Sha256[..12];

    public byte[] Image => Rom.Image;

    public static PublishedRom Of(VmiRom rom)
    {
        string? product = RomReader.TryRead(rom.Image, out VmiRomImage? parsed, out _) ? parsed!.Product : null;
        return new PublishedRom(rom, Convert.ToHexStringLower(SHA256.HashData(rom.Image)), product);
    }

    /// <summary>Every call's relocation type by ABI name, in call-number order.</summary>
    public IEnumerable<(string Call, string Type)> Calls() =>
        VmiCalls.All.Where(Rom.Types.ContainsKey).Select(c => (VmiCalls.AbiName(c), RelocationTypes.AbiName(Rom.Types[c])));

    /// <summary>How many calls have each relocation type, in the types' order.</summary>
    public IEnumerable<(string Type, int Calls)> TypeCounts() =>
        Rom.Types.Values.GroupBy(t => t).OrderBy(g => g.Key).Select(g => (RelocationTypes.AbiName(g.Key), g.Count()));
}
