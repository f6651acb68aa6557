using Vmi.TestSupport;
using System.Text.Json;
using Vmi.Abi;
using Vmi.Rom;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.EndToEnd.Tests;

/// <summary>`vmi rom build|dump|verify` and `vmi run --rom`, as a user runs them.</summary>
public sealed class RomCommandTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("vmi-rom-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string PathOf(string name) => System.IO.Path.Combine(dir, name);

    [Theory]
    [InlineData("native")]
    [InlineData("nop-demo")]
    public void BuildWritesTheProfilesImageAndVerifyAcceptsIt(string profile)
    {
        string rom = PathOf($"{profile}.rom");
        var build = VmiRunner.Cli("rom", "build", "--profile", profile, "-o", rom, "--base", "0xC8000");
        Assert.Equal(0, build.ExitCode);
        Assert.Contains("fits at 0xC8000", build.Stdout, StringComparison.Ordinal);
        Assert.Equal(RomProfiles.Build(profile)!.Image, File.ReadAllBytes(rom));

        var verify = VmiRunner.Cli("rom", "verify", rom);
        Assert.Equal(0, verify.ExitCode);
        Assert.Contains("valid VMI ROM, API 3.0", verify.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void DumpShowsWhatGetRelocAnswersForEveryCall()
    {
        string rom = PathOf("native.rom");
        File.WriteAllBytes(rom, RomProfiles.Native().Image);
        var dump = VmiRunner.Cli("rom", "dump", rom, "--base", "0xD0000");
        Assert.Equal(0, dump.ExitCode);
        Assert.Contains("vmi_init        returned EAX=0x00000000 (success)", dump.Stdout, StringComparison.Ordinal);
        VmiRom expected = RomProfiles.Native();
        foreach (VmiCall call in VmiCalls.All)
        {
            RelocationInfo r = expected.ExpectedRelocation(call, 0xD0000);
            string name = System.Text.RegularExpressions.Regex.Escape(VmiCalls.AbiName(call));
            if (r.Type == RelocationType.None)
            {
                Assert.Matches($@"(?m)^\s+{(int)call}\s+{name}\s+NONE\s*$", dump.Stdout);
                continue;
            }
            string type = r.Type == RelocationType.JumpRel ? "JUMP_REL" : "CALL_REL";
            Assert.Matches($@"(?m)^\s+{(int)call}\s+{name}\s+{type}\s+0x{r.Eip:X8}\s+\S", dump.Stdout);
        }
        Assert.Matches(@"(?m)^\s+33\s+IRET\s+JUMP_REL\s+0x[0-9A-F]{8}\s+iret", dump.Stdout);
    }

    [Fact]
    public void VerifyReportsAnswersALinuxKernelCannotUse()
    {
        // Valid by the ABI, but NONE for IRET: Linux poisons its native IRET and would crash.
        var b = new RomBuilder("bad-iret") { Product = "IRET left native" };
        foreach (VmiCall call in VmiCalls.All)
        {
            b.Declare(call, CallSpec.Native);
        }
        string rom = PathOf("bad-iret.rom");
        File.WriteAllBytes(rom, b.Build().Image);

        var verify = VmiRunner.Cli("rom", "verify", rom);

        Assert.Equal(2, verify.ExitCode);
        Assert.Contains("bad-iret.rom: Linux client: IRET: must be CALL_REL or JUMP_REL, not None", verify.Stdout, StringComparison.Ordinal);
        Assert.Contains("bad-iret.rom: Linux client: SYSEXIT: must be CALL_REL or JUMP_REL", verify.Stdout, StringComparison.Ordinal);
        Assert.Contains("a Linux VMI kernel cannot use", verify.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void DumpJsonListsAll74Calls()
    {
        string rom = PathOf("nop.rom");
        File.WriteAllBytes(rom, RomProfiles.NopDemo().Image);
        var dump = VmiRunner.Cli("rom", "dump", rom, "--json");
        Assert.Equal(0, dump.ExitCode);
        using var doc = JsonDocument.Parse(dump.Stdout);
        JsonElement calls = doc.RootElement.GetProperty("calls");
        Assert.Equal(74, calls.GetArrayLength());
        Assert.Equal("NOP", calls[(int)VmiCall.SetLazyMode].GetProperty("type").GetString());
        Assert.Equal("NONE", calls[(int)VmiCall.GetCr0].GetProperty("type").GetString());
        Assert.Equal(0, doc.RootElement.GetProperty("violations").GetArrayLength());
    }

    [Fact]
    public void DumpRunsEveryEntryPointOnAFreshCpu()
    {
        // The native ROM with a vmi_init that succeeds but leaves paging on with every page
        // read-only under CR0.WP (so the next CALL's push faults), DF set and an empty IDT.
        byte[] native = RomProfiles.Native().Image;
        byte[] init = FlatKernel.Assemble(0, a =>
        {
            var fill = a.CreateLabel();
            a.mov(edi, 0x8_1000);
            a.mov(eax, 0x1);
            a.mov(ecx, 1024);
            a.Label(ref fill);
            a.mov(__dword_ptr[edi], eax);
            a.add(eax, 0x1000);
            a.add(edi, 4);
            a.dec(ecx);
            a.jnz(fill);
            a.mov(__dword_ptr[0x8_0000], 0x8_1003);
            a.mov(eax, 0x8_0000);
            a.mov(cr3, eax);
            a.mov(eax, cr0);
            a.or(eax, unchecked((int)0x8001_0000));
            a.mov(cr0, eax);
            a.lidt(__[0x8_2000]);
            a.std();
            a.xor(eax, eax);
            a.ret();
        });
        byte[] rom = new byte[native.Length + RomLayout.BlockSize];
        native.CopyTo(rom, 0);
        init.CopyTo(rom, native.Length);
        rom[RomLayout.RomLengthOffset] = (byte)(rom.Length / RomLayout.BlockSize);
        int pci = RomReader.Read(native).Header.PciHeaderOffset;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(rom.AsSpan(pci + RomLayout.PciImageLengthOffset), (ushort)(rom.Length / RomLayout.BlockSize));
        RomJumps.WriteSlotJump(rom, RomLayout.VmiInitOffset, native.Length);
        RomWriter.FixChecksum(rom);
        string path = PathOf("odd-init.rom");
        File.WriteAllBytes(path, rom);

        var dump = VmiRunner.Cli("rom", "dump", path);
        Assert.Equal(0, dump.ExitCode);
        Assert.Contains("vmi_init        returned EAX=0x00000000 (success)", dump.Stdout, StringComparison.Ordinal);
        Assert.Contains("validation      valid", dump.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("did not return", dump.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^\s+33\s+IRET\s+JUMP_REL\s+0x[0-9A-F]{8}\s+iret", dump.Stdout);
    }

    public static TheoryData<string, byte[]> BadFiles()
    {
        var random = new byte[4096];
        new Random(7).NextBytes(random);
        byte[] valid = RomProfiles.Native().Image;
        byte[] oversized = new byte[256 * 1024];
        valid.CopyTo(oversized, 0);
        byte[] badChecksum = (byte[])valid.Clone();
        badChecksum[^1] ^= 0x55;
        return new()
        {
            { "empty", [] },
            { "truncated", valid[..100] },
            { "truncated-body", valid[..1024] },
            { "oversized", oversized },
            { "random", random },
            { "bad-checksum", badChecksum },
        };
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void VerifyRejectsBadFilesWithExitCode2(string name, byte[] content)
    {
        string path = PathOf($"{name}.rom");
        File.WriteAllBytes(path, content);
        var r = VmiRunner.Cli("rom", "verify", path);
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("   at ", r.Stderr + r.Stdout, StringComparison.Ordinal);
        if (name != "oversized")
        {
            Assert.Contains($"{name}.rom: offset 0x", r.Stdout, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void DumpRejectsUnusableFilesWithOneLine(string name, byte[] content)
    {
        if (name == "bad-checksum")
        {
            return; // still dumpable: dump shows it and says it is invalid (checked below)
        }
        string path = PathOf($"{name}.rom");
        File.WriteAllBytes(path, content);
        var r = VmiRunner.Cli("rom", "dump", path);
        Assert.Equal(2, r.ExitCode);
        string[] lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("vmi: ", lines[0], StringComparison.Ordinal);
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void DumpOfABadChecksumRomSaysItIsInvalid()
    {
        byte[] rom = RomProfiles.Native().Image;
        rom[^1] ^= 1;
        string path = PathOf("bad.rom");
        File.WriteAllBytes(path, rom);
        var r = VmiRunner.Cli("rom", "dump", path);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("validation      1 violation(s)", r.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("build", "--profile", "no-such-profile", "-o", "x.rom")]
    [InlineData("build", "--profile", "native", "-o", "x.rom", "--base", "0xC0400")]
    [InlineData("build", "--profile", "native", "-o", "x.rom", "--base", "0xE0000")]
    [InlineData("verify", "/nonexistent/file.rom")]
    [InlineData("dump", "/nonexistent/file.rom")]
    public void UsageErrorsExitWith2(params string[] args)
    {
        var r = VmiRunner.Cli(["rom", .. args]);
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("vmi: ", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void RunMapsARomFromAProfileOrAFile()
    {
        string rom = PathOf("native.rom");
        File.WriteAllBytes(rom, RomProfiles.Native().Image);
        var fromFile = VmiRunner.Cli("run", VmiRunner.TestKernel, "--rom", rom, "--rom-base", "0xD8000");
        Assert.Equal(1, fromFile.ExitCode);
        var fromProfile = VmiRunner.Cli("run", VmiRunner.TestKernel, "--rom-profile", "nop-demo");
        Assert.Equal(1, fromProfile.ExitCode);
        var both = VmiRunner.Cli("run", VmiRunner.TestKernel, "--rom", rom, "--rom-profile", "native");
        Assert.Equal(2, both.ExitCode);
        var badBase = VmiRunner.Cli("run", VmiRunner.TestKernel, "--rom", rom, "--rom-base", "0xDFC00");
        Assert.Equal(2, badBase.ExitCode);
        Assert.Contains("2 KiB aligned", badBase.Stderr, StringComparison.Ordinal);
    }
}
