using System.Text.RegularExpressions;
using Vmi.Abi;
using Vmi.Machine;
using Vmi.Machine.Boot;
using Vmi.Rom;
using Vmi.TestSupport;
using Xunit.Abstractions;

namespace Vmi.EndToEnd.Tests;

/// <summary>
/// The VMI guest kernel (guest/): one binary that boots native without a ROM, patches itself from
/// whatever ROM it finds (ours on vmi, and on QEMU where the real PC firmware placed it), refuses a
/// broken ROM as a whole, and passes its boot checks in every case.
/// </summary>
public sealed partial class GuestKernelTests(ITestOutputHelper output)
{
    private static string Kernel => QemuRunner.BuildGuestKernel();

    [GeneratedRegex(@"^VMI: .*$", RegexOptions.Multiline)]
    private static partial Regex VmiLines();

    private VmiRunner.InProcessResult Boot(string args, byte[]? rom = null)
    {
        var serial = new MemoryStream();
        var vm = Vm.BootMultiboot(new VmConfig
        {
            CommandLine = MultibootInfoBuilder.QemuStyleCommandLine(Kernel, args),
            SerialOutput = serial,
            OptionRom = rom,
        }, File.ReadAllBytes(Kernel));
        VmRunResult r = vm.Run(50_000_000);
        var result = new VmiRunner.InProcessResult(r, serial.ToArray());
        output.WriteLine(result.Output);
        Assert.True(r.Reason == VmExitReason.DebugExit, $"{r.Reason}: {r.Detail}");
        Assert.Equal(1, r.GuestExitCode); // the kernel wrote 0: every check passed
        Assert.EndsWith("done failures=0\n", result.Output.Replace("\r", ""), StringComparison.Ordinal);
        return result;
    }

    private static string Summary(string serial) =>
        VmiLines().Matches(serial.Replace("\r", "")).Select(m => m.Value).Last();

    [Fact]
    public void WithoutARomEverySiteStaysNative()
    {
        var r = Boot("quiet");
        Assert.Equal("VMI: no VMI ROM in 0xC0000-0xDFFFF; sites stay native", Summary(r.Output));
    }

    [Fact]
    public void TheNativeRomPatchesEverySiteToACallAndIretToAJump()
    {
        var r = Boot("quiet", RomProfiles.Native().Image);
        // Native: only the three timer sites (GetCycleFrequency, GetCycleCounter, SetAlarm), which a
        // ROM that delivers no alarms must answer NONE; the kernel then keeps the PIT.
        Assert.Matches(@"^VMI: vmi project VMI native ROM \(transparent paravirtualization\) API 3\.0 at 0xc0000; sites: [1-9]\d* call, 2 jump, 0 nop, 3 native$", Summary(r.Output));
    }

