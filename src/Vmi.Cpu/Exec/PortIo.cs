using Vmi.Cpu.Decode;

namespace Vmi.Cpu;

/// <summary>Port I/O: IN, OUT and the protected-mode I/O permission check (IOPL and the TSS bitmap).</summary>
public sealed unsafe partial class Cpu
{
    /// <summary>
    /// The protected-mode I/O permission rule: at CPL &gt; IOPL every byte of the access must have
    /// a clear bit in the TSS I/O bitmap (and the bitmap must lie within the TSS limit).
    /// </summary>
    internal bool CheckIoPermission(ushort port, int size)
    {
        if (!ProtectedMode || Cpl <= Iopl) return true;
        if ((Tr.Type & 0x7) != 1 && (Tr.Type & 0xF) != 0x9 && (Tr.Type & 0xF) != 0xB || Tr.Limit < 0x67)
        {
            Fault(Vectors.GP, 0, true);
            return false;
        }
        if (!ReadSys(Tr.Base + 0x66, 2, out uint mapBase)) return false;
        uint byteOffset = mapBase + (uint)(port >> 3);
        if (byteOffset + 1 > Tr.Limit)
        {
            Fault(Vectors.GP, 0, true);
            return false;
        }
        if (!ReadSys(Tr.Base + byteOffset, 2, out uint bits)) return false;
        uint mask = ((1u << size) - 1) << (port & 7);
        if ((bits & mask) != 0)
        {
            Fault(Vectors.GP, 0, true);
            return false;
        }
        return true;
    }

    internal uint PortIn(ushort port, int size)
    {
        Counters.PortReads++;
        if (ioBreakpoints != 0) CheckIoBreakpoints(port, size);
        return Platform.PortRead(port, size) & SizeMask(size);
    }

    internal void PortOut(ushort port, int size, uint value)
    {
        Counters.PortWrites++;
        if (ioBreakpoints != 0) CheckIoBreakpoints(port, size);
        Platform.PortWrite(port, size, value & SizeMask(size));
    }

    internal int In(ref Uop u)
    {
        ushort port = (u.Flags & UopFlags.HasImm) != 0 ? (ushort)u.Imm : (ushort)R(Reg.Edx);
        SensitiveEvent e = Describe(SensitiveOp.PortIn, ref u) with { Operand = port, Size = u.Size };
        if (!CheckIoPermission(port, u.Size)) return AttachInstruction(e);
        if (Wants(SensitiveOp.PortIn) && Intercept(e) is int st) return st;
        SetReg(u.Size, Reg.Eax, PortIn(port, u.Size));
        return Status.Next;
    }

    internal int Out(ref Uop u)
    {
        ushort port = (u.Flags & UopFlags.HasImm) != 0 ? (ushort)u.Imm : (ushort)R(Reg.Edx);
        SensitiveEvent e = Describe(SensitiveOp.PortOut, ref u) with { Operand = port, Size = u.Size, Value = GetReg(u.Size, Reg.Eax) };
        if (!CheckIoPermission(port, u.Size)) return AttachInstruction(e);
        if (Wants(SensitiveOp.PortOut) && Intercept(e) is int st) return st;
        PortOut(port, u.Size, GetReg(u.Size, Reg.Eax));
        return Status.Next;
    }
}
