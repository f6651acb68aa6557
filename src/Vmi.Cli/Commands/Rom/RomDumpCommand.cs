using System.CommandLine;
using System.Text.Json;
using Iced.Intel;
using Vmi.Abi;
using Vmi.Machine.Roms;

namespace Vmi.Cli.Commands.Rom;

/// <summary>
/// `vmi rom dump FILE [--base ADDR] [--json]`: header, PCI/PnP data, strings, and the 74 calls as
/// the ROM really answers them — get_reloc is executed on a scratch CPU with the ROM mapped at
/// --base — with each stub disassembled.
/// </summary>
public static class RomDumpCommand
{
    private const int MaxStubInstructions = 16;

    public static Command Create()
    {
        var file = new Argument<FileInfo>("file") { Description = "ROM image to dump" };
        var romBase = new Option<string?>("--base") { Description = "physical address to map the ROM at while asking it (default 0xC0000)" };
        var json = new Option<bool>("--json") { Description = "machine-readable output" };
        var command = new Command("dump", "show a ROM's header and what it answers for every VMI call") { file, romBase, json };
        command.SetAction(p => Execute(p.GetValue(file)!, p.GetValue(romBase), p.GetValue(json)));
        return command;
    }

    private sealed record CallRow(int Number, string Name, string Type, uint Eip, int? Offset, string[] Disassembly, string? Failure);

    private static int Execute(FileInfo file, string? baseText, bool json)
    {
        if (!RomCommand.TryReadRomFile(file, out byte[] image, out string readError))
        {
            Console.Error.WriteLine($"vmi: {readError}");
            return (int)ExitCode.Usage;
        }
        // Validate first: the most basic broken rule (signatures before offsets) is the one to report.
        IReadOnlyList<RomViolation> violations = RomValidator.Validate(image);
        RomViolation? fatal = RomCommand.FatalViolation(violations);
        if (fatal is not null)
        {
            Console.Error.WriteLine($"vmi: {file.Name}: not a usable VMI ROM: {fatal}");
            return (int)ExitCode.Usage;
        }
        if (!RomReader.TryRead(image, out VmiRomImage? rom, out RomFormatException? error))
        {
            Console.Error.WriteLine($"vmi: {file.Name}: not a readable VMI ROM: {error!.Message}");
            return (int)ExitCode.Usage;
        }
        uint romBase = Vmi.Machine.VmConfig.DefaultOptionRomBase;
        if (baseText is not null && !AddressParser.TryParse(baseText, out romBase))
        {
            Console.Error.WriteLine($"vmi: --base: '{baseText}' is not an address");
            return (int)ExitCode.Usage;
        }
        if (OptionRomWindow.PlacementError(romBase, image.Length) is string placement)
        {
            Console.Error.WriteLine($"vmi: --base: {placement}");
            return (int)ExitCode.Usage;
        }

        var executor = new RomExecutor(image, romBase);
        var initResult = executor.Call(RomLayout.VmiInitOffset, 0, out string? initFailure);
        var rows = new List<CallRow>();
        foreach (VmiCall call in VmiCalls.All)
        {
            RelocationInfo? r = executor.GetReloc((int)call, out string? failure);
            if (r is not RelocationInfo reloc)
            {
                rows.Add(new CallRow((int)call, VmiCalls.AbiName(call), "?", 0, null, [], failure));
                continue;
            }
            int? offset = reloc.Type is RelocationType.CallRel or RelocationType.JumpRel && reloc.Eip >= romBase && reloc.Eip < romBase + image.Length
                ? (int)(reloc.Eip - romBase) : null;
            string[] disassembly = offset is int o ? Disassemble(image, o, romBase) : [];
            string? problem = reloc.Type is RelocationType.CallRel or RelocationType.JumpRel && offset is null ? $"eip 0x{reloc.Eip:X8} is outside the ROM" : null;
            rows.Add(new CallRow((int)call, VmiCalls.AbiName(call), TypeName(reloc.Type), reloc.Eip, offset, disassembly, problem));
        }

        if (json)
        {
            WriteJson(file, rom!, romBase, violations, initResult, initFailure, rows);
        }
        else
        {
            WriteText(file, rom!, romBase, violations, initResult, initFailure, rows);
        }
        return (int)ExitCode.Success;
    }

    private static string TypeName(RelocationType t) => RelocationTypes.AbiName(t);

