using System.Buffers.Binary;
using System.Diagnostics;
using Vmi.Machine.Boot;

namespace Vmi.Machine.Tests.Boot;

/// <summary>
/// The zero page's layout, checked against struct boot_params as the system's
/// &lt;asm/bootparam.h&gt; (linux-libc-dev) lays it out, compiled by gcc, and against the offsets
/// boot.rst and bootparam.h's comments document; then the values the loader writes there.
/// </summary>
public sealed class LinuxZeroPageTests
{
    /// <summary>Each field the loader reads or writes: its C name in struct boot_params, and the loader's offset for it.</summary>
    public static TheoryData<string, int> LoaderFields => new()
    {
        { "hdr", LinuxSetupHeader.SetupSectsOffset },
        { "hdr.syssize", LinuxSetupHeader.SyssizeOffset },
        { "hdr.boot_flag", LinuxSetupHeader.BootFlagOffset },
        { "hdr.jump", LinuxSetupHeader.JumpOffset },
        { "hdr.header", LinuxSetupHeader.HeaderMagicOffset },
        { "hdr.version", LinuxSetupHeader.VersionOffset },
        { "hdr.type_of_loader", LinuxSetupHeader.TypeOfLoaderOffset },
        { "hdr.loadflags", LinuxSetupHeader.LoadflagsOffset },
        { "hdr.code32_start", LinuxSetupHeader.Code32StartOffset },
        { "hdr.ramdisk_image", LinuxSetupHeader.RamdiskImageOffset },
        { "hdr.ramdisk_size", LinuxSetupHeader.RamdiskSizeOffset },
        { "hdr.heap_end_ptr", LinuxSetupHeader.HeapEndPtrOffset },
        { "hdr.cmd_line_ptr", LinuxSetupHeader.CmdLinePtrOffset },
        { "hdr.initrd_addr_max", LinuxSetupHeader.InitrdAddrMaxOffset },
        { "hdr.kernel_alignment", LinuxSetupHeader.KernelAlignmentOffset },
        { "hdr.relocatable_kernel", LinuxSetupHeader.RelocatableKernelOffset },
        { "hdr.cmdline_size", LinuxSetupHeader.CmdlineSizeOffset },
        { "hdr.hardware_subarch", LinuxSetupHeader.HardwareSubarchOffset },
        { "hdr.payload_offset", LinuxSetupHeader.PayloadOffsetOffset },
        { "hdr.payload_length", LinuxSetupHeader.PayloadLengthOffset },
        { "hdr.setup_data", LinuxSetupHeader.SetupDataOffset },
        { "hdr.pref_address", LinuxSetupHeader.PrefAddressOffset },
        { "hdr.init_size", LinuxSetupHeader.InitSizeOffset },
        { "ext_ramdisk_image", LinuxZeroPage.ExtRamdiskImageOffset },
        { "ext_ramdisk_size", LinuxZeroPage.ExtRamdiskSizeOffset },
        { "ext_cmd_line_ptr", LinuxZeroPage.ExtCmdLinePtrOffset },
        { "alt_mem_k", LinuxZeroPage.AltMemKOffset },
        { "e820_entries", LinuxZeroPage.E820EntriesOffset },
        { "sentinel", LinuxZeroPage.SentinelOffset },
        { "e820_table", LinuxZeroPage.E820TableOffset },
    };

    private static readonly Lazy<Dictionary<string, int>?> s_systemLayout = new(CompileSystemLayout);

    [SkippableTheory]
    [MemberData(nameof(LoaderFields))]
    public void FieldOffset_IsTheSystemBootparamHs(string field, int loaderOffset)
    {
        Dictionary<string, int>? layout = s_systemLayout.Value;
        Skip.If(layout is null, "gcc or <asm/bootparam.h> (linux-libc-dev) is not installed");

        Assert.Equal(layout![field], loaderOffset);
    }

    [SkippableFact]
    public void Sizes_AreTheSystemBootparamHs()
    {
        Dictionary<string, int>? layout = s_systemLayout.Value;
        Skip.If(layout is null, "gcc or <asm/bootparam.h> (linux-libc-dev) is not installed");

        Assert.Equal(LinuxZeroPage.Size, layout!["sizeof(struct boot_params)"]);
        Assert.Equal(E820Map.EntrySize, layout["sizeof(struct boot_e820_entry)"]);
        Assert.Equal(E820Map.MaxZeroPageEntries, layout["E820_MAX_ENTRIES_ZEROPAGE"]);
    }