    [Fact]
    public void TheNopDemoRomKeepsMostSitesNative()
    {
        var r = Boot("", RomProfiles.NopDemo().Image);
        Assert.Matches(@"sites: 0 call, 2 jump, \d+ nop, [1-9]\d* native$", Summary(r.Output));
        Assert.Contains("VMI: jump: 2 calls, 2 sites", r.Output, StringComparison.Ordinal); // IRET and SYSEXIT
        Assert.Contains("syscalls: sysenter/sysexit and int 0x80", r.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void VmiOffIgnoresTheRom()
    {
        var r = Boot("vmi=off", RomProfiles.Native().Image);
        Assert.Equal("VMI: disabled by vmi=off; sites stay native", Summary(r.Output));
    }

    /// <summary>A native ROM changed at <paramref name="offset"/>; <paramref name="keepChecksum"/> compensates in a reserved header byte.</summary>
    private static byte[] Broken(int offset, byte value, bool keepChecksum) => NativeRomWith(rom => rom[offset] = value, keepChecksum);

    /// <summary>
    /// The native ROM after <paramref name="change"/>; with <paramref name="keepChecksum"/> the byte sum
    /// stays zero, compensated in the reserved header byte 0x0F, so only the change is wrong.
    /// </summary>
    private static byte[] NativeRomWith(Action<byte[]> change, bool keepChecksum = true)
    {
        byte[] rom = RomProfiles.Native().Image;
        int sumBefore = rom.Sum(b => b);
        change(rom);
        if (keepChecksum)
        {
            rom[0x0F] = (byte)(rom[0x0F] - (rom.Sum(b => b) - sumBefore));
        }
        return rom;
    }

    public static TheoryData<string, string> BrokenRoms() => new()
    {
        { "major 2", "API major version is not 3" },
        { "bad checksum", "bad checksum" },
        { "jump for cli", "JUMP_REL for a call that returns" },
        { "stub outside the ROM", "a target outside the ROM" },
        { "unknown type", "unknown relocation type" },
    };

    [Theory]
    [MemberData(nameof(BrokenRoms))]
    public void ABrokenRomIsRejectedWholeAndTheKernelRunsNative(string broken, string reason)
    {
        byte[] rom = broken switch
        {
            "major 2" => Broken(0x0D, 2, keepChecksum: true),
            "bad checksum" => Broken(0x0F, 0x5A, keepChecksum: false),
            "jump for cli" => WithAnswer(VmiCall.DisableInterrupts, type: (byte)RelocationType.JumpRel),
            "stub outside the ROM" => WithAnswer(VmiCall.GetCr0, stubOffset: 0x10000),
            _ => WithAnswer(VmiCall.GetCr2, type: 7),
        };

        var r = Boot("quiet bench=all iters=20", rom);

        Assert.Equal($"VMI: ROM at 0xc0000 rejected: {reason}; sites stay native", Summary(r.Output));
        Assert.Equal(Results(Boot("quiet bench=all iters=20").Output), Results(r.Output));
    }

    /// <summary>
    /// The native ROM with one entry of get_reloc's table (call number → {u32 stub offset, u8 type})
    /// changed, and the checksum kept: the builder itself refuses to make such a ROM.
    /// </summary>
    private static byte[] WithAnswer(VmiCall call, uint? stubOffset = null, byte? type = null)
    {
        int entry = RomProfiles.Native().RelocationTableOffset + (int)call * RelocationInfo.Size;
        return NativeRomWith(rom =>
        {
            if (stubOffset is uint o)
            {
                BitConverter.TryWriteBytes(rom.AsSpan(entry, 4), o);
            }
            if (type is byte t)
            {
                rom[entry + 4] = t;
            }
        });
    }

    [GeneratedRegex(@"^RESULT .*$", RegexOptions.Multiline)]
    private static partial Regex ResultLines();

    private static string[] Results(string serial) => [.. ResultLines().Matches(serial.Replace("\r", "")).Select(m => m.Value)];

    private const string Workloads = "quiet bench=all iters=60";

    [Fact]
    public void TheWorkloadsGiveTheSameResultsWhateverTheRom()
    {
        string[] native = Results(Boot(Workloads).Output);
        Assert.Equal(["syscall", "forkwait", "ctxsw", "pgfault", "ptemod", "divzero", "cpuid", "kcpuid", "irqflags", "io", "compute"], native.Select(l => l.Split(' ')[1]["bench=".Length..]));
        Assert.Equal(native, Results(Boot(Workloads, RomProfiles.Native().Image).Output));
        Assert.Equal(native, Results(Boot(Workloads, RomProfiles.NopDemo().Image).Output));
        Assert.Equal(native, Results(Boot(Workloads.Replace("quiet", "quiet vmi=off"), RomProfiles.Native().Image).Output));
    }

    [Fact]
    public void AnUnknownWorkloadFailsTheBoot()
    {
        var serial = new MemoryStream();
        var vm = Vm.BootMultiboot(new VmConfig
        {
            CommandLine = MultibootInfoBuilder.QemuStyleCommandLine(Kernel, "quiet bench=syscall,bogus iters=5"),
            SerialOutput = serial,
        }, File.ReadAllBytes(Kernel));
        VmRunResult r = vm.Run(50_000_000);
        string text = System.Text.Encoding.ASCII.GetString(serial.ToArray());
        Assert.Contains("FAIL bench: unknown workload 'bogus'", text, StringComparison.Ordinal);
        Assert.StartsWith("RESULT bench=syscall iters=5", Assert.Single(Results(text)), StringComparison.Ordinal); // only what was named
        Assert.Equal((1 << 1) | 1, r.GuestExitCode);
    }

    [Fact]
    public void TheCheckValueDependsOnTheWorkDone()
    {
        string[] a = Results(Boot("quiet bench=all iters=60").Output);
        string[] b = Results(Boot("quiet bench=all iters=61").Output);
        Assert.All(a.Zip(b), pair => Assert.NotEqual(pair.First.Split(" check=")[1], pair.Second.Split(" check=")[1]));
    }

    [Fact]
    public void TheKernelStaysBelowTheRomsVirtualTop()
    {
        // virtual_top 0xC2000000: the hypervisor owns everything above 32 MiB of kernel space, so the
        // kernel maps (of 64 MiB of RAM) only what fits below with its scratch window.
        const uint top = 0xC200_0000;
        byte[] rom = NativeRomWith(rom => BitConverter.TryWriteBytes(rom.AsSpan(0x10, 4), top));
        string[] expected = Results(Boot("quiet bench=all iters=20").Output);

        var serial = new MemoryStream();
        var vm = Vm.BootMultiboot(new VmConfig
        {
            CommandLine = MultibootInfoBuilder.QemuStyleCommandLine(Kernel, "quiet bench=all iters=20"),
            SerialOutput = serial,
            OptionRom = rom,
        }, File.ReadAllBytes(Kernel));
        VmRunResult r = vm.Run(200_000_000);
        string text = System.Text.Encoding.ASCII.GetString(serial.ToArray());
        output.WriteLine(text);

        Assert.Equal(1, r.GuestExitCode);
        Assert.Contains("VMI: virtual_top 0xc2000000: the kernel stays below it", text, StringComparison.Ordinal);
        Assert.Equal(expected, Results(text));
        // The kernel's page directory (CR3 at the end) maps nothing at or above virtual_top.
        uint directory = vm.Cpu.Cr3 & ~0xFFFu;
        for (uint pde = top >> 22; pde < 1024; pde++)
        {
            Assert.True((vm.Memory.Read32(directory + pde * 4) & 1) == 0, $"PDE {pde} (0x{pde << 22:X8}) is present above virtual_top");
        }
    }

    [Fact]
    public void AVirtualTopThatLeavesTheKernelNoRoomIsRefused()
    {
        byte[] rom = NativeRomWith(rom => BitConverter.TryWriteBytes(rom.AsSpan(0x10, 4), 0xC080_0000u));
        var r = Boot("quiet", rom);
        Assert.Equal("VMI: ROM at 0xc0000 rejected: virtual_top 0xc0800000 leaves the kernel no room; sites stay native", Summary(r.Output));
    }

    [SkippableFact]
    public void TheWorkloadsGiveTheSameResultsOnQemuWithAndWithoutOurRom()
    {
        Skip.If(QemuRunner.FindQemu() is null, $"{QemuRunner.QemuBinary} is not installed");
        string rom = Path.Combine(Path.GetTempPath(), $"vmi-guest-workloads-{Environment.ProcessId}.rom");
        File.WriteAllBytes(rom, RomProfiles.Native().Image);
        try
        {
            string[] ours = Results(Boot(Workloads).Output);
            QemuResult plain = QemuRunner.Run(Kernel, Workloads, TimeSpan.FromSeconds(60));
            QemuResult patched = QemuRunner.Run(Kernel, Workloads, TimeSpan.FromSeconds(60), optionRom: rom);
            Assert.Equal(0, plain.GuestExitCode);
            Assert.Equal(0, patched.GuestExitCode);
            Assert.Contains("sites:", Summary(patched.Stdout), StringComparison.Ordinal);
            Assert.Equal(ours, Results(plain.Stdout));
            Assert.Equal(ours, Results(patched.Stdout));
        }
        finally
        {
            File.Delete(rom);
        }
    }

    [SkippableFact]
    public void OnQemuTheKernelFindsOurRomWhereTheFirmwarePutItAndPatchesItself()
    {
        Skip.If(QemuRunner.FindQemu() is null, $"{QemuRunner.QemuBinary} is not installed");
        string rom = Path.Combine(Path.GetTempPath(), $"vmi-guest-native-{Environment.ProcessId}.rom");
        File.WriteAllBytes(rom, RomProfiles.Native().Image);
        try
        {
            QemuResult plain = QemuRunner.Run(Kernel, "quiet", TimeSpan.FromSeconds(60));
            QemuResult patched = QemuRunner.Run(Kernel, "quiet", TimeSpan.FromSeconds(60), optionRom: rom);
            output.WriteLine(plain.Stdout);
            output.WriteLine(patched.Stdout);
            var ours = Boot("quiet", RomProfiles.Native().Image);

            Assert.Equal(0, plain.GuestExitCode);
            Assert.Equal(0, patched.GuestExitCode);
            Assert.Equal("VMI: no VMI ROM in 0xC0000-0xDFFFF; sites stay native", Summary(plain.Stdout));
            // The same decisions as on vmi; only the address differs (SeaBIOS picks it).
            string AtAnyAddress(string line) => Regex.Replace(line, " at 0x[0-9a-f]+;", " at ADDR;");
            Assert.Equal(AtAnyAddress(Summary(ours.Output)), AtAnyAddress(Summary(patched.Stdout)));
            Assert.Equal(ours.Output.Replace("\r", "").Split('\n').Where(l => !l.StartsWith("VMI:", StringComparison.Ordinal) && !l.StartsWith("cmdline", StringComparison.Ordinal)),
                patched.Stdout.Replace("\r", "").Split('\n').Where(l => !l.StartsWith("VMI:", StringComparison.Ordinal) && !l.StartsWith("cmdline", StringComparison.Ordinal)));
        }
        finally
        {
            File.Delete(rom);
        }
    }
}
