using Iced.Intel;
using Vmi.Abi;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Rom;

/// <summary>
/// Lays out a VMI 3.0 option ROM from per-call declarations: the 144-byte header, a real-mode
/// init routine at rom_entry, vmi_init and get_reloc behind the jumps at 0x80/0x88, the
/// relocation table, the stubs (assembled with Iced), PCI and PnP headers, strings, and the
/// checksum. The same declarations always produce the same bytes.
///
/// Position independence is decided here: neither the hypervisor nor the ROM can know the
/// linear address the kernel will map the ROM at (the firmware picks the physical slot; a kernel
/// may map low memory at 0xC0000000), so the relocation table stores stub offsets relative to
/// the ROM start and get_reloc adds its own run-time base, found with call/pop.
/// </summary>
public sealed class RomBuilder
{
    private const int RealModeInitOffset = 0x90;
    private const int PciOffset = 0x98;
    private const int PnpOffset = 0xB0;
    private const byte PnpLengthUnits = (RomLayout.PnpHeaderSize + 15) / 16;

    /// <summary>Strings start after the PnP header's whole checksummed span (its length is in 16-byte units).</summary>
    private const int StringsOffset = PnpOffset + PnpLengthUnits * 16;

    private readonly Dictionary<VmiCall, CallSpec> calls = [];

    public RomBuilder(string profile)
    {
        Profile = profile;
    }

    public string Profile { get; }

    public string Manufacturer { get; init; } = "vmi project";

    public string Product { get; init; } = "VMI ROM";

    /// <summary>
    /// "GPL v2" because Linux's VMI loader (arch/i386/kernel/vmi.c, 2.6.21+) accepts "GPL" or
    /// "GPL v2" silently and taints the kernel for any other ROM license.
    /// </summary>
    public string License { get; init; } = "GPL v2";

    /// <summary>The kernel must not use linear addresses at or above this (0 = the hypervisor reserves nothing).</summary>
    public uint VirtualTop { get; init; }

    public byte ApiVersionMinor { get; init; }

    /// <summary>
    /// The code of vmi_init (32-bit, called once by the kernel before get_reloc; must return EAX = 0),
    /// e.g. a hypercall telling the hypervisor the kernel is taking the ROM. Null: return 0.
    /// </summary>
    public Action<Assembler>? VmiInit { get; init; }

    /// <summary>VMware's PCI IDs, as the original ROMs carried (a mismatch was only a warning in Linux).</summary>
    public ushort PciVendor { get; init; } = 0x15AD;

    public ushort PciDevice { get; init; } = 0x0801;

    /// <summary>Declares what every site of <paramref name="call"/> becomes; undeclared calls are NONE.</summary>
    public RomBuilder Declare(VmiCall call, CallSpec spec)
    {
        if (spec is CodeSpec { Jump: true } && !VmiCalls.NeverReturns(call))
        {
            throw new ArgumentException($"{VmiCalls.AbiName(call)} returns to its caller: JUMP_REL is only for IRET and SYSEXIT", nameof(spec));
        }
        calls[call] = spec;
        return this;
    }

