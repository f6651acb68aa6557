using System.Runtime.CompilerServices;
using Vmi.Cpu.Decode;

namespace Vmi.Cpu;

/// <summary>PUSH, POP, PUSHA, POPA, PUSHF, POPF, ENTER, LEAVE. ESP is committed only after the memory access succeeded.</summary>
public sealed unsafe partial class Cpu
{
    /// <summary>ESP after adding <paramref name="delta"/>, honouring a 16-bit stack segment.</summary>
    internal uint StepEsp(uint esp, int delta) => (esp & ~stackMask) | ((esp + (uint)delta) & stackMask);

    internal bool Push(int size, uint value)
    {
        uint esp = StepEsp(R(Reg.Esp), -size);
        if (!WriteSeg(SegReg.Ss, esp & stackMask, size, value)) return false;
        R(Reg.Esp) = esp;
        return true;
    }

    /// <summary>Reads the value at the top of the stack (offset bytes in) without popping it.</summary>
    internal bool Peek(int size, uint offset, out uint value) =>
        ReadSeg(SegReg.Ss, (R(Reg.Esp) + offset) & stackMask, size, out value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int PushR(ref Uop u) => Push(u.Size, GetReg(u.Size, u.R)) ? Status.Next : Status.Fault;

    internal int PushI(ref Uop u) => Push(u.Size, u.Imm) ? Status.Next : Status.Fault;

    internal int PushM(ref Uop u)
    {
        if (!ReadMem(ref u, u.Size, out uint v)) return Status.Fault;
        return Push(u.Size, v) ? Status.Next : Status.Fault;
    }

    internal int PushSeg(ref Uop u)
    {
        if (Wants(SensitiveOp.MovFromSeg) && Intercept(Describe(SensitiveOp.MovFromSeg, ref u) with { Operand = u.R, Size = u.Size, Register = -1 }) is int st) return st;
        // A 32-bit push of a segment register writes only the low word on modern parts; the i386
        // wrote 32 bits. Writing the zero-extended selector is what gcc-compiled code can observe.
        return Push(u.Size, segs[u.R].Selector) ? Status.Next : Status.Fault;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int PopR(ref Uop u)
    {
        if (!Peek(u.Size, 0, out uint v)) return Status.Fault;
        R(Reg.Esp) = StepEsp(R(Reg.Esp), u.Size);
        SetReg(u.Size, u.R, v);
        return Status.Next;
    }

    /// <summary>POP r/m: ESP is incremented before the destination address is computed (so [esp] means the new top).</summary>
    internal int PopM(ref Uop u)
    {
        if (!Peek(u.Size, 0, out uint v)) return Status.Fault;
        uint oldEsp = R(Reg.Esp);
        R(Reg.Esp) = StepEsp(oldEsp, u.Size);
        if (!WriteMem(ref u, u.Size, v))
        {
            R(Reg.Esp) = oldEsp;
            return Status.Fault;
        }
        return Status.Next;
    }

    internal int PopSeg(ref Uop u)
    {
        if (u.R == SegReg.Cs) return FaultUd();
        if (!Peek(u.Size, 0, out uint v)) return Status.Fault;
        if (Wants(SensitiveOp.MovToSeg) && Intercept(Describe(SensitiveOp.MovToSeg, ref u) with { Operand = u.R, Value = v & 0xFFFF, Size = u.Size }) is int st) return st;
        int r = LoadSegment(u.R, (ushort)v);
        if (r != Status.Next) return r;
        R(Reg.Esp) = StepEsp(R(Reg.Esp), u.Size);
        if (u.R == SegReg.Ss) interruptShadow = debugShadow = true;
        return Status.Next;
    }

    internal int Pusha(ref Uop u)
    {
        int size = u.Size;
        uint esp = R(Reg.Esp);
        uint original = esp;
        for (int r = 0; r < 8; r++)
        {
            uint v = r == Reg.Esp ? original : R(r);
            esp = StepEsp(esp, -size);
            if (!WriteSeg(SegReg.Ss, esp & stackMask, size, v)) return Status.Fault;
        }
        R(Reg.Esp) = esp;
        return Status.Next;
    }

    internal int Popa(ref Uop u)
    {
        int size = u.Size;
        Span<uint> values = stackalloc uint[8];
        uint esp = R(Reg.Esp);
        for (int r = 7; r >= 0; r--)
        {
            if (!ReadSeg(SegReg.Ss, esp & stackMask, size, out values[r])) return Status.Fault;
            esp = StepEsp(esp, size);
        }
        for (int r = 0; r < 8; r++)
        {
            if (r != Reg.Esp) SetReg(size, r, values[r]);
        }
        R(Reg.Esp) = esp;
        return Status.Next;
    }

    internal int Pushf(ref Uop u)
    {
        if (Wants(SensitiveOp.Pushf) && Intercept(Describe(SensitiveOp.Pushf, ref u) with { Size = u.Size }) is int st) return st;
        // The pushed image has VM and RF cleared. PUSHF reveals the real IF at any CPL: that is
        // the non-trapping sensitive behaviour a ring-1 kernel under binary translation trips on.
        uint image = Eflags & ~(EFlags.VM | EFlags.RF);
        return Push(u.Size, u.Size == 2 ? image & 0xFFFF : image) ? Status.Next : Status.Fault;
    }

    internal int Popf(ref Uop u)
    {
        if (!Peek(u.Size, 0, out uint v)) return Status.Fault;
        if (Wants(SensitiveOp.Popf) && Intercept(Describe(SensitiveOp.Popf, ref u) with { Value = v, Size = u.Size }) is int st) return st;
        R(Reg.Esp) = StepEsp(R(Reg.Esp), u.Size);
        WriteFlagsFromPopf(v, u.Size);
        return Status.Next;
    }

    /// <summary>
    /// POPF/IRET-style EFLAGS update: IOPL changes only at CPL 0; IF changes only when CPL &lt;= IOPL
    /// (otherwise silently kept: no fault, the i386 behaviour that makes POPF non-trapping);
    /// VM, RF, VIP and VIF are not changed by POPF.
    /// </summary>
    internal void WriteFlagsFromPopf(uint v, int size)
    {
        uint current = Eflags;
        uint changeable = EFlags.Writable & ~(EFlags.VM | EFlags.RF);
        if (ProtectedMode && Cpl > 0) changeable &= ~EFlags.IoplMask;
        if (ProtectedMode && Cpl > Iopl) changeable &= ~EFlags.IF;
        if (size == 2) changeable &= 0xFFFF;
        // No interrupt shadow here: on real parts only STI and MOV/POP SS delay recognition.
        Eflags = (current & ~changeable) | (v & changeable);
    }

    internal int Enter(ref Uop u)
    {
        int size = u.Size;
        uint alloc = u.Imm & 0xFFFF;
        int level = (int)(u.Imm2 & 31);
        uint esp = R(Reg.Esp);
        uint ebp = R(Reg.Ebp);
        esp = StepEsp(esp, -size);
        if (!WriteSeg(SegReg.Ss, esp & stackMask, size, ebp)) return Status.Fault;
        uint frame = esp;
        if (level > 0)
        {
            for (int i = 1; i < level; i++)
            {
                ebp = (ebp & ~stackMask) | ((ebp - (uint)size) & stackMask);
                if (!ReadSeg(SegReg.Ss, ebp & stackMask, size, out uint v)) return Status.Fault;
                esp = StepEsp(esp, -size);
                if (!WriteSeg(SegReg.Ss, esp & stackMask, size, v)) return Status.Fault;
            }
            esp = StepEsp(esp, -size);
            if (!WriteSeg(SegReg.Ss, esp & stackMask, size, frame)) return Status.Fault;
        }
        esp = StepEsp(esp, -(int)alloc);
        // The whole new frame must be accessible, as on hardware that checks before committing.
        if (alloc != 0 && !ProbeWriteSeg(SegReg.Ss, esp & stackMask, 1)) return Status.Fault;
        SetReg(size, Reg.Ebp, frame);
        R(Reg.Esp) = esp;
        return Status.Next;
    }

    internal int Leave(ref Uop u)
    {
        uint esp = (R(Reg.Esp) & ~stackMask) | (R(Reg.Ebp) & stackMask);
        if (!ReadSeg(SegReg.Ss, esp & stackMask, u.Size, out uint v)) return Status.Fault;
        R(Reg.Esp) = StepEsp(esp, u.Size);
        SetReg(u.Size, Reg.Ebp, v);
        return Status.Next;
    }
}
