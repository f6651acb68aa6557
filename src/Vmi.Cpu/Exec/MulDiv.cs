using Vmi.Cpu.Decode;

namespace Vmi.Cpu;

/// <summary>
/// MUL, IMUL (one, two and three operands), DIV, IDIV. Multiplies set CF = OF when the result
/// does not fit the destination; SF/ZF/PF follow the low half (what current parts do; the manual
/// leaves them undefined). Divides raise #DE for a zero divisor or a quotient that overflows,
/// before changing anything.
/// </summary>
public sealed unsafe partial class Cpu
{
    internal int MulDivR(ref Uop u) => MulDiv(u.Sub, u.Size, GetReg(u.Size, u.M));

    internal int MulDivM(ref Uop u)
    {
        if (!ReadMem(ref u, u.Size, out uint v)) return Status.Fault;
        return MulDiv(u.Sub, u.Size, v);
    }

    private int MulDiv(int kind, int size, uint src)
    {
        switch (kind)
        {
            case 4: return Mul(size, src);
            case 5: return ImulOne(size, src);
            case 6: return Div(size, src);
            default: return Idiv(size, src);
        }
    }

    private int Mul(int size, uint src)
    {
        bool overflow;
        uint low;
        switch (size)
        {
            case 1:
                {
                    uint p = (R(Reg.Eax) & 0xFF) * src;
                    SetReg(2, Reg.Eax, p);
                    overflow = (p & 0xFF00) != 0;
                    low = p & 0xFF;
                    break;
                }
            case 2:
                {
                    uint p = (R(Reg.Eax) & 0xFFFF) * src;
                    SetReg(2, Reg.Eax, p);
                    SetReg(2, Reg.Edx, p >> 16);
                    overflow = (p >> 16) != 0;
                    low = p & 0xFFFF;
                    break;
                }
            default:
                {
                    ulong p = (ulong)R(Reg.Eax) * src;
                    R(Reg.Eax) = (uint)p;
                    R(Reg.Edx) = (uint)(p >> 32);
                    overflow = (p >> 32) != 0;
                    low = (uint)p;
                    break;
                }
        }
        SetFlagsEager(SzpFlags(low, size) | (overflow ? EFlags.CF | EFlags.OF : 0));
        return Status.Next;
    }

    private int ImulOne(int size, uint src)
    {
        bool overflow;
        uint low;
        switch (size)
        {
            case 1:
                {
                    int p = (sbyte)R(Reg.Eax) * (sbyte)src;
                    SetReg(2, Reg.Eax, (uint)p);
                    overflow = p != (sbyte)p;
                    low = (uint)p & 0xFF;
                    break;
                }
            case 2:
                {
                    int p = (short)R(Reg.Eax) * (short)src;
                    SetReg(2, Reg.Eax, (uint)p);
                    SetReg(2, Reg.Edx, (uint)p >> 16);
                    overflow = p != (short)p;
                    low = (uint)p & 0xFFFF;
                    break;
                }
            default:
                {
                    long p = (long)(int)R(Reg.Eax) * (int)src;
                    R(Reg.Eax) = (uint)p;
                    R(Reg.Edx) = (uint)(p >> 32);
                    overflow = p != (int)p;
                    low = (uint)p;
                    break;
                }
        }
        SetFlagsEager(SzpFlags(low, size) | (overflow ? EFlags.CF | EFlags.OF : 0));
        return Status.Next;
    }

    private uint ImulTruncating(int size, uint a, uint b)
    {
        long p = (long)(int)SignExtend(a, size) * (int)SignExtend(b, size);
        uint r = (uint)p & SizeMask(size);
        bool overflow = p != (long)(int)SignExtend(r, size);
        SetFlagsEager(SzpFlags(r, size) | (overflow ? EFlags.CF | EFlags.OF : 0));
        return r;
    }

    internal int Imul2RR(ref Uop u)
    {
        SetReg(u.Size, u.R, ImulTruncating(u.Size, GetReg(u.Size, u.R), GetReg(u.Size, u.M)));
        return Status.Next;
    }

    internal int Imul2RM(ref Uop u)
    {
        if (!ReadMem(ref u, u.Size, out uint v)) return Status.Fault;
        SetReg(u.Size, u.R, ImulTruncating(u.Size, GetReg(u.Size, u.R), v));
        return Status.Next;
    }

    internal int Imul3RR(ref Uop u)
    {
        SetReg(u.Size, u.R, ImulTruncating(u.Size, GetReg(u.Size, u.M), u.Imm));
        return Status.Next;
    }

    internal int Imul3RM(ref Uop u)
    {
        if (!ReadMem(ref u, u.Size, out uint v)) return Status.Fault;
        SetReg(u.Size, u.R, ImulTruncating(u.Size, v, u.Imm));
        return Status.Next;
    }

    private int Div(int size, uint src)
    {
        if (src == 0) return Fault(Vectors.DE);
        switch (size)
        {
            case 1:
                {
                    uint n = R(Reg.Eax) & 0xFFFF;
                    uint q = n / src;
                    if (q > 0xFF) return Fault(Vectors.DE);
                    SetReg(2, Reg.Eax, ((n % src) << 8) | q);
                    break;
                }
            case 2:
                {
                    uint n = ((R(Reg.Edx) & 0xFFFF) << 16) | (R(Reg.Eax) & 0xFFFF);
                    uint q = n / src;
                    if (q > 0xFFFF) return Fault(Vectors.DE);
                    SetReg(2, Reg.Eax, q);
                    SetReg(2, Reg.Edx, n % src);
                    break;
                }
            default:
                {
                    ulong n = ((ulong)R(Reg.Edx) << 32) | R(Reg.Eax);
                    ulong q = n / src;
                    if (q > 0xFFFF_FFFF) return Fault(Vectors.DE);
                    R(Reg.Eax) = (uint)q;
                    R(Reg.Edx) = (uint)(n % src);
                    break;
                }
        }
        return Status.Next;
    }

    private int Idiv(int size, uint src)
    {
        if (src == 0) return Fault(Vectors.DE);
        switch (size)
        {
            case 1:
                {
                    int n = (short)R(Reg.Eax);
                    int d = (sbyte)src;
                    int q = n / d;
                    if (q != (sbyte)q) return Fault(Vectors.DE);
                    SetReg(2, Reg.Eax, (((uint)(n % d) & 0xFF) << 8) | ((uint)q & 0xFF));
                    break;
                }
            case 2:
                {
                    int n = (int)(((R(Reg.Edx) & 0xFFFF) << 16) | (R(Reg.Eax) & 0xFFFF));
                    int d = (short)src;
                    if (n == int.MinValue && d == -1) return Fault(Vectors.DE);
                    int q = n / d;
                    if (q != (short)q) return Fault(Vectors.DE);
                    SetReg(2, Reg.Eax, (uint)q);
                    SetReg(2, Reg.Edx, (uint)(n % d));
                    break;
                }
            default:
                {
                    long n = (long)(((ulong)R(Reg.Edx) << 32) | R(Reg.Eax));
                    long d = (int)src;
                    if (n == long.MinValue && d == -1) return Fault(Vectors.DE);
                    long q = n / d;
                    if (q != (int)q) return Fault(Vectors.DE);
                    R(Reg.Eax) = (uint)q;
                    R(Reg.Edx) = (uint)(n % d);
                    break;
                }
        }
        return Status.Next;
    }
}
