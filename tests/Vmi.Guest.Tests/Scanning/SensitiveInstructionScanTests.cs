using Iced.Intel;
using Vmi.Guest.Image;
using Vmi.Guest.Scanning;

namespace Vmi.Guest.Tests.Scanning;

/// <summary>Privileged and sensitive instructions that no patch site covers.</summary>
public sealed class SensitiveInstructionScanTests
{
    [Fact]
    public void ReportsTheBareCliAndTheEntryStubButNothingInsideSites()
    {
        IReadOnlyList<SensitiveInstruction> found = SensitiveInstructionScan.Run(SiteKernels.Good);

        uint entry = SiteKernels.Symbol("entry_stub");
        Assert.Equal(
            [
                new SensitiveInstruction(SiteKernels.Symbol("bare"), "bare", "cli"),
                new SensitiveInstruction(entry, "entry_stub", "cli"),
                new SensitiveInstruction(entry + 1, "entry_stub", "hlt"),
            ],
            found);
    }

    [Fact]
    public void TheAllowListExemptsFunctionsThatRunBeforeVmi()
    {
        IReadOnlyList<SensitiveInstruction> found = SensitiveInstructionScan.Run(SiteKernels.Good, ["entry_stub"]);

        Assert.Equal([new SensitiveInstruction(SiteKernels.Symbol("bare"), "bare", "cli")], found);
    }

    [Fact]
    public void DataInTextIsNotDecoded()
    {
        GuestKernelImage image = SiteKernels.Good;
        uint blob = SiteKernels.Symbol("iret_path") + 5;
        // The object after iret_path holds cli, sti, hlt, iret as bytes: decoded, they would be reported.
        Assert.Equal([0xFA, 0xFB, 0xF4, 0xCF], image.CodeSections[0].Slice(blob, 4).ToArray());

        Assert.DoesNotContain(SensitiveInstructionScan.Run(image), s => s.Address >= blob && s.Address < blob + 4);
    }

    [Fact]
    public void SiteBytesAloneWouldBeReported()
    {
        // Without the site table every site's native instruction is found: the scan is what excludes them.
        GuestKernelImage image = SiteKernels.Good;
        var withoutSites = image.Sites.Select(s => s.Address).ToHashSet();
        var decoder = Decoder.Create(32, new ByteArrayCodeReader(image.CodeSections[0].Bytes));
        decoder.IP = image.CodeSections[0].Address;
        var sensitiveStarts = new HashSet<uint>();
        foreach (Instruction i in decoder)
        {
            if (SensitiveInstructions.IsSensitive(i))
            {
                sensitiveStarts.Add((uint)i.IP);
            }
        }
        Assert.Superset(withoutSites, sensitiveStarts);
    }

    [Theory]
    [InlineData("FA", true)] // cli
    [InlineData("9C", true)] // pushfd
    [InlineData("9D", true)] // popfd
    [InlineData("CF", true)] // iretd
    [InlineData("0F35", true)] // sysexit
    [InlineData("F4", true)] // hlt
    [InlineData("0F22D8", true)] // mov cr3,eax
    [InlineData("0F20C0", true)] // mov eax,cr0
    [InlineData("0F21F8", true)] // mov eax,dr7
    [InlineData("0F0138", true)] // invlpg [eax]
    [InlineData("0F0110", true)] // lgdt [eax]
    [InlineData("0F00C8", true)] // str eax
    [InlineData("0F06", true)] // clts
    [InlineData("0F09", true)] // wbinvd
    [InlineData("EC", true)] // in al,dx
    [InlineData("E680", true)] // out 0x80,al
    [InlineData("6E", true)] // outsb
    [InlineData("0FA2", true)] // cpuid
    [InlineData("0F31", true)] // rdtsc
    [InlineData("0F01E0", true)] // smsw eax
    [InlineData("0F02C0", true)] // lar eax,eax
    [InlineData("0F00E0", true)] // verr ax
    [InlineData("0F30", false)] // wrmsr: MSRs stay native
    [InlineData("0F32", false)] // rdmsr
    [InlineData("90", false)]
    [InlineData("89C0", false)] // mov eax,eax
    [InlineData("8ED0", false)] // mov ss,eax: not in the list
    public void ClassifiesInstructions(string hex, bool sensitive)
    {
        var decoder = Decoder.Create(32, new ByteArrayCodeReader(Convert.FromHexString(hex)));

        Assert.Equal(sensitive, SensitiveInstructions.IsSensitive(decoder.Decode()));
    }
}
