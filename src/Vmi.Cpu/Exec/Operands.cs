using System.Runtime.CompilerServices;
using Vmi.Cpu.Decode;

namespace Vmi.Cpu;

/// <summary>Register and memory operand access shared by all instruction handlers.</summary>
public sealed unsafe partial class Cpu
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref uint R(int index) => ref Unsafe.Add(ref Unsafe.As<RegisterArray, uint>(ref regs), index);

    /// <summary>Reads a register operand of the given size (8-bit numbers 4..7 are AH, CH, DH, BH).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal uint GetReg(int size, int r)
    {
        if (size == 4) return R(r);
        if (size == 2) return R(r) & 0xFFFF;
        return r < 4 ? R(r) & 0xFF : (R(r - 4) >> 8) & 0xFF;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void SetReg(int size, int r, uint v)
    {
        if (size == 4)
        {
            R(r) = v;
        }
        else if (size == 2)
        {
            ref uint x = ref R(r);
            x = (x & 0xFFFF_0000) | (v & 0xFFFF);
        }
        else if (r < 4)
        {
            ref uint x = ref R(r);
            x = (x & 0xFFFF_FF00) | (v & 0xFF);
        }
        else
        {
            ref uint x = ref R(r - 4);
            x = (x & 0xFFFF_00FF) | ((v & 0xFF) << 8);
        }
    }

    /// <summary>Effective address: base + (index &lt;&lt; scale) + displacement; slot 8 reads as zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal uint Ea(ref Uop u)
    {
        uint ea = R(u.Base) + (R(u.Index) << u.Scale) + u.Disp;
        return (u.Flags & UopFlags.Addr16) == 0 ? ea : ea & 0xFFFF;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool ReadMem(ref Uop u, int size, out uint value) => ReadSeg(u.Seg, Ea(ref u), size, out value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool WriteMem(ref Uop u, int size, uint value) => WriteSeg(u.Seg, Ea(ref u), size, value);

    /// <summary>Reads the r/m operand of a handler that serves both register and memory forms.</summary>
    internal bool ReadRm(ref Uop u, int size, out uint value)
    {
        if (u.IsMem)
        {
            return ReadMem(ref u, size, out value);
        }
        value = GetReg(size, u.M);
        return true;
    }

    internal bool WriteRm(ref Uop u, int size, uint value)
    {
        if (u.IsMem)
        {
            return WriteMem(ref u, size, value);
        }
        SetReg(size, u.M, value);
        return true;
    }

    /// <summary>Reads a read-modify-write memory destination after checking that it is writable.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool ReadRmw(ref Uop u, int size, out uint value)
    {
        uint off = Ea(ref u);
        if (!ProbeWriteSeg(u.Seg, off, size))
        {
            value = 0;
            return false;
        }
        return ReadSeg(u.Seg, off, size, out value);
    }

    internal static uint SignExtend(uint v, int size) => size switch
    {
        1 => (uint)(sbyte)v,
        2 => (uint)(short)v,
        _ => v,
    };
}
