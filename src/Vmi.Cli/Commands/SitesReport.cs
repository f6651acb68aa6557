using System.Text.Json;
using Vmi.Abi;
using Vmi.Guest.Image;
using Vmi.Guest.Patching;

namespace Vmi.Cli.Commands;

/// <summary>What `vmi sites` shows: the sites grouped by call and, with a ROM, the plan for its answers.</summary>
internal sealed class SitesReport
{
    private SitesReport(FileInfo kernel, GuestKernelImage image, SitesCommand.RomChoice? rom, IReadOnlyDictionary<VmiCall, RelocationInfo>? answers,
        SitePlan? plan, IReadOnlyList<string> rejected)
    {
        Kernel = kernel;
        Image = image;
        Rom = rom;
        Answers = answers;
        Plan = plan;
        Rejected = rejected;
    }

    public FileInfo Kernel { get; }

    public GuestKernelImage Image { get; }

    public SitesCommand.RomChoice? Rom { get; }

    public IReadOnlyDictionary<VmiCall, RelocationInfo>? Answers { get; }

    /// <summary>Null without a ROM, or when the kernel would refuse the ROM's answers.</summary>
    public SitePlan? Plan { get; }

    /// <summary>Why the kernel would refuse the ROM's answers (empty when it accepts them or there is no ROM).</summary>
    public IReadOnlyList<string> Rejected { get; }

    public static SitesReport Build(FileInfo kernel, GuestKernelImage image, SitesCommand.RomChoice? rom, IReadOnlyDictionary<VmiCall, RelocationInfo>? answers)
    {
        SitePlan? plan = null;
        IReadOnlyList<string> rejected = [];
        if (rom is not null && answers is not null)
        {
            SitePlan.TryCreate(image.Sites, answers, rom.Base, rom.Image.Length, out plan, out rejected);
        }
        return new SitesReport(kernel, image, rom, answers, plan, rejected);
    }

    private sealed record CallRow(VmiCall Call, int Sites, int[] Lengths, SiteClobbers[] Clobbers, RelocationInfo? Answer);

    private IEnumerable<CallRow> Calls() =>
        Image.Sites.GroupBy(s => s.Call).OrderBy(g => g.Key).Select(g => new CallRow(
            g.Key, g.Count(),
            [.. g.Select(s => s.Length).Distinct().Order()],
            [.. g.Select(s => s.Clobbers).Distinct().Order()],
            Answers is not null && Answers.TryGetValue(g.Key, out RelocationInfo r) ? r : null));

    private static string TypeName(RelocationType t) => RelocationTypes.AbiName(t);

    /// <summary>What the kernel writes over each site of a call for <paramref name="answer"/>.</summary>
    private static string Becomes(RelocationInfo answer) => answer.Type switch
    {
        RelocationType.None => "native (kept)",
        RelocationType.CallRel => $"call 0x{answer.Eip:X8}",
        RelocationType.JumpRel => $"jmp 0x{answer.Eip:X8}",
        RelocationType.Nop => "NOP fill",
        _ => "-",
    };

    private static string Clobbers(SiteClobbers[] masks) => string.Join(" / ", masks.Select(m => m.Describe()));

    public void WriteText()
    {
        int calls = Image.Sites.Select(s => s.Call).Distinct().Count();
        string table = Image.HasSiteTable ? "" : " (no .vmi_sites section)";
        string rom = Rom is null ? "" : $"; ROM {Rom.Source} at 0x{Rom.Base:X}";
        Console.WriteLine($"{Kernel.Name}: {Image.Sites.Count} site{(Image.Sites.Count == 1 ? "" : "s")} of {calls} call{(calls == 1 ? "" : "s")}{table}{rom}");
        if (Image.Sites.Count == 0)
        {
            return;
        }
        Console.WriteLine();
        string header = $"  {"#",2}  {"call",-18} {"sites",5}  {"lengths",-8} {"clobbers",-12}";
        Console.WriteLine(Rom is null ? header.TrimEnd() : $"{header} {"answer",-9} becomes");
        foreach (CallRow row in Calls())
        {
            string line = $"  {(int)row.Call,2}  {VmiCalls.AbiName(row.Call),-18} {row.Sites,5}  {string.Join(',', row.Lengths),-8} {Clobbers(row.Clobbers),-12}";
            if (row.Answer is RelocationInfo a)
            {
                line += $" {TypeName(a.Type),-9} {(Rejected.Count > 0 ? "-" : Becomes(a))}";
            }
            Console.WriteLine(line.TrimEnd());
        }
        if (Rom is null)
        {
            return;
        }
        Console.WriteLine();
        foreach (string problem in Rejected)
        {
            Console.WriteLine($"rejected: {problem}");
        }
        if (Plan is not null)
        {
            Console.WriteLine($"sites: {Plan.Count(RelocationType.CallRel)} call, {Plan.Count(RelocationType.JumpRel)} jump, " +
                $"{Plan.Count(RelocationType.Nop)} nop, {Plan.Count(RelocationType.None)} native");
        }
    }

    public void WriteJson()
    {
        Dictionary<int, PlannedSite>? planned = Plan?.Sites.ToDictionary(p => p.Site.Index);
        var doc = new
        {
            kernel = Kernel.FullName,
            hasSiteTable = Image.HasSiteTable,
            siteCount = Image.Sites.Count,
            rom = Rom is null ? null : new { source = Rom.Source, @base = Rom.Base, length = Rom.Image.Length },
            calls = Calls().Select(c => new
            {
                number = (int)c.Call,
                name = VmiCalls.AbiName(c.Call),
                sites = c.Sites,
                lengths = c.Lengths,
                clobbers = c.Clobbers.Select(m => (int)m),
                answer = c.Answer is RelocationInfo a ? new { type = TypeName(a.Type), eip = a.Eip } : null,
                becomes = c.Answer is RelocationInfo b && Rejected.Count == 0 ? Becomes(b) : null,
            }),
            sites = Image.Sites.Select(s => new
            {
                index = s.Index,
                address = s.Address,
                call = (int)s.Call,
                name = VmiCalls.AbiName(s.Call),
                length = s.Length,
                clobbers = (int)s.Clobbers,
                function = s.Function,
                native = Convert.ToHexString(s.NativeBytes),
                patched = planned is not null ? Convert.ToHexString(planned[s.Index].Bytes) : null,
            }),
            summary = Plan is null ? null : new
            {
                call = Plan.Count(RelocationType.CallRel),
                jump = Plan.Count(RelocationType.JumpRel),
                nop = Plan.Count(RelocationType.Nop),
                native = Plan.Count(RelocationType.None),
            },
            rejected = Rejected,
        };
        Console.WriteLine(JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true }));
    }
}
