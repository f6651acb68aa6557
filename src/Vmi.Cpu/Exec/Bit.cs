using System.Numerics;
using Vmi.Cpu.Decode;

namespace Vmi.Cpu;

/// <summary>BT/BTS/BTR/BTC, BSF/BSR, BSWAP, SETcc, CMOVcc.</summary>
public sealed unsafe partial class Cpu
{
    private uint BitOp(int kind, uint value, int bit, out bool changed)
    {
        bool old = ((value >> bit) & 1) != 0;
        MergeArithFlags(EFlags.CF, old ? EFlags.CF : 0);
        uint r = kind switch
        {
            1 => value | (1u << bit),
            2 => value & ~(1u << bit),
            3 => value ^ (1u << bit),
            _ => value,
        };
        changed = kind != 0;
        return r;
    }

    internal int BtRR(ref Uop u)
    {
        int bit = (int)(GetReg(u.Size, u.R) & (uint)(u.Size * 8 - 1));
        uint r = BitOp(u.Sub, GetReg(u.Size, u.M), bit, out bool changed);
        if (changed) SetReg(u.Size, u.M, r);
        return Status.Next;
    }

    internal int BtRI(ref Uop u)
    {
        int bit = (int)(u.Imm & (uint)(u.Size * 8 - 1));
        uint r = BitOp(u.Sub, GetReg(u.Size, u.M), bit, out bool changed);
        if (changed) SetReg(u.Size, u.M, r);
        return Status.Next;
    }

    internal int BtMI(ref Uop u) => BitMem(ref u, Ea(ref u), (int)(u.Imm & (uint)(u.Size * 8 - 1)));

    /// <summary>Register bit offset with a memory operand: a signed bit string offset (the operand may move).</summary>
    internal int BtMR(ref Uop u)
    {
        int bits = u.Size * 8;
        int offset = (int)SignExtend(GetReg(u.Size, u.R), u.Size);
        uint ea = Ea(ref u) + (uint)((offset >> (bits == 32 ? 5 : 4)) * u.Size);
        if ((u.Flags & UopFlags.Addr16) != 0) ea &= 0xFFFF;
        return BitMem(ref u, ea, offset & (bits - 1));
    }

    private int BitMem(ref Uop u, uint ea, int bit)
    {
        if (u.Sub == 0)
        {
            if (!ReadSeg(u.Seg, ea, u.Size, out uint v)) return Status.Fault;
            BitOp(0, v, bit, out _);
            return Status.Next;
        }
        if (!ProbeWriteSeg(u.Seg, ea, u.Size) || !ReadSeg(u.Seg, ea, u.Size, out uint a)) return Status.Fault;
        SaveFlags(out var saved);
        uint r = BitOp(u.Sub, a, bit, out _);
        if (!WriteSeg(u.Seg, ea, u.Size, r))
        {
            RestoreFlags(in saved);
            return Status.Fault;
        }
        return Status.Next;
    }

    internal int BitScanR(ref Uop u)
    {
        BitScan(ref u, GetReg(u.Size, u.M));
        return Status.Next;
    }

    internal int BitScanM(ref Uop u)
    {
        if (!ReadMem(ref u, u.Size, out uint v)) return Status.Fault;
        BitScan(ref u, v);
        return Status.Next;
    }

    /// <summary>Whether CPUID tells the guest it has LZCNT (leaf 0x80000001 ECX bit 5): the model never changes, so once is enough.</summary>
    private bool ReportsLzcnt => reportsLzcnt ??= ReadReportsLzcnt();

    private bool? reportsLzcnt;

    private bool ReadReportsLzcnt()
    {
        CpuidOf(Model, 0x8000_0001, 0, out _, out _, out uint ecx, out _);
        return (ecx & CpuidBits.Lzcnt) != 0;
    }

    /// <summary>
    /// BSF (Sub 0) and BSR (Sub 1): a zero source sets ZF and leaves the destination unchanged (what
    /// Intel and AMD parts do). F3 0F BD is LZCNT where CPUID reports it, BSR otherwise.
    /// </summary>
    private void BitScan(ref Uop u, uint v)
    {
        if (u.Sub == UopBuilder.LzcntEncoding && ReportsLzcnt)
        {
            LeadingZeroCount(ref u, v);
            return;
        }
        if (v == 0)
        {
            MergeArithFlags(EFlags.ZF, EFlags.ZF);
            return;
        }
        int index = u.Sub == 0 ? BitOperations.TrailingZeroCount(v) : 31 - BitOperations.LeadingZeroCount(v);
        SetReg(u.Size, u.R, (uint)index);
        MergeArithFlags(EFlags.ZF, 0);
    }

    /// <summary>LZCNT: the count of leading zeros in the operand's width (the width itself for 0); CF says the source was 0, ZF that the count is.</summary>
    private void LeadingZeroCount(ref Uop u, uint v)
    {
        int bits = u.Size * 8;
        int count = BitOperations.LeadingZeroCount(v) - (32 - bits);
        SetReg(u.Size, u.R, (uint)count);
        MergeArithFlags(EFlags.CF | EFlags.ZF, (v == 0 ? EFlags.CF : 0) | (count == 0 ? EFlags.ZF : 0));
    }

    internal int Bswap(ref Uop u)
    {
        ref uint r = ref R(u.R);
        // BSWAP with a 16-bit operand is undefined; real parts clear the low word.
        r = u.Size == 4 ? BinaryPrimitivesReverse(r) : r & 0xFFFF_0000;
        return Status.Next;
    }

    private static uint BinaryPrimitivesReverse(uint v) => System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(v);

    internal int SetccR(ref Uop u)
    {
        SetReg(1, u.M, Condition(u.Sub) ? 1u : 0);
        return Status.Next;
    }

    internal int SetccM(ref Uop u) => WriteMem(ref u, 1, Condition(u.Sub) ? 1u : 0) ? Status.Next : Status.Fault;

    internal int CmovRR(ref Uop u)
    {
        if (Condition(u.Sub))
        {
            SetReg(u.Size, u.R, GetReg(u.Size, u.M));
        }
        return Status.Next;
    }

    /// <summary>CMOV always reads its source, so a bad address faults even when the condition is false.</summary>
    internal int CmovRM(ref Uop u)
    {
        if (!ReadMem(ref u, u.Size, out uint v)) return Status.Fault;
        if (Condition(u.Sub))
        {
            SetReg(u.Size, u.R, v);
        }
        return Status.Next;
    }
}