    public VmiRom Build()
    {
        var image = new List<byte>(new byte[StringsOffset]);
        int manufacturerOffset = AppendString(image, Manufacturer);
        int productOffset = AppendString(image, Product);
        int licenseOffset = AppendString(image, License);
        Align(image, 16);

        int vmiInit = image.Count;
        Append(image, Assemble(vmiInit, VmiInit ?? (a =>
        {
            // Nothing to set up: the hypervisor prepared the machine before the kernel ran.
            a.xor(eax, eax);
            a.ret();
        })));
        Align(image, 16);

        // get_reloc's table follows the code; the code is assembled with the table's final offset.
        int getReloc = image.Count;
        byte[] firstPass = AssembleGetReloc(getReloc, 0x1000, 0x1000, out int hereRip);
        int tableOffset = Align16(getReloc + firstPass.Length);
        byte[] getRelocCode = AssembleGetReloc(getReloc, hereRip, tableOffset, out _);
        if (getRelocCode.Length != firstPass.Length)
        {
            throw new InvalidOperationException("get_reloc changed size between assembly passes");
        }
        Append(image, getRelocCode);
        while (image.Count < tableOffset) image.Add(0xCC);
        image.AddRange(new byte[VmiCalls.Count * RelocationInfo.Size]);

        var types = new Dictionary<VmiCall, RelocationType>();
        var stubs = new Dictionary<VmiCall, int>();
        foreach (VmiCall call in VmiCalls.All)
        {
            CallSpec spec = calls.TryGetValue(call, out CallSpec? s) ? s : CallSpec.Native;
            types[call] = spec.Type;
            int entry = tableOffset + (int)call * RelocationInfo.Size;
            if (spec is CodeSpec code)
            {
                Align(image, 16);
                int stub = image.Count;
                Append(image, Assemble(stub, code.Emit));
                stubs[call] = stub;
                WriteU32(image, entry, (uint)stub);
            }
            image[entry + 4] = (byte)spec.Type;
        }

        // One byte is kept free at the end for the checksum.
        int length = (image.Count + 1 + RomLayout.BlockSize - 1) / RomLayout.BlockSize * RomLayout.BlockSize;
        if (length > 255 * RomLayout.BlockSize)
        {
            throw new InvalidOperationException($"ROM of {length} bytes does not fit rom_length (255 blocks of 512)");
        }
        byte[] bytes = new byte[length];
        image.CopyTo(bytes);
        byte blocks = (byte)(length / RomLayout.BlockSize);

        // rom_entry: a BIOS far-calls offset 3 in real mode; it jumps to a routine that just returns.
        RomWriter.WriteHeader(bytes, new RomHeader(blocks, RomJumps.EntryJump(RealModeInitOffset), ApiVersionMinor, RomLayout.ApiVersionMajor, 0,
            VirtualTop, (ushort)licenseOffset, PciOffset, PnpOffset));
        bytes[RealModeInitOffset] = 0xCB; // retf: nothing to initialise, all registers intact
        RomJumps.WriteSlotJump(bytes, RomLayout.VmiInitOffset, vmiInit);
        RomJumps.WriteSlotJump(bytes, RomLayout.GetRelocOffset, getReloc);

        RomWriter.WritePci(bytes, PciOffset, new PciDataStructure(PciVendor, PciDevice, 0, RomLayout.PciDataSize, 0,
            0x05, 0x80, 0x00, blocks, 0, 3, 0, 0x80));
        RomWriter.WritePnp(bytes, PnpOffset, new PnpHeader(1, PnpLengthUnits, 0, 0, 0,
            (ushort)manufacturerOffset, (ushort)productOffset));
        RomWriter.FixChecksum(bytes);
        return new VmiRom(Profile, bytes, types, stubs, vmiInit, getReloc, tableOffset);
    }

    /// <summary>
    /// get_reloc(EAX = call number) → EDX:EAX = {eip, type}; numbers beyond the table answer NONE.
    /// Finds the ROM's run-time base with call/pop, so the image works wherever it is mapped.
    /// Clobbers only EAX, ECX, EDX and flags, as the ABI allows. Both displacements are at least
    /// 0x100, so their encodings (imm32/disp32) do not change between the two assembly passes.
    /// </summary>
    private static byte[] AssembleGetReloc(int at, int hereOffset, int tableOffset, out int hereRip)
    {
        var a = new Assembler(32);
        Label here = a.CreateLabel(), none = a.CreateLabel(), done = a.CreateLabel();
        a.cmp(eax, VmiCalls.Count);
        a.jae(none);
        a.call(here);
        a.Label(ref here);
        a.pop(ecx);
        a.sub(ecx, hereOffset);                       // ECX = ROM base (linear, at run time)
        a.lea(edx, __[ecx + eax * 8]);
        a.mov(eax, __dword_ptr[edx + tableOffset]);   // stub offset from the ROM start, 0 if none
        a.movzx(edx, __byte_ptr[edx + tableOffset + 4]); // relocation type
        a.test(eax, eax);
        a.jz(done);
        a.add(eax, ecx);
        a.Label(ref done);
        a.ret();
        a.Label(ref none);
        a.xor(eax, eax);
        a.xor(edx, edx);
        a.ret();
        var writer = new ByteWriter();
        AssemblerResult result = a.Assemble(writer, (ulong)at, BlockEncoderOptions.ReturnNewInstructionOffsets);
        hereRip = (int)result.GetLabelRIP(here);
        return writer.ToArray();
    }

    private static byte[] Assemble(int at, Action<Assembler> emit)
    {
        var a = new Assembler(32);
        emit(a);
        var writer = new ByteWriter();
        a.Assemble(writer, (ulong)at);
        return writer.ToArray();
    }

    private static int AppendString(List<byte> image, string s)
    {
        int offset = image.Count;
        foreach (char c in s)
        {
            if (c is < ' ' or > '~') throw new ArgumentException($"ROM strings must be printable ASCII: '{s}'");
            image.Add((byte)c);
        }
        image.Add(0);
        return offset;
    }

    private static void Append(List<byte> image, byte[] bytes) => image.AddRange(bytes);

    private static void Align(List<byte> image, int alignment)
    {
        while (image.Count % alignment != 0) image.Add(0xCC);
    }

    private static int Align16(int x) => (x + 15) & ~15;

    private static void WriteU32(List<byte> image, int offset, uint v)
    {
        for (int i = 0; i < 4; i++) image[offset + i] = (byte)(v >> (8 * i));
    }

    private sealed class ByteWriter : CodeWriter
    {
        private readonly List<byte> bytes = [];

        public override void WriteByte(byte value) => bytes.Add(value);

        public byte[] ToArray() => [.. bytes];
    }
}
