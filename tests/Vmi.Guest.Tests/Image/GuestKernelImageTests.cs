using Vmi.Abi;
using Vmi.Guest.Image;
using Vmi.TestSupport;

namespace Vmi.Guest.Tests.Image;

/// <summary>Reading a kernel built from tests/assets/sites with the guest's own site macros.</summary>
public sealed class GuestKernelImageTests
{
    [Fact]
    public void FindsEverySiteWithItsCallLengthClobbersAndNativeBytes()
    {
        GuestKernelImage image = SiteKernels.Good;

        Assert.True(image.HasSiteTable);
        // Record order is emission order: f's four C sites, then entry.S's IRET site.
        Assert.Equal([VmiCall.DisableInterrupts, VmiCall.SetCr3, VmiCall.InvalPage, VmiCall.EnableInterrupts, VmiCall.Iret],
            image.Sites.Select(s => s.Call));
        Assert.Equal([0, 1, 2, 3, 4], image.Sites.Select(s => s.Index));

        VmiSite cli = image.Sites[0];
        Assert.Equal(GuestObjects.TextAddress, cli.Address); // f is first in .text and starts with its cli site
        Assert.Equal(5, cli.Length);
        Assert.Equal(SiteClobbers.None, cli.Clobbers);
        Assert.Equal([0xFA, 0x90, 0x90, 0x90, 0x90], cli.NativeBytes);
        Assert.Equal("f", cli.Function);

        VmiSite cr3 = image.Sites[1];
        Assert.Equal(SiteClobbers.Call, cr3.Clobbers);
        Assert.Equal([0x0F, 0x22, 0xD8, 0x90, 0x90], cr3.NativeBytes); // mov cr3, eax + 2 NOPs
        Assert.Equal("f", cr3.Function);

        VmiSite invlpg = image.Sites[2];
        Assert.Equal(7, invlpg.Length); // longer than the minimum: no padding
        Assert.Equal([0x0F, 0x01, 0x3D, 0x78, 0x56, 0x34, 0x12], invlpg.NativeBytes);

        VmiSite sti = image.Sites[3];
        Assert.Equal([0xFB, 0x90, 0x90, 0x90, 0x90], sti.NativeBytes);
        Assert.Equal(SiteClobbers.None, sti.Clobbers);

        VmiSite iret = image.Sites[4];
        Assert.Equal(SiteKernels.Symbol("iret_path"), iret.Address);
        Assert.Equal([0xCF, 0x90, 0x90, 0x90, 0x90], iret.NativeBytes);
        Assert.Equal(SiteClobbers.Call, iret.Clobbers);
        Assert.Equal("iret_path", iret.Function);
    }

    [Fact]
    public void ListsTheTextSectionAndNamesFunctionsBySymbol()
    {
        GuestKernelImage image = SiteKernels.Good;

        CodeSection text = Assert.Single(image.CodeSections);
        Assert.Equal(".text", text.Name);
        Assert.Equal(GuestObjects.TextAddress, text.Address);
        Assert.Equal(GuestObjects.TextAddress, image.EntryPoint);
        uint bare = SiteKernels.Symbol("bare");
        Assert.Equal("bare", image.FunctionAt(bare));
        Assert.Equal("bare", image.FunctionAt(bare + 1));
        Assert.Equal("entry_stub", image.FunctionAt(SiteKernels.Symbol("entry_stub")));
        // The data object after iret_path is no function's code.
        Assert.Null(image.FunctionAt(SiteKernels.Symbol("iret_path") + 5));
    }

    [Fact]
    public void CodeMapSplitsBySizeAndRunsUnsizedLabelsToTheNextSymbol()
    {
        var section = new CodeSection(".text", 0x1000, new byte[0x40]);
        CodeSymbol[] symbols =
        [
            new("sized", 0x1000, 0x10, IsFunction: true, IsGlobal: true),
            new("local_label", 0x1008, 0, IsFunction: false, IsGlobal: false), // inside "sized": not a region
            new("alias", 0x1000, 0x10, IsFunction: true, IsGlobal: false),
            new("label", 0x1020, 0, IsFunction: false, IsGlobal: true),
            new("last", 0x1030, 0, IsFunction: true, IsGlobal: true),
        ];

        List<CodeRegion> regions = CodeMap.Build(section, symbols);

        Assert.Equal([("sized", 0x1000u, 0x1010u), ("label", 0x1020u, 0x1030u), ("last", 0x1030u, 0x1040u)],
            regions.Select(r => (r.Name!, r.Start, r.End)));
        Assert.Equal(["sized", "alias"], regions[0].Aliases);
        Assert.Null(CodeMap.Find(regions, 0x1018)); // padding after a sized function
        Assert.Equal("label", CodeMap.Find(regions, 0x102F)?.Name);
    }

    [Fact]
    public void ASectionWithoutSymbolsIsOneNamelessRegion()
    {
        var section = new CodeSection(".text", 0x1000, new byte[0x20]);

        CodeRegion region = Assert.Single(CodeMap.Build(section, []));

        Assert.Equal((0x1000u, 0x1020u, (string?)null), (region.Start, region.End, region.Name));
    }
}
