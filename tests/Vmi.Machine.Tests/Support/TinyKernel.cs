using System.Buffers.Binary;
using Iced.Intel;
using Vmi.Machine.Tests.Boot;

namespace Vmi.Machine.Tests.Support;

/// <summary>
/// Hand-assembled multiboot kernels for machine tests: code at 1 MiB, a data page at 1 MiB + 8 KiB
/// holding an IDT whose gates point at labels of the program, and a stack above it. The boot GDT's
/// code selector 0x08 is used for the gates.
/// </summary>
internal static class TinyKernel
{
    public const uint Code = 0x0010_0000;
    public const uint Data = 0x0010_2000;
    public const uint IdtrImage = Data + 0x10;
    public const uint Idt = Data + 0x100;
    public const uint StackTop = Data + 0x800;
    private const int DataSize = 0x800;

    /// <summary>Assembles <paramref name="a"/> at <see cref="Code"/> and builds the ELF, with an interrupt gate per entry of <paramref name="gates"/>.</summary>
    public static byte[] Build(Assembler a, params (int Vector, Label Handler)[] gates)
    {
        var writer = new Writer();
        AssemblerResult result = a.Assemble(writer, Code, BlockEncoderOptions.ReturnNewInstructionOffsets);
        var data = new byte[DataSize];
        int maxVector = gates.Length == 0 ? 0 : gates.Max(g => g.Vector);
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(0x10), (ushort)(maxVector * 8 + 7));
        BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(0x12), Idt);
        foreach ((int vector, Label handler) in gates)
        {
            uint address = (uint)result.GetLabelRIP(handler);
            int gate = (int)(Idt - Data) + vector * 8;
            BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(gate), (ushort)address);
            BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(gate + 2), 0x08);
            data[gate + 5] = 0x8E; // present, DPL 0, 32-bit interrupt gate
            BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(gate + 6), (ushort)(address >> 16));
        }
        var elf = new TestElfBuilder { Entry = Code };
        byte[] code = writer.ToArray();
        elf.Segments.Add(new TestElfBuilder.Segment(Code, code, (uint)code.Length, Code));
        elf.Segments.Add(new TestElfBuilder.Segment(Data, data, DataSize, Data, Flags: 6));
        return elf.Build();
    }

    private sealed class Writer : CodeWriter
    {
        private readonly List<byte> bytes = [];

        public override void WriteByte(byte value) => bytes.Add(value);

        public byte[] ToArray() => [.. bytes];
    }
}
