using System.Runtime.CompilerServices;
using Vmi.Cpu.Decode;

namespace Vmi.Cpu;

/// <summary>
/// ROL, ROR, RCL, RCR, SHL/SAL, SHR, SAR, SHLD, SHRD. Flags are computed eagerly. The count is
/// masked to 5 bits (i386+); a masked count of 0 changes nothing, flags included. Where the
/// manuals leave a flag undefined we produce what current Intel/AMD parts produce for the common
/// cases (OF from the count-1 formula, AF cleared).
/// </summary>
public sealed unsafe partial class Cpu
{
    internal uint SzpFlags(uint r, int size)
    {
        uint f = 0;
        if ((r & SizeMask(size)) == 0) f |= EFlags.ZF;
        if (((r >> (size * 8 - 1)) & 1) != 0) f |= EFlags.SF;
        if (ParityTable[r & 0xFF] != 0) f |= EFlags.PF;
        return f;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int ShiftR(ref Uop u)
    {
        int count = (int)(((u.Flags & UopFlags.CountInCl) != 0 ? R(Reg.Ecx) : u.Imm) & 0x1F);
        if (count == 0) return Status.Next;
        SetReg(u.Size, u.M, Shift(u.Sub, u.Size, GetReg(u.Size, u.M), count));
        return Status.Next;
    }

    internal int ShiftM(ref Uop u)
    {
        int count = (int)(((u.Flags & UopFlags.CountInCl) != 0 ? R(Reg.Ecx) : u.Imm) & 0x1F);
        uint off = Ea(ref u);
        if (count == 0)
        {
            // Still a memory access on hardware: faults are raised even for a zero count.
            return ProbeWriteSeg(u.Seg, off, u.Size) ? Status.Next : Status.Fault;
        }
        if (!ProbeWriteSeg(u.Seg, off, u.Size) || !ReadSeg(u.Seg, off, u.Size, out uint a)) return Status.Fault;
        SaveFlags(out var saved);
        uint r = Shift(u.Sub, u.Size, a, count);
        if (!WriteSeg(u.Seg, off, u.Size, r))
        {
            RestoreFlags(in saved);
            return Status.Fault;
        }
        return Status.Next;
    }

    /// <summary>Performs shift/rotate <paramref name="kind"/> (the ModRM /r value) with a non-zero masked count.</summary>
    internal uint Shift(int kind, int size, uint a, int count)
    {
        int bits = size * 8;
        uint mask = SizeMask(size);
        uint msb = 1u << (bits - 1);
        uint r;
        bool cf, of;
        switch (kind)
        {
            case 0: // ROL
                {
                    int c = count & (bits - 1);
                    r = c == 0 ? a : ((a << c) | (a >> (bits - c))) & mask;
                    cf = (r & 1) != 0;
                    of = ((r & msb) != 0) ^ cf;
                    SetFlagsEager((ArithFlags & ~(EFlags.CF | EFlags.OF)) | (cf ? EFlags.CF : 0) | (of ? EFlags.OF : 0));
                    return r;
                }
            case 1: // ROR
                {
                    int c = count & (bits - 1);
                    r = c == 0 ? a : ((a >> c) | (a << (bits - c))) & mask;
                    cf = (r & msb) != 0;
                    of = cf ^ ((r & (msb >> 1)) != 0);
                    SetFlagsEager((ArithFlags & ~(EFlags.CF | EFlags.OF)) | (cf ? EFlags.CF : 0) | (of ? EFlags.OF : 0));
                    return r;
                }
            case 2: // RCL: rotate through CF, a (bits+1)-bit rotation
                {
                    int c = size == 4 ? count : count % (bits + 1);
                    if (c == 0) return a;
                    ulong wide = ((ulong)(CF ? 1u : 0) << bits) | a;
                    ulong span = (1UL << (bits + 1)) - 1;
                    wide = ((wide << c) | (wide >> (bits + 1 - c))) & span;
                    r = (uint)wide & mask;
                    cf = ((wide >> bits) & 1) != 0;
                    of = ((r & msb) != 0) ^ cf;
                    SetFlagsEager((ArithFlags & ~(EFlags.CF | EFlags.OF)) | (cf ? EFlags.CF : 0) | (of ? EFlags.OF : 0));
                    return r;
                }
            case 3: // RCR
                {
                    int c = size == 4 ? count : count % (bits + 1);
                    if (c == 0) return a;
                    bool cin = CF;
                    ulong wide = ((ulong)(cin ? 1u : 0) << bits) | a;
                    ulong span = (1UL << (bits + 1)) - 1;
                    wide = ((wide >> c) | (wide << (bits + 1 - c))) & span;
                    r = (uint)wide & mask;
                    cf = ((wide >> bits) & 1) != 0;
                    of = ((r & msb) != 0) ^ ((r & (msb >> 1)) != 0);
                    SetFlagsEager((ArithFlags & ~(EFlags.CF | EFlags.OF)) | (cf ? EFlags.CF : 0) | (of ? EFlags.OF : 0));
                    return r;
                }
            case 4: // SHL
            case 6: // SAL
                r = (uint)((ulong)a << count) & mask;
                SetFlagsArith(FlagOp.Shl, size, a, (uint)count, r);
                return r;
            case 5: // SHR
                r = count >= 32 ? 0 : (a >> count) & mask;
                SetFlagsArith(FlagOp.Shr, size, a, (uint)count, r);
                return r;
            default: // SAR
                r = (uint)((int)SignExtend(a, size) >> Math.Min(count, 31)) & mask;
                SetFlagsArith(FlagOp.Sar, size, a, (uint)count, r);
                return r;
        }
    }

    internal int ShldR(ref Uop u) => DoubleShiftR(ref u, left: true);

    internal int ShrdR(ref Uop u) => DoubleShiftR(ref u, left: false);

    internal int ShldM(ref Uop u) => DoubleShiftM(ref u, left: true);

    internal int ShrdM(ref Uop u) => DoubleShiftM(ref u, left: false);

    private int DoubleShiftR(ref Uop u, bool left)
    {
        int count = (int)(((u.Flags & UopFlags.CountInCl) != 0 ? R(Reg.Ecx) : u.Imm) & 0x1F);
        if (count == 0) return Status.Next;
        SetReg(u.Size, u.M, DoubleShift(left, u.Size, GetReg(u.Size, u.M), GetReg(u.Size, u.R), count));
        return Status.Next;
    }

    private int DoubleShiftM(ref Uop u, bool left)
    {
        int count = (int)(((u.Flags & UopFlags.CountInCl) != 0 ? R(Reg.Ecx) : u.Imm) & 0x1F);
        uint off = Ea(ref u);
        if (!ProbeWriteSeg(u.Seg, off, u.Size) || !ReadSeg(u.Seg, off, u.Size, out uint a)) return Status.Fault;
        if (count == 0) return Status.Next;
        SaveFlags(out var saved);
        uint r = DoubleShift(left, u.Size, a, GetReg(u.Size, u.R), count);
        if (!WriteSeg(u.Seg, off, u.Size, r))
        {
            RestoreFlags(in saved);
            return Status.Fault;
        }
        return Status.Next;
    }

    /// <summary>SHLD/SHRD on dest:src; 16-bit counts above 16 follow Intel's 32-bit concatenation (undefined per the manual).</summary>
    private uint DoubleShift(bool left, int size, uint dest, uint src, int count)
    {
        int bits = size * 8;
        uint mask = SizeMask(size);
        uint msb = 1u << (bits - 1);
        uint r;
        bool cf;
        if (size == 4)
        {
            if (left)
            {
                r = (dest << count) | (src >> (32 - count));
                cf = ((dest >> (32 - count)) & 1) != 0;
            }
            else
            {
                r = (dest >> count) | (src << (32 - count));
                cf = ((dest >> (count - 1)) & 1) != 0;
            }
        }
        else
        {
            // 16-bit: shift the 48-bit pattern dest:src:dest, as Intel parts do.
            ulong pattern = left
                ? ((ulong)dest << 32) | ((ulong)src << 16) | dest
                : ((ulong)dest << 32) | ((ulong)src << 16) | dest;
            if (left)
            {
                ulong shifted = pattern << count;
                r = (uint)(shifted >> 32) & mask;
                cf = ((shifted >> 48) & 1) != 0;
            }
            else
            {
                ulong p2 = ((ulong)dest) | ((ulong)src << 16) | ((ulong)dest << 32);
                ulong shifted = p2 >> count;
                r = (uint)shifted & mask;
                cf = ((p2 >> (count - 1)) & 1) != 0;
            }
        }
        bool of = ((r ^ dest) & msb) != 0;
        SetFlagsEager(SzpFlags(r, size) | (cf ? EFlags.CF : 0) | (of ? EFlags.OF : 0));
        return r;
    }
}
