using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using Vmi.Abi;
using Vmi.Guest.Image;

namespace Vmi.Guest.Patching;

/// <summary>
/// What every site becomes when the kernel patches itself for a ROM's get_reloc answers
/// (vmi-abi.md, "Relocation info"): CALL_REL → <c>E8 rel32</c> + NOPs, JUMP_REL → <c>E9 rel32</c>
/// + NOPs, NOP → all NOPs, NONE → the native bytes. A test compares guest memory with
/// <see cref="Sites"/> after the kernel patched itself; <c>vmi sites --rom</c> shows it without a run.
/// </summary>
public sealed class SitePlan
{
    /// <summary>The one-byte NOP the kernel fills with.</summary>
    public const byte NopByte = 0x90;

    private const byte CallOpcode = 0xE8;
    private const byte JumpOpcode = 0xE9;

    private SitePlan(IReadOnlyList<PlannedSite> sites, uint romBase, int romLength)
    {
        Sites = sites;
        RomBase = romBase;
        RomLength = romLength;
    }

    /// <summary>Every site with its bytes after patching, in the order the sites were given.</summary>
    public IReadOnlyList<PlannedSite> Sites { get; }

    public uint RomBase { get; }

    public int RomLength { get; }

    /// <summary>How many sites get relocation type <paramref name="type"/>.</summary>
    public int Count(RelocationType type) => Sites.Count(s => s.Relocation.Type == type);

    /// <summary>
    /// The plan for <paramref name="sites"/> under <paramref name="answers"/> (get_reloc's answer per call),
    /// with the ROM image of <paramref name="romLength"/> bytes at <paramref name="romBase"/>; throws
    /// <see cref="SitePlanException"/> when <see cref="Check"/> finds a problem.
    /// </summary>
    public static SitePlan Create(IReadOnlyList<VmiSite> sites, IReadOnlyDictionary<VmiCall, RelocationInfo> answers, uint romBase, int romLength) =>
        TryCreate(sites, answers, romBase, romLength, out SitePlan? plan, out IReadOnlyList<string> problems)
            ? plan
            : throw new SitePlanException(problems);

    /// <summary>Like <see cref="Create"/>, returning the problems instead of throwing them.</summary>
    public static bool TryCreate(IReadOnlyList<VmiSite> sites, IReadOnlyDictionary<VmiCall, RelocationInfo> answers, uint romBase, int romLength,
        [NotNullWhen(true)] out SitePlan? plan, out IReadOnlyList<string> problems)
    {
        ArgumentNullException.ThrowIfNull(sites);
        ArgumentNullException.ThrowIfNull(answers);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(romLength);
        problems = Check(sites.Select(s => s.Call), answers, romBase, romLength);
        if (problems.Count > 0)
        {
            plan = null;
            return false;
        }
        plan = new SitePlan([.. sites.Select(s => new PlannedSite(s, answers[s.Call], Patch(s, answers[s.Call])))], romBase, romLength);
        return true;
    }

    /// <summary>
    /// The checks the kernel makes on get_reloc's answers for the calls it has sites of, before it
    /// patches any: an answer for each, a known type, JUMP_REL only for the calls that never return
    /// (IRET, SYSEXIT), and a CALL_REL/JUMP_REL target inside the ROM image. One line per problem.
    /// </summary>
    public static IReadOnlyList<string> Check(IEnumerable<VmiCall> calls, IReadOnlyDictionary<VmiCall, RelocationInfo> answers, uint romBase, int romLength)
    {
        ulong romEnd = romBase + (ulong)romLength;
        var problems = new List<string>();
        foreach (VmiCall call in calls.Distinct().Order())
        {
            string name = VmiCalls.AbiName(call);
            if (!answers.TryGetValue(call, out RelocationInfo r))
            {
                problems.Add($"{name}: no get_reloc answer");
                continue;
            }
            if (!r.IsKnownType)
            {
                problems.Add($"{name}: relocation type {(byte)r.Type} is unknown");
                continue;
            }
            if (r.Type == RelocationType.JumpRel && !VmiCalls.NeverReturns(call))
            {
                problems.Add($"{name}: JUMP_REL for a call that returns (only IRET and SYSEXIT may jump)");
            }
            if (r.Type is RelocationType.CallRel or RelocationType.JumpRel && (r.Eip < romBase || r.Eip >= romEnd))
            {
                problems.Add($"{name}: {(r.Type == RelocationType.CallRel ? "CALL_REL" : "JUMP_REL")} target 0x{r.Eip:X8} lies outside the ROM [0x{romBase:X8}, 0x{romEnd:X8})");
            }
        }
        return problems;
    }

    /// <summary>The bytes <paramref name="site"/> holds after patching for <paramref name="relocation"/> (a known type).</summary>
    public static byte[] Patch(VmiSite site, RelocationInfo relocation)
    {
        ArgumentNullException.ThrowIfNull(site);
        if (relocation.Type == RelocationType.None)
        {
            return (byte[])site.NativeBytes.Clone();
        }
        if (site.Length < RelocationInfo.MinSiteLength)
        {
            throw new ArgumentException($"site 0x{site.Address:X8} is {site.Length} bytes, too short for E8/E9 rel32", nameof(site));
        }
        var bytes = new byte[site.Length];
        bytes.AsSpan().Fill(NopByte);
        switch (relocation.Type)
        {
            case RelocationType.Nop:
                break;
            case RelocationType.CallRel or RelocationType.JumpRel:
                bytes[0] = relocation.Type == RelocationType.CallRel ? CallOpcode : JumpOpcode;
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(1), RelocationInfo.Rel32(site.Address, relocation.Eip));
                break;
            default:
                throw new ArgumentException($"relocation type {(byte)relocation.Type} is unknown", nameof(relocation));
        }
        return bytes;
    }
}
