using System.Runtime.CompilerServices;
using Vmi.Cpu.Decode;

namespace Vmi.Cpu;

/// <summary>Near JMP/Jcc/JCXZ/LOOP/CALL/RET, and the entry points of far transfers and software interrupts.</summary>
public sealed unsafe partial class Cpu
{
    /// <summary>Sets EIP to a near target after the CS limit check (#GP(0) beyond the limit).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int BranchTo(uint target, int operandSize)
    {
        if (operandSize == 2) target &= 0xFFFF;
        if ((segFast & (1u << SegReg.Cs)) == 0 && target > segs[SegReg.Cs].Limit) return FaultGp();
        Eip = target;
        return Status.Jump;
    }

    internal uint NextEip(ref Uop u) => Eip + u.Length;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int Jmp(ref Uop u) => BranchTo(NextEip(ref u) + u.Imm, u.Size);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int Jcc(ref Uop u) => Condition(u.Sub) ? BranchTo(NextEip(ref u) + u.Imm, u.Size) : Status.Next;

    internal int JmpR(ref Uop u) => BranchTo(GetReg(u.Size, u.M), u.Size);

    internal int JmpM(ref Uop u) => ReadMem(ref u, u.Size, out uint t) ? BranchTo(t, u.Size) : Status.Fault;

    internal int Jcxz(ref Uop u)
    {
        uint count = u.Size2 == 2 ? R(Reg.Ecx) & 0xFFFF : R(Reg.Ecx);
        return count == 0 ? BranchTo(NextEip(ref u) + u.Imm, u.Size) : Status.Next;
    }

    /// <summary>LOOP (Sub 2), LOOPE (1), LOOPNE (0): decrement CX/ECX without touching flags.</summary>
    internal int Loop(ref Uop u)
    {
        uint count;
        if (u.Size2 == 2)
        {
            count = (R(Reg.Ecx) - 1) & 0xFFFF;
            SetReg(2, Reg.Ecx, count);
        }
        else
        {
            count = --R(Reg.Ecx);
        }
        bool take = count != 0 && (u.Sub == 2 || (u.Sub == 1 ? ZF : !ZF));
        return take ? BranchTo(NextEip(ref u) + u.Imm, u.Size) : Status.Next;
    }

    private int CallNear(ref Uop u, uint target)
    {
        uint ret = NextEip(ref u);
        if (u.Size == 2) target &= 0xFFFF;
        if ((segFast & (1u << SegReg.Cs)) == 0 && target > segs[SegReg.Cs].Limit) return FaultGp();
        if (!Push(u.Size, ret)) return Status.Fault;
        Eip = target;
        return Status.Jump;
    }

    internal int Call(ref Uop u) => CallNear(ref u, NextEip(ref u) + u.Imm);

    internal int CallR(ref Uop u) => CallNear(ref u, GetReg(u.Size, u.M));

    internal int CallM(ref Uop u) => ReadMem(ref u, u.Size, out uint t) ? CallNear(ref u, t) : Status.Fault;

    internal int Ret(ref Uop u)
    {
        if (!Peek(u.Size, 0, out uint target)) return Status.Fault;
        if (u.Size == 2) target &= 0xFFFF;
        if ((segFast & (1u << SegReg.Cs)) == 0 && target > segs[SegReg.Cs].Limit) return FaultGp();
        R(Reg.Esp) = StepEsp(R(Reg.Esp), u.Size + (int)u.Imm);
        Eip = target;
        return Status.Jump;
    }

    internal int JmpFar(ref Uop u) => FarJump((ushort)u.Imm2, u.Imm, u.Size);

    internal int JmpFarM(ref Uop u)
    {
        uint off = Ea(ref u);
        if (!ReadSeg(u.Seg, off, u.Size, out uint target) || !ReadSeg(u.Seg, off + (uint)u.Size, 2, out uint sel)) return Status.Fault;
        return FarJump((ushort)sel, target, u.Size);
    }

    internal int CallFar(ref Uop u) => FarCall((ushort)u.Imm2, u.Imm, u.Size, NextEip(ref u));

    internal int CallFarM(ref Uop u)
    {
        uint off = Ea(ref u);
        if (!ReadSeg(u.Seg, off, u.Size, out uint target) || !ReadSeg(u.Seg, off + (uint)u.Size, 2, out uint sel)) return Status.Fault;
        return FarCall((ushort)sel, target, u.Size, NextEip(ref u));
    }

    internal int RetFar(ref Uop u) => FarReturn(u.Size, u.Imm);

    internal int Int(ref Uop u)
    {
        if (u.Sub == 1)
        {
            // INT1 (ICEBP, F1) raises #DB like a hardware debug trap: no gate DPL check, no DR6 bit,
            // the return address past it; delivered as an exception (intercepts, double-fault rules).
            Eip = NextEip(ref u);
            pendingFault = new CpuFault(Vectors.DB, false, 0);
            DeliverPendingFault();
            softwareInterruptTaken = true;
            return Status.Jump;
        }
        if (HypercallVector >= 0 && u.Imm == (uint)HypercallVector && Wants(SensitiveOp.SoftwareInterruptHypercall)
            && Intercept(Describe(SensitiveOp.SoftwareInterruptHypercall, ref u) with { Operand = u.Imm, Value = R(Reg.Eax) }) is int st)
        {
            return st;
        }
        return SoftwareInterrupt((int)u.Imm, NextEip(ref u));
    }

    internal int Int3(ref Uop u) => SoftwareInterrupt(Vectors.BP, NextEip(ref u));

    internal int Into(ref Uop u) => OF ? SoftwareInterrupt(Vectors.OF, NextEip(ref u)) : Status.Next;
}
