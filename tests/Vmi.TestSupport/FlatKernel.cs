using System.Buffers.Binary;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.TestSupport;

/// <summary>
/// Tiny multiboot kernels assembled in the test, for guests the C test kernel cannot stage (a
/// partial line then a loop, a fault loop, odd port writes). The multiboot header uses the
/// a.out-kludge address fields, so the file is a flat image loaded at 1 MiB that QEMU and vmi
/// both boot; the code starts right after the header.
/// </summary>
public static class FlatKernel
{
    public const uint LoadAddress = 0x0010_0000;
    private const int HeaderSize = 32;
    private const uint Magic = 0x1BADB002;
    private const uint AddressFieldsFlag = 1u << 16;

    /// <summary>Where the code emitted by a <see cref="Build"/> callback starts.</summary>
    public const uint Entry = LoadAddress + HeaderSize;

    public static byte[] Build(Action<Assembler> emit)
    {
        byte[] code = Assemble(Entry, emit);
        var image = new byte[HeaderSize + code.Length];
        Span<uint> header = [Magic, AddressFieldsFlag, unchecked(0u - Magic - AddressFieldsFlag), LoadAddress, LoadAddress, 0, 0, Entry];
        for (int i = 0; i < header.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(i * 4), header[i]);
        }
        code.CopyTo(image, HeaderSize);
        return image;
    }

    /// <summary>32-bit code for address <paramref name="at"/>.</summary>
    public static byte[] Assemble(uint at, Action<Assembler> emit)
    {
        var a = new Assembler(32);
        emit(a);
        var writer = new Writer();
        a.Assemble(writer, at);
        return writer.ToArray();
    }

    /// <summary>Writes the image to a new file in <paramref name="directory"/> and returns its path.</summary>
    public static string Write(string directory, string name, Action<Assembler> emit)
    {
        string path = Path.Combine(directory, name);
        File.WriteAllBytes(path, Build(emit));
        return path;
    }

    /// <summary>Emits code that writes <paramref name="text"/> to COM1 byte by byte (clobbers AL and DX).</summary>
    public static void Print(Assembler a, string text)
    {
        a.mov(dx, (ushort)0x3F8);
        foreach (char c in text)
        {
            a.mov(al, (byte)c);
            a.@out(dx, al);
        }
    }

    /// <summary>Emits code that writes <paramref name="value"/> to the debug-exit port 0xF4 (exit status (v &lt;&lt; 1) | 1).</summary>
    public static void DebugExit(Assembler a, byte value)
    {
        a.mov(al, value);
        a.@out(0xF4, al);
    }

    /// <summary>
    /// Emits code that points the #UD gate at a UD2 and jumps to it: every delivery lands on the same
    /// faulting instruction, so the CPU loops forever without retiring anything (no double fault:
    /// each delivery succeeds). The IDT, its IDTR image and the UD2 (at <see cref="FaultLoopUd2"/>)
    /// are written to RAM at <paramref name="idt"/>, so the code works wherever it is assembled.
    /// ESP starts at 0, so the 12-byte frames go below 4 GiB, outside RAM, where stores are
    /// dropped: the frames take hundreds of millions of deliveries to come back down into RAM
    /// and overwrite the tables (as frames pushed from a stack in RAM would within ~100,000).
    /// </summary>
    public static void FaultLoop(Assembler a, uint idt = FaultLoopIdt)
    {
        const int UdGate = 6 * 8;
        uint ud2 = idt + 0x200;
        a.xor(esp, esp);
        a.mov(__word_ptr[ud2], 0x0B0F);
        a.mov(__word_ptr[idt + UdGate], (ushort)ud2);
        a.mov(__word_ptr[idt + UdGate + 2], 0x08);
        a.mov(__word_ptr[idt + UdGate + 4], 0x8E00); // present, DPL 0, 32-bit interrupt gate
        a.mov(__word_ptr[idt + UdGate + 6], (ushort)(ud2 >> 16));
        a.mov(__word_ptr[idt + 0x100], 0x7FF);
        a.mov(__dword_ptr[idt + 0x102], idt);
        a.lidt(__[idt + 0x100]);
        a.mov(eax, ud2);
        a.jmp(eax);
    }

    public const uint FaultLoopIdt = 0x0020_0000;

    /// <summary>Where <see cref="FaultLoop"/> puts its UD2.</summary>
    public const uint FaultLoopUd2 = FaultLoopIdt + 0x200;

    private sealed class Writer : CodeWriter
    {
        private readonly List<byte> bytes = [];

        public override void WriteByte(byte value) => bytes.Add(value);

        public byte[] ToArray() => [.. bytes];
    }
}
