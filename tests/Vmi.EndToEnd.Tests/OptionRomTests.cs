using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Vmi.Abi;
using Vmi.Machine;
using Vmi.Rom;
using Vmi.TestSupport;
using Xunit.Abstractions;

namespace Vmi.EndToEnd.Tests;

/// <summary>
/// Our VMI ROMs as real option ROMs, seen through the ROM probe (tests/assets/romprobe), a kernel
/// that discovers a ROM exactly as the ABI says a VMI kernel does and prints every get_reloc answer
/// as an offset from the ROM base. On QEMU, SeaBIOS loads the image given with -option-rom and
/// chooses the slot; on our machine the test chooses it. Either way the probe must print what the
/// ROM builder says the ROM answers, which shows the image survives a real BIOS (signatures,
/// checksum, real-mode init entry) and that get_reloc is position independent.
/// </summary>
public sealed partial class OptionRomTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>An ordinary slot no firmware would pick first (QEMU puts its VGA BIOS at 0xC0000).</summary>
    private const uint HighBase = 0xD8000;

    private const string Args = "romprobe";

    /// <summary>Call numbers the probe asks beyond API 3.0's table; a ROM must answer NONE for them.</summary>
    private static readonly int[] BeyondTable = [VmiCalls.Count, 255];

    private const string NoRomOutput = "vmi romprobe\nno vmi rom found\nprobe done\n";

    [GeneratedRegex(@"^rom at 0x([0-9a-f]+) ", RegexOptions.Multiline)]
    private static partial Regex RomAtLine();

    [SkippableTheory]
    [InlineData(RomProfiles.NativeName)]
    [InlineData(RomProfiles.NopDemoName)]
    public void Qemu_ProbeFindsTheRomSeaBiosLoaded(string profile)
    {
        Skip.If(QemuRunner.FindQemu() is null, $"{QemuRunner.QemuBinary} is not installed");
        VmiRom rom = BuildRom(profile);

        QemuResult r = RunOnQemu(rom);

        Assert.False(r.TimedOut, "QEMU timed out");
        Assert.Equal(0, r.GuestExitCode);
        uint romBase = FoundAt(r.Stdout);
        Assert.Equal(0u, romBase % RomLayout.ScanStep);
        Assert.InRange(romBase, RomLayout.ScanStart, RomLayout.ScanEnd - (uint)rom.Image.Length);
        Assert.Equal(ExpectedOutput(rom, romBase), r.Stdout);
    }

    [Theory]
    [InlineData(RomProfiles.NativeName, VmConfig.DefaultOptionRomBase)]
    [InlineData(RomProfiles.NativeName, HighBase)]
    [InlineData(RomProfiles.NopDemoName, VmConfig.DefaultOptionRomBase)]
    [InlineData(RomProfiles.NopDemoName, HighBase)]
    public void Vmi_ProbeFindsTheRomWhereItWasPlaced(string profile, uint romBase)
    {
        VmiRom rom = BuildRom(profile);

        var r = VmiRunner.Boot(VmiRunner.RomProbe, Args, optionRom: rom.Image, optionRomBase: romBase);
        output.WriteLine(r.Output);

        Assert.Equal(VmExitReason.DebugExit, r.Run.Reason);
        Assert.Equal(1, r.Run.GuestExitCode); // guest wrote 0: (0 << 1) | 1
        Assert.Equal(ExpectedOutput(rom, romBase), r.Output);
    }

    /// <summary>
    /// The same ROM at different slots on the two machines gives the same answers once addresses are
    /// offsets: the relocation lines, strings and versions must be identical; only the base differs.
    /// </summary>
    [SkippableTheory]
    [InlineData(RomProfiles.NativeName)]
    [InlineData(RomProfiles.NopDemoName)]
    public void ProbeSeesTheSameRomOnVmiAndQemu(string profile)
    {
        Skip.If(QemuRunner.FindQemu() is null, $"{QemuRunner.QemuBinary} is not installed");
        VmiRom rom = BuildRom(profile);
        QemuResult qemu = RunOnQemu(rom);
        uint qemuBase = FoundAt(qemu.Stdout);
        // A different slot from QEMU's, so agreement cannot come from the ROM sitting at the same address.
        uint ourBase = qemuBase == HighBase ? VmConfig.DefaultOptionRomBase : HighBase;

        var ours = VmiRunner.Boot(VmiRunner.RomProbe, Args, optionRom: rom.Image, optionRomBase: ourBase);

        string[] qemuRelocs = RelocLines(qemu.Stdout);
        Assert.Equal(VmiCalls.Count + BeyondTable.Length, qemuRelocs.Length);
        Assert.Equal(qemuRelocs, RelocLines(ours.Output));
        Assert.Equal(WithoutBase(qemu.Stdout), WithoutBase(ours.Output));
    }

    [Fact]
    public void Vmi_NoRom_ProbeSaysSoAndFails()
    {
        var r = VmiRunner.Boot(VmiRunner.RomProbe, Args);

        Assert.Equal(NoRomOutput, r.Output);
        Assert.Equal(VmExitReason.DebugExit, r.Run.Reason);
        Assert.Equal((1 << 1) | 1, r.Run.GuestExitCode);
    }

    [SkippableFact]
    public void Qemu_NoRom_ProbeSaysSoAndFails()
    {
        Skip.If(QemuRunner.FindQemu() is null, $"{QemuRunner.QemuBinary} is not installed");

        QemuResult r = QemuRunner.Run(VmiRunner.RomProbe, Args, Timeout);

        // QEMU's own option ROMs (VGA BIOS, multiboot loader) are in the window but are not VMI ROMs.
        Assert.Equal(NoRomOutput, r.Stdout);
        Assert.Equal((1 << 1) | 1, r.ExitCode);
    }

    /// <summary>
    /// Each discovery check is real: a ROM broken in exactly one way is rejected (and named, since
    /// it claims to be a VMI ROM), the scan goes on, and the probe ends up with no ROM.
    /// </summary>
    [Theory]
    [InlineData("checksum")]
    [InlineData("api_version_maj")]
    [InlineData("pci_header_offs")]
    [InlineData("pci signature")]
    [InlineData("rom_length")]
    public void Vmi_BrokenRom_IsRejectedForTheRightReason(string reason)
    {
        byte[] image = (byte[])RomProfiles.Native().Image.Clone();
        ushort pci = BitConverter.ToUInt16(image, RomLayout.PciHeaderOffsetOffset);
        switch (reason)
        {
            case "checksum":
                image[^1] ^= 0xFF; // checksum left stale on purpose
                break;
            case "api_version_maj":
                image[RomLayout.ApiVersionMajorOffset] = 2;
                break;
            case "pci_header_offs":
                image[RomLayout.PciHeaderOffsetOffset] = image[RomLayout.PciHeaderOffsetOffset + 1] = 0;
                break;
            case "pci signature":
                image[pci] = (byte)'X';
                break;
            case "rom_length":
                // 40 KiB from 0xD8000 runs past the window's end at 0xE0000 (the checksum is not
                // reached: the probe must not read beyond what it may scan).
                image[RomLayout.RomLengthOffset] = 80;
                break;
        }
        if (reason is not ("checksum" or "rom_length"))
            RomWriter.FixChecksum(image);

        var r = VmiRunner.Boot(VmiRunner.RomProbe, Args, optionRom: image, optionRomBase: HighBase);

        Assert.Equal($"vmi romprobe\nrejected rom at 0x{HighBase:x}: {reason}\nno vmi rom found\nprobe done\n", r.Output);
        Assert.Equal((1 << 1) | 1, r.Run.GuestExitCode);
    }

    /// <summary>An option ROM that is not a VMI ROM ("cVmi" missing) is someone else's: skipped without a word.</summary>
    [Fact]
    public void Vmi_OtherOptionRom_IsSkippedSilently()
    {
        byte[] image = (byte[])RomProfiles.Native().Image.Clone();
        image[RomLayout.VromSignatureOffset] = (byte)'x';
        RomWriter.FixChecksum(image);

        var r = VmiRunner.Boot(VmiRunner.RomProbe, Args, optionRom: image);

        Assert.Equal(NoRomOutput, r.Output);
    }

    private static VmiRom BuildRom(string profile) =>
        RomProfiles.Build(profile) ?? throw new ArgumentException($"no ROM profile '{profile}'", nameof(profile));

    private QemuResult RunOnQemu(VmiRom rom)
    {
        string file = Path.Combine(Path.GetTempPath(), $"vmi-{rom.Profile}-{Guid.NewGuid():N}.rom");
        File.WriteAllBytes(file, rom.Image);
        try
        {
            QemuResult r = QemuRunner.Run(VmiRunner.RomProbe, Args, Timeout, optionRom: file);
            output.WriteLine(r.Stdout);
            output.WriteLine(r.Stderr);
            return r;
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>The base address from the probe's "rom at" line.</summary>
    private static uint FoundAt(string probeOutput)
    {
        Match m = RomAtLine().Match(probeOutput);
        Assert.True(m.Success, $"the probe found no ROM:\n{probeOutput}");
        return uint.Parse(m.Groups[1].Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
    }

    private static string[] RelocLines(string probeOutput) =>
        probeOutput.Split('\n').Where(l => l.StartsWith("reloc ", StringComparison.Ordinal)).ToArray();

    private static string WithoutBase(string probeOutput) => RomAtLine().Replace(probeOutput, "rom at <base> ");

    /// <summary>
    /// What the probe must print for <paramref name="rom"/> at <paramref name="romBase"/>: the header
    /// facts and strings as our independent ROM reader decodes them, then for every call the answer
    /// the builder promises, as an offset from the base.
    /// </summary>
    private static string ExpectedOutput(VmiRom rom, uint romBase)
    {
        VmiRomImage image = RomReader.Read(rom.Image);
        // The probe prints "(none)" for a missing string; make sure that is not what both sides agree on.
        Assert.NotNull(image.Manufacturer);
        Assert.NotNull(image.Product);
        Assert.NotNull(image.License);

        var s = new StringBuilder();
        s.Append("vmi romprobe\n");
        s.Append(CultureInfo.InvariantCulture,
            $"rom at 0x{romBase:x} length {image.Header.ImageSize} api {image.Header.ApiVersionMajor}.{image.Header.ApiVersionMinor} ");
        s.Append(CultureInfo.InvariantCulture, $"pci {image.Pci.VendorId:x4}:{image.Pci.DeviceId:x4} checksum ok\n");
        s.Append(CultureInfo.InvariantCulture, $"manufacturer {image.Manufacturer}\nproduct {image.Product}\nlicense {image.License}\n");
        s.Append("vmi_init eax 0\n");
        foreach (VmiCall call in VmiCalls.All)
        {
            s.Append(RelocLine((int)call, rom.ExpectedRelocation(call, romBase), romBase));
        }
        foreach (int call in BeyondTable)
        {
            s.Append(RelocLine(call, new RelocationInfo(0, RelocationType.None), romBase));
        }
        s.Append("probe done\n");
        return s.ToString();
    }

    private static string RelocLine(int call, RelocationInfo r, uint romBase) =>
        r.Eip == 0
            ? string.Create(CultureInfo.InvariantCulture, $"reloc {call} type {(int)r.Type} eip 0\n")
            : string.Create(CultureInfo.InvariantCulture, $"reloc {call} type {(int)r.Type} eip 0x{r.Eip - romBase:x}\n");
}
