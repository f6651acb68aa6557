using Vmi.Abi;
using Vmi.Guest.Image;
using Vmi.Guest.Patching;
using Vmi.Guest.Scanning;
using Vmi.Machine;
using Vmi.Machine.Boot;
using Vmi.Machine.Roms;
using Vmi.Rom;
using Vmi.TestSupport;

namespace Vmi.EndToEnd.Tests;

/// <summary>
/// The guest kernel's site table, read from its ELF with the project's ELF reader: after booting
/// with a ROM, guest memory at every site holds exactly what the ROM's answers require; and no
/// privileged or sensitive instruction of kernel text lies outside a site, except in the boot stub
/// that runs before paging (a check that fails when a bare cli is compiled in).
/// </summary>
public sealed class GuestSiteTests
{
    private const uint KernelVma = 0xC000_0000;
    private const uint RomBase = VmConfig.DefaultOptionRomBase;

    /// <summary>Functions whose privileged instructions run before any site can: the multiboot entry stub.</summary>
    private static readonly string[] BeforeSites = ["_start"];

    public static TheoryData<string> Profiles() => new(RomProfiles.Names);

    [Theory]
    [MemberData(nameof(Profiles))]
    public void EverySiteHoldsWhatTheRomAnswered(string profile)
    {
        string elf = QemuRunner.BuildGuestKernel();
        GuestKernelImage image = GuestKernelImage.Load(File.ReadAllBytes(elf));
        byte[] rom = RomProfiles.Build(profile)!.Image;
        var executor = new RomExecutor(rom, RomBase);
        var answers = new Dictionary<VmiCall, RelocationInfo>();
        foreach (VmiCall call in image.Sites.Select(s => s.Call).Distinct())
        {
            answers[call] = executor.GetReloc((int)call, out string? failure) ?? throw new InvalidOperationException(failure);
        }
        // get_reloc answered through the ROM's physical address; the kernel calls it through its direct map.
        var mapped = answers.ToDictionary(a => a.Key, a => a.Value.Type is RelocationType.CallRel or RelocationType.JumpRel
            ? a.Value with { Eip = a.Value.Eip + KernelVma } : a.Value);
        SitePlan plan = SitePlan.Create(image.Sites, mapped, RomBase + KernelVma, rom.Length);
        Assert.True(image.Sites.Count > 40, $"only {image.Sites.Count} sites");

        var vm = Vm.BootMultiboot(new VmConfig
        {
            CommandLine = MultibootInfoBuilder.QemuStyleCommandLine(elf, "quiet"),
            OptionRom = rom,
        }, File.ReadAllBytes(elf));
        VmRunResult r = vm.Run(50_000_000);
        Assert.Equal(1, r.GuestExitCode);

        foreach (PlannedSite s in plan.Sites)
        {
            var actual = new byte[s.Site.Length];
            vm.Memory.ReadBytes(s.Site.Address - KernelVma, actual);
            Assert.True(s.Bytes.AsSpan().SequenceEqual(actual),
                $"site {s.Site.Index} ({VmiCalls.AbiName(s.Site.Call)} in {s.Site.Function}) at 0x{s.Site.Address:X8}: expected {Convert.ToHexString(s.Bytes)}, memory holds {Convert.ToHexString(actual)}");
        }
    }

    private static IReadOnlyList<SensitiveInstruction> KernelTextOutsideSites(string elf) =>
        [.. SensitiveInstructionScan.Run(GuestKernelImage.Load(File.ReadAllBytes(elf)), BeforeSites).Where(i => i.Address >= KernelVma)];

    [Fact]
    public void EverySensitiveInstructionOfKernelTextIsInASite()
    {
        IReadOnlyList<SensitiveInstruction> outside = KernelTextOutsideSites(QemuRunner.BuildGuestKernel());
        Assert.True(outside.Count == 0, "outside any site:\n" + string.Join("\n", outside.Select(i => $"0x{i.Address:X8} {i.Function}: {i.Text}")));
    }

    [Fact]
    public void ABareCliInKernelCodeIsFound()
    {
        string elf = QemuRunner.BuildGuestKernelVariant("bare-cli", "-DGUEST_SELFTEST_BARE_CLI");
        SensitiveInstruction found = Assert.Single(KernelTextOutsideSites(elf));
        Assert.Equal("selftest_bare_cli", found.Function);
        Assert.Equal("cli", found.Text);
    }
}