    /// <summary>Offsets as boot.rst's header table and bootparam.h's comments give them, written out by hand.</summary>
    [Theory]
    [InlineData(LinuxSetupHeader.SetupSectsOffset, 0x1F1)]
    [InlineData(LinuxSetupHeader.TypeOfLoaderOffset, 0x210)]
    [InlineData(LinuxSetupHeader.LoadflagsOffset, 0x211)]
    [InlineData(LinuxSetupHeader.RamdiskImageOffset, 0x218)]
    [InlineData(LinuxSetupHeader.RamdiskSizeOffset, 0x21C)]
    [InlineData(LinuxSetupHeader.CmdLinePtrOffset, 0x228)]
    [InlineData(LinuxSetupHeader.InitrdAddrMaxOffset, 0x22C)]
    [InlineData(LinuxSetupHeader.CmdlineSizeOffset, 0x238)]
    [InlineData(LinuxSetupHeader.PayloadOffsetOffset, 0x248)]
    [InlineData(LinuxSetupHeader.PrefAddressOffset, 0x258)]
    [InlineData(LinuxSetupHeader.InitSizeOffset, 0x260)]
    [InlineData(LinuxZeroPage.E820EntriesOffset, 0x1E8)]
    [InlineData(LinuxZeroPage.E820TableOffset, 0x2D0)]
    public void FieldOffset_IsTheDocumentedOne(int loaderOffset, int documented) => Assert.Equal(documented, loaderOffset);

    [Fact]
    public void Build_FillsTheLoadersFieldsAndCopiesOnlyTheHeader()
    {
        byte[] image = new TestBzImage { Loadflags = 0x01 | 0x40 | 0x80 }.Build();
        image[0x1EF] = 0xFF; // the sentinel, just before the header: a loader that copies it is "too generous"
        LinuxSetupHeader header = LinuxSetupHeader.Parse(image);
        var map = E820Map.For(64u << 20);

        byte[] page = LinuxZeroPage.Build(image, header, map, commandLineAddress: 0x2_0000, initrdAddress: 0x3F0_0000, initrdSize: 0x1234);

        Assert.Equal(4096, page.Length);
        Assert.Equal(image[0x1F1..0x210], page[0x1F1..0x210]); // the header up to type_of_loader, as the image has it
        Assert.Equal(image[0x238..0x26C], page[0x238..0x26C]); // and from cmdline_size to its end
        Assert.Equal(0, page[0x1EF]);
        Assert.Equal(0xFF, page[0x210]); // type_of_loader: undefined
        Assert.Equal(0x01, page[0x211]); // LOADED_HIGH kept; KEEP_SEGMENTS and CAN_USE_HEAP cleared
        Assert.Equal(0x2_0000u, U32(page, 0x228));
        Assert.Equal(0x3F0_0000u, U32(page, 0x218));
        Assert.Equal(0x1234u, U32(page, 0x21C));
        Assert.Equal(0u, U32(page, 0x0C0)); // ext_ramdisk_image: everything is below 4 GiB
        Assert.Equal((64u << 20) / 1024 - 1024, U32(page, 0x1E0)); // alt_mem_k: KiB above 1 MiB
        Assert.Equal(map.Count, page[0x1E8]);
        for (int i = 0; i < map.Count; i++)
        {
            int e = 0x2D0 + i * 20;
            Assert.Equal(map[i].Base, BinaryPrimitives.ReadUInt64LittleEndian(page.AsSpan(e)));
            Assert.Equal(map[i].Length, BinaryPrimitives.ReadUInt64LittleEndian(page.AsSpan(e + 8)));
            Assert.Equal(map[i].Type, U32(page, e + 16));
        }
        Assert.All(page[(0x2D0 + map.Count * 20)..], b => Assert.Equal(0, b));
        Assert.All(page[..0x1E0], b => Assert.Equal(0, b));
    }

    private static uint U32(byte[] b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at));

    /// <summary>offsetof and sizeof as gcc computes them from the system header, or null when it cannot.</summary>
    private static Dictionary<string, int>? CompileSystemLayout()
    {
        string dir = Directory.CreateTempSubdirectory("vmi-bootparam-").FullName;
        try
        {
            var fields = LoaderFields.Select(row => (string)row[0]).ToList();
            string source = "#include <stdio.h>\n#include <stddef.h>\n#include <asm/bootparam.h>\nint main(void) {\n" +
                string.Concat(fields.Select(f => $"    printf(\"{f} %zu\\n\", offsetof(struct boot_params, {f}));\n")) +
                "    printf(\"sizeof(struct boot_params) %zu\\n\", sizeof(struct boot_params));\n" +
                "    printf(\"sizeof(struct boot_e820_entry) %zu\\n\", sizeof(struct boot_e820_entry));\n" +
                "    printf(\"E820_MAX_ENTRIES_ZEROPAGE %d\\n\", E820_MAX_ENTRIES_ZEROPAGE);\n    return 0;\n}\n";
            string c = Path.Combine(dir, "layout.c");
            string exe = Path.Combine(dir, "layout");
            File.WriteAllText(c, source);
            if (Run("gcc", [c, "-o", exe]) is null)
            {
                return null;
            }
            string output = Run(exe, []) ?? throw new InvalidOperationException("the layout program built but did not run");
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split(' '))
                .ToDictionary(p => string.Join(' ', p[..^1]), p => int.Parse(p[^1], System.Globalization.CultureInfo.InvariantCulture));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string? Run(string tool, string[] arguments)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in arguments)
        {
            psi.ArgumentList.Add(a);
        }
        try
        {
            using Process p = Process.Start(psi)!;
            string stdout = p.StandardOutput.ReadToEnd();
            p.StandardError.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode == 0 ? stdout : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // no such tool
        }
    }
}
