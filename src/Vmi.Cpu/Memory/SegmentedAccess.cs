using System.Runtime.CompilerServices;

namespace Vmi.Cpu;

/// <summary>
/// Segment-relative accesses. A flat segment (base 0, 4 GiB, right type) goes straight to the
/// linear path; anything else gets the protected-mode checks: null selector, limit (expand-up and
/// expand-down), read-only data, execute-only code. Stack-segment violations raise #SS, others #GP.
/// </summary>
public sealed unsafe partial class Cpu
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool ReadSeg(int seg, uint offset, int size, out uint value)
    {
        if (((segFast >> seg) & 1) != 0)
        {
            return ReadLin(offset, size, out value);
        }
        return ReadSegSlow(seg, offset, size, out value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool WriteSeg(int seg, uint offset, int size, uint value)
    {
        if (((segFast >> seg) & 1) != 0)
        {
            return WriteLin(offset, size, value);
        }
        return WriteSegSlow(seg, offset, size, value);
    }

    private bool ReadSegSlow(int seg, uint offset, int size, out uint value)
    {
        value = 0;
        if (!CheckSegment(seg, offset, size, write: false))
        {
            return false;
        }
        return ReadLin(segs[seg].Base + offset, size, out value);
    }

    private bool WriteSegSlow(int seg, uint offset, int size, uint value)
    {
        if (!CheckSegment(seg, offset, size, write: true))
        {
            return false;
        }
        return WriteLin(segs[seg].Base + offset, size, value);
    }

    /// <summary>Checks a read-modify-write destination: segment write rights and page write rights.</summary>
    internal bool ProbeWriteSeg(int seg, uint offset, int size)
    {
        if (((segFast >> seg) & 1) == 0 && !CheckSegment(seg, offset, size, write: true))
        {
            return false;
        }
        uint lin = segs[seg].Base + offset;
        uint e = tlb[lin >> 12];
        if ((e & tlbWriteMask) != 0 && SameFastPage(lin, size))
        {
            return true;
        }
        return ProbeWrite(lin, size, Cpl == 3);
    }

    /// <summary>Linear address of seg:offset after the segment checks (for instructions that need it, e.g. INVLPG uses none).</summary>
    internal bool CheckSegment(int seg, uint offset, int size, bool write)
    {
        ref SegmentCache s = ref segs[seg];
        int vector = seg == SegReg.Ss ? Vectors.SS : Vectors.GP;
        if (!ProtectedMode)
        {
            if (offset > s.Limit || s.Limit - offset < (uint)size - 1)
            {
                Fault(vector, 0, ProtectedMode);
                return false;
            }
            return true;
        }
        if (!s.Usable)
        {
            Fault(Vectors.GP, 0, true);
            return false;
        }
        if (write && (s.IsCode || !s.ReadWriteBit))
        {
            Fault(vector, 0, true);
            return false;
        }
        if (!write && s.IsCode && !s.ReadWriteBit)
        {
            Fault(vector, 0, true);
            return false;
        }
        uint last = offset + (uint)size - 1;
        if (s.IsExpandDown)
        {
            uint upper = s.Big ? 0xFFFF_FFFFu : 0xFFFFu;
            if (offset <= s.Limit || last > upper || last < offset)
            {
                Fault(vector, 0, true);
                return false;
            }
        }
        else if (offset > s.Limit || s.Limit - offset < (uint)size - 1)
        {
            Fault(vector, 0, true);
            return false;
        }
        return true;
    }
}