    private static string[] Disassemble(byte[] image, int offset, uint romBase)
    {
        var decoder = Decoder.Create(32, new ByteArrayCodeReader(image, offset, image.Length - offset));
        decoder.IP = romBase + (uint)offset;
        var formatter = new NasmFormatter();
        var output = new StringOutput();
        var lines = new List<string>();
        for (int i = 0; i < MaxStubInstructions; i++)
        {
            decoder.Decode(out Instruction ins);
            if (ins.IsInvalid)
            {
                break;
            }
            formatter.Format(ins, output);
            lines.Add(output.ToStringAndReset());
            if (ins.FlowControl is FlowControl.Return or FlowControl.UnconditionalBranch or FlowControl.Interrupt
                || ins.Mnemonic is Mnemonic.Iret or Mnemonic.Iretd or Mnemonic.Sysexit)
            {
                break;
            }
        }
        return [.. lines];
    }

    private static void WriteText(FileInfo file, VmiRomImage rom, uint romBase, IReadOnlyList<RomViolation> violations,
        (uint Eax, uint Edx)? init, string? initFailure, List<CallRow> rows)
    {
        RomHeader h = rom.Header;
        Console.WriteLine($"{file.Name}: {rom.Bytes.Length} bytes, mapped at 0x{romBase:X} for this dump");
        Console.WriteLine($"  rom_length      {h.RomLength} x 512");
        Console.WriteLine($"  api version     {h.ApiVersionMajor}.{h.ApiVersionMinor}");
        Console.WriteLine($"  virtual_top     0x{h.VirtualTop:X8}{(h.VirtualTop == 0 ? " (nothing reserved)" : "")}");
        Console.WriteLine($"  rom_entry       0x{h.RomEntry:X8}");
        Console.WriteLine($"  pci header      @0x{h.PciHeaderOffset:X4} vendor 0x{rom.Pci.VendorId:X4} device 0x{rom.Pci.DeviceId:X4} class {rom.Pci.ClassCode:X2}/{rom.Pci.Subclass:X2}/{rom.Pci.ProgrammingInterface:X2}");
        Console.WriteLine($"  pnp header      {(rom.Pnp is null ? "none" : $"@0x{h.PnpHeaderOffset:X4} rev {rom.Pnp.Revision}")}");
        Console.WriteLine($"  manufacturer    {rom.Manufacturer ?? "-"}");
        Console.WriteLine($"  product         {rom.Product ?? "-"}");
        Console.WriteLine($"  license         {rom.License ?? "-"}");
        Console.WriteLine($"  vmi_init        {(init is { } r ? $"returned EAX=0x{r.Eax:X8}{(r.Eax == 0 ? " (success)" : " (failure)")}" : initFailure)}");
        Console.WriteLine($"  validation      {(violations.Count == 0 ? "valid" : $"{violations.Count} violation(s): run 'vmi rom verify'")}");
        Console.WriteLine();
        Console.WriteLine($"  {"#",2}  {"call",-18} {"type",-9} {"eip",-10}  stub");
        foreach (CallRow row in rows)
        {
            string eip = row.Offset is null ? "" : $"0x{row.Eip:X8}";
            string first = row.Failure ?? (row.Disassembly.Length > 0 ? row.Disassembly[0] : "");
            Console.WriteLine($"  {row.Number,2}  {row.Name,-18} {row.Type,-9} {eip,-10}  {first}".TrimEnd());
            for (int i = 1; i < row.Disassembly.Length; i++)
            {
                Console.WriteLine($"  {"",2}  {"",-18} {"",-9} {"",-10}  {row.Disassembly[i]}");
            }
        }
    }

    private static void WriteJson(FileInfo file, VmiRomImage rom, uint romBase, IReadOnlyList<RomViolation> violations,
        (uint Eax, uint Edx)? init, string? initFailure, List<CallRow> rows)
    {
        var doc = new
        {
            file = file.FullName,
            size = rom.Bytes.Length,
            romBase,
            header = rom.Header,
            pci = rom.Pci,
            pnp = rom.Pnp,
            manufacturer = rom.Manufacturer,
            product = rom.Product,
            license = rom.License,
            vmiInit = init is { } r ? (object)new { eax = r.Eax } : new { failure = initFailure },
            violations = violations.Select(v => new { offset = v.Offset, field = v.Field, message = v.Message }),
            calls = rows.Select(c => new { number = c.Number, name = c.Name, type = c.Type, eip = c.Offset is null ? (uint?)null : c.Eip, offset = c.Offset, disassembly = c.Disassembly, failure = c.Failure }),
        };
        Console.WriteLine(JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true }));
    }
}
