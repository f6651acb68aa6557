namespace Vmi.Cpu.Fpu;

/// <summary>Which FNSTENV/FLDENV/FNSAVE/FRSTOR image: operand size and real or protected mode (SDM Vol. 1 Figures 8-9 to 8-12).</summary>
[Flags]
public enum X87Layout
{
    Real16 = 0,
    Bits32 = 1,
    Protected = 2,
    Real32 = Bits32,
    Protected16 = Protected,
    Protected32 = Protected | Bits32,
}

public sealed partial class X87Fpu
{
    public static int EnvironmentSize(X87Layout layout) => (layout & X87Layout.Bits32) != 0 ? 28 : 14;

    public static int SaveSize(X87Layout layout) => EnvironmentSize(layout) + 80;

    /// <summary>FNSTENV: writes the environment; afterwards every exception is masked (the SDM's FNSTENV operation).</summary>
    public void StoreEnvironment(Span<byte> image, X87Layout layout)
    {
        WriteEnvironment(image, layout);
        Control |= FpuExceptions.All;
        UpdateErrorSummary();
    }

    public void LoadEnvironment(ReadOnlySpan<byte> image, X87Layout layout)
    {
        bool wide = (layout & X87Layout.Bits32) != 0;
        int stride = wide ? 4 : 2;
        Control = (ushort)((BitConverter.ToUInt16(image) & FpuControl.Defined) | 0x40);
        Status = BitConverter.ToUInt16(image[stride..]);
        LoadTagWord(BitConverter.ToUInt16(image[(2 * stride)..]));
        ReadPointers(image[(3 * stride)..], layout);
        UpdateErrorSummary();
    }

    /// <summary>FNSAVE: environment, then ST(0)..ST(7); then the FPU is initialized as by FNINIT.</summary>
    public void Save(Span<byte> image, X87Layout layout)
    {
        WriteEnvironment(image, layout);
        int offset = EnvironmentSize(layout);
        for (int i = 0; i < 8; i++)
        {
            St(i).WriteTo(image[(offset + 10 * i)..]);
        }
        Initialize();
    }

    public void Restore(ReadOnlySpan<byte> image, X87Layout layout)
    {
        LoadEnvironment(image, layout);
        int offset = EnvironmentSize(layout);
        for (int i = 0; i < 8; i++)
        {
            St(i) = Float80.ReadFrom(image[(offset + 10 * i)..]);
        }
    }

    private void WriteEnvironment(Span<byte> image, X87Layout layout)
    {
        bool wide = (layout & X87Layout.Bits32) != 0;
        int stride = wide ? 4 : 2;
        image[..EnvironmentSize(layout)].Clear();
        WriteField(image, 0, Control, wide);
        WriteField(image, stride, Status, wide);
        WriteField(image, 2 * stride, TagWord, wide);
        WritePointers(image[(3 * stride)..], layout);
    }

    /// <summary>The reserved upper half of each 32-bit field reads as ones, as the host writes it.</summary>
    private static void WriteField(Span<byte> image, int offset, ushort value, bool wide)
    {
        BitConverter.TryWriteBytes(image[offset..], value);
        if (wide) BitConverter.TryWriteBytes(image[(offset + 2)..], (ushort)0xFFFF);
    }

    private void WritePointers(Span<byte> p, X87Layout layout)
    {
        bool wide = (layout & X87Layout.Bits32) != 0;
        if ((layout & X87Layout.Protected) != 0)
        {
            if (wide)
            {
                BitConverter.TryWriteBytes(p, InstructionPointer);
                BitConverter.TryWriteBytes(p[4..], (uint)InstructionSelector | ((uint)(Opcode & 0x7FF) << 16));
                BitConverter.TryWriteBytes(p[8..], OperandPointer);
                BitConverter.TryWriteBytes(p[12..], (uint)OperandSelector | 0xFFFF_0000);
            }
            else
            {
                BitConverter.TryWriteBytes(p, (ushort)InstructionPointer);
                BitConverter.TryWriteBytes(p[2..], InstructionSelector);
                BitConverter.TryWriteBytes(p[4..], (ushort)OperandPointer);
                BitConverter.TryWriteBytes(p[6..], OperandSelector);
            }
            return;
        }
        // Real mode: 20-bit (32-bit form: 32-bit) linear pointers, split around the opcode.
        uint ip = InstructionPointer + ((uint)InstructionSelector << 4);
        uint dp = OperandPointer + ((uint)OperandSelector << 4);
        if (wide)
        {
            BitConverter.TryWriteBytes(p, (ip & 0xFFFF) | 0xFFFF_0000);
            BitConverter.TryWriteBytes(p[4..], (uint)(Opcode & 0x7FF) | ((ip >> 16) << 12));
            BitConverter.TryWriteBytes(p[8..], (dp & 0xFFFF) | 0xFFFF_0000);
            BitConverter.TryWriteBytes(p[12..], (dp >> 16) << 12);
        }
        else
        {
            BitConverter.TryWriteBytes(p, (ushort)ip);
            BitConverter.TryWriteBytes(p[2..], (ushort)((uint)(Opcode & 0x7FF) | (((ip >> 16) & 0xF) << 12)));
            BitConverter.TryWriteBytes(p[4..], (ushort)dp);
            BitConverter.TryWriteBytes(p[6..], (ushort)(((dp >> 16) & 0xF) << 12));
        }
    }

    private void ReadPointers(ReadOnlySpan<byte> p, X87Layout layout)
    {
        bool wide = (layout & X87Layout.Bits32) != 0;
        if ((layout & X87Layout.Protected) != 0)
        {
            if (wide)
            {
                InstructionPointer = BitConverter.ToUInt32(p);
                uint cs = BitConverter.ToUInt32(p[4..]);
                InstructionSelector = (ushort)cs;
                Opcode = (ushort)((cs >> 16) & 0x7FF);
                OperandPointer = BitConverter.ToUInt32(p[8..]);
                OperandSelector = BitConverter.ToUInt16(p[12..]);
            }
            else
            {
                InstructionPointer = BitConverter.ToUInt16(p);
                InstructionSelector = BitConverter.ToUInt16(p[2..]);
                OperandPointer = BitConverter.ToUInt16(p[4..]);
                OperandSelector = BitConverter.ToUInt16(p[6..]);
            }
            return;
        }
        InstructionSelector = OperandSelector = 0;
        if (wide)
        {
            uint hi = BitConverter.ToUInt32(p[4..]);
            InstructionPointer = BitConverter.ToUInt16(p) | ((hi >> 12) << 16);
            Opcode = (ushort)(hi & 0x7FF);
            OperandPointer = BitConverter.ToUInt16(p[8..]) | ((BitConverter.ToUInt32(p[12..]) >> 12) << 16);
        }
        else
        {
            ushort hi = BitConverter.ToUInt16(p[2..]);
            InstructionPointer = BitConverter.ToUInt16(p) | ((uint)(hi >> 12) << 16);
            Opcode = (ushort)(hi & 0x7FF);
            OperandPointer = BitConverter.ToUInt16(p[4..]) | ((uint)(BitConverter.ToUInt16(p[6..]) >> 12) << 16);
        }
    }
}
