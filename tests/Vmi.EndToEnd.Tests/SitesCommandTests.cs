using System.Text.Json;
using Vmi.Abi;
using Vmi.Rom;
using Vmi.TestSupport;

namespace Vmi.EndToEnd.Tests;

/// <summary>`vmi sites` on a kernel built from tests/assets/sites with the guest's site macros.</summary>
public sealed class SitesCommandTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("vmi-sites-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static string Kernel => GuestObjects.Link("sites", ["sites.c", "entry.S"]);

    [Fact]
    public void TableListsEveryCallWithItsSitesLengthsAndClobbers()
    {
        var r = VmiRunner.Cli("sites", Kernel);

        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Stderr);
        Assert.StartsWith("sites.elf: 5 sites of 5 calls\n", r.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^\s+17\s+SetCR3\s+1\s+5\s+eax,ecx,edx$", r.Stdout);
        Assert.Matches(@"(?m)^\s+29\s+EnableInterrupts\s+1\s+5\s+none$", r.Stdout);
        Assert.Matches(@"(?m)^\s+30\s+DisableInterrupts\s+1\s+5\s+none$", r.Stdout);
        Assert.Matches(@"(?m)^\s+33\s+IRET\s+1\s+5\s+eax,ecx,edx$", r.Stdout);
        Assert.Matches(@"(?m)^\s+46\s+InvalPage\s+1\s+7\s+eax,ecx,edx$", r.Stdout);
        Assert.DoesNotContain("sites:", r.Stdout, StringComparison.Ordinal); // no ROM, no plan
    }

    [Fact]
    public void WithTheNativeProfileEachCallGoesToItsStub()
    {
        const uint romBase = 0xC8000;
        VmiRom rom = RomProfiles.Native();

        var r = VmiRunner.Cli("sites", Kernel, "--rom-profile", "native", "--rom-base", "0xC8000");

        Assert.Equal(0, r.ExitCode);
        foreach (VmiCall call in new[] { VmiCall.SetCr3, VmiCall.EnableInterrupts, VmiCall.DisableInterrupts, VmiCall.InvalPage })
        {
            uint stub = rom.ExpectedRelocation(call, romBase).Eip;
            Assert.Matches($@"(?m)^\s+{(int)call}\s+{VmiCalls.AbiName(call)}\s+1\s+\d\s+\S+\s+CALL_REL\s+call 0x{stub:X8}$", r.Stdout);
        }
        Assert.Matches($@"(?m)^\s+33\s+IRET\s+.*JUMP_REL\s+jmp 0x{rom.ExpectedRelocation(VmiCall.Iret, romBase).Eip:X8}$", r.Stdout);
        Assert.Contains("\nsites: 4 call, 1 jump, 0 nop, 0 native\n", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void WithNopDemoTheSitesStayNativeButIret()
    {
        var r = VmiRunner.Cli("sites", Kernel, "--rom-profile", "nop-demo");

        Assert.Equal(0, r.ExitCode);
        Assert.Matches(@"(?m)^\s+30\s+DisableInterrupts\s+.*NONE\s+native \(kept\)$", r.Stdout);
        Assert.Contains("\nsites: 0 call, 1 jump, 0 nop, 4 native\n", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void JsonHasEverySiteWithItsPatchedBytes()
    {
        VmiRom rom = RomProfiles.Native();

        var r = VmiRunner.Cli("sites", Kernel, "--rom-profile", "native", "--json");

        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        JsonElement root = doc.RootElement;
        Assert.Equal(5, root.GetProperty("siteCount").GetInt32());
        Assert.Equal(0xC0000u, root.GetProperty("rom").GetProperty("base").GetUInt32());
        JsonElement cli = root.GetProperty("sites").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "DisableInterrupts");
        uint address = cli.GetProperty("address").GetUInt32();
        Assert.Equal(GuestObjects.TextAddress, address);
        Assert.Equal("f", cli.GetProperty("function").GetString());
        Assert.Equal("FA90909090", cli.GetProperty("native").GetString());
        uint stub = rom.ExpectedRelocation(VmiCall.DisableInterrupts, 0xC0000).Eip;
        Assert.Equal("E8" + Convert.ToHexString(BitConverter.GetBytes(stub - (address + 5))), cli.GetProperty("patched").GetString());
        JsonElement summary = root.GetProperty("summary");
        Assert.Equal((4, 1, 0, 0), (summary.GetProperty("call").GetInt32(), summary.GetProperty("jump").GetInt32(),
            summary.GetProperty("nop").GetInt32(), summary.GetProperty("native").GetInt32()));
        Assert.Equal(0, root.GetProperty("rejected").GetArrayLength());
    }

    [Fact]
    public void AnswersTheKernelWouldRefuseFailWithTheReason()
    {
        // The native ROM with its table entry for DisableInterrupts changed to JUMP_REL (RomBuilder refuses to make one).
        VmiRom native = RomProfiles.Native();
        byte[] image = native.Image;
        image[native.RelocationTableOffset + (int)VmiCall.DisableInterrupts * RelocationInfo.Size + 4] = (byte)RelocationType.JumpRel;
        RomWriter.FixChecksum(image);
        string rom = Path.Combine(dir, "jump-cli.rom");
        File.WriteAllBytes(rom, image);

        var r = VmiRunner.Cli("sites", Kernel, "--rom", rom);

        Assert.Equal(1, r.ExitCode);
        Assert.Contains("\nrejected: DisableInterrupts: JUMP_REL for a call that returns (only IRET and SYSEXIT may jump)\n", r.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("sites: ", r.Stdout, StringComparison.Ordinal);
        Assert.Equal("vmi: sites.elf: the kernel would refuse jump-cli.rom's answers: DisableInterrupts: JUMP_REL for a call that returns (only IRET and SYSEXIT may jump)\n",
            r.Stderr);
    }

    [Fact]
    public void ANonElfFileIsAnInputErrorInOneLine()
    {
        string bad = Path.Combine(dir, "kernel.elf");
        File.WriteAllText(bad, "not a kernel");

        var r = VmiRunner.Cli("sites", bad);

        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.Stdout);
        Assert.Equal("vmi: kernel.elf: offset 0x0: e_ident: not an ELF file (no 7F 45 4C 46 magic)\n", r.Stderr);
    }

    [Fact]
    public void ABrokenSiteRecordNamesTheRecordAndField()
    {
        var r = VmiRunner.Cli("sites", GuestObjects.Link("bad-BAD_LENGTH", ["bad_site.S"], "BAD_LENGTH"));

        Assert.Equal(2, r.ExitCode);
        Assert.Matches(@"^vmi: bad-BAD_LENGTH\.elf: \.vmi_sites record 1 \(offset 0x[0-9A-F]+\): length: is 4, must be at least 5 .*\n$", r.Stderr);
    }

    [Theory]
    [InlineData("--rom-base", "0xC8000")]
    [InlineData("--rom-profile", "nosuch")]
    [InlineData("--rom-profile", "native", "--rom-base", "0xC0100")]
    [InlineData("--rom-profile", "native", "--rom", "/dev/null")]
    public void BadRomOptionsAreUsageErrors(params string[] options)
    {
        var r = VmiRunner.Cli(["sites", Kernel, .. options]);

        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.Stdout);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("vmi: --rom", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void AFileThatIsNotARomIsAUsageError()
    {
        string bad = Path.Combine(dir, "zero.rom");
        File.WriteAllBytes(bad, new byte[4096]);

        var r = VmiRunner.Cli("sites", Kernel, "--rom", bad);

        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("vmi: --rom zero.rom: not a usable VMI ROM: offset 0x0000: rom_signature", r.Stderr, StringComparison.Ordinal);
    }
}
