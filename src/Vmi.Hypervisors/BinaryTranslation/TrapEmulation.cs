using Vmi.Cpu;
using Vmi.Hypervisors.Paging;
using Vmi.Hypervisors.Paravirtual;

namespace Vmi.Hypervisors.BinaryTranslation;

/// <summary>
/// Emulation of the privileged instructions a ring-1 kernel traps on, from the decoded operands
/// the #GP carries (no decoding here). Each either completes (Skip: the instruction retires), sets
/// EIP itself (Resume), reflects the fault the real instruction would have raised into the guest,
/// or stops the VM naming what it cannot emulate. LGDT, LIDT and LTR are not here: they load the
/// monitor's copies of the tables (BtHypervisor, DescriptorTableShadow).
/// </summary>
internal static class TrapEmulation
{
    public static InterceptAction Emulate(Vmi.Cpu.Cpu cpu, in SensitiveEvent e, ShadowMmu mmu, string backend)
    {
        switch (e.Op)
        {
            case SensitiveOp.Cli:
                cpu.Eflags &= ~EFlags.IF;
                return InterceptAction.Skip;
            case SensitiveOp.Sti:
                cpu.Eflags |= EFlags.IF;
                return InterceptAction.Skip;
            case SensitiveOp.Hlt:
                cpu.EnterHalt(e.Eip + (uint)e.Length);
                return InterceptAction.Resume;
            case SensitiveOp.PortIn:
                {
                    uint mask = Vmi.Cpu.Cpu.SizeMask(e.Size);
                    uint v = cpu.Platform.PortRead((ushort)e.Operand, e.Size) & mask;
                    cpu.Eax = (cpu.Eax & ~mask) | v;
                    return InterceptAction.Skip;
                }
            case SensitiveOp.PortOut:
                cpu.Platform.PortWrite((ushort)e.Operand, e.Size, e.Value & Vmi.Cpu.Cpu.SizeMask(e.Size));
                return InterceptAction.Skip;
            case SensitiveOp.MovToCr:
                return SetControlRegister(cpu, (int)e.Operand, e.Value);
            case SensitiveOp.MovFromCr:
                if (!cpu.TryGetControlRegister((int)e.Operand, out uint cr))
                {
                    return InterceptAction.Default;
                }
                cpu[e.Register] = cr;
                return InterceptAction.Skip;
            case SensitiveOp.MovToDr:
                // The debug registers stay the guest's: the monitor sets no breakpoints of its own.
                return cpu.TrySetDebugRegister((int)e.Operand, e.Value) ? InterceptAction.Skip : InterceptAction.Default;
            case SensitiveOp.MovFromDr:
                if (!cpu.TryGetDebugRegister((int)e.Operand, out uint dr))
                {
                    return InterceptAction.Default;
                }
                cpu[e.Register] = dr;
                return InterceptAction.Skip;
            case SensitiveOp.Clts:
                return SetControlRegister(cpu, 0, cpu.Cr0 & ~Cr0Bits.TS);
            case SensitiveOp.Lmsw:
                {
                    uint m = Cr0Bits.MP | Cr0Bits.EM | Cr0Bits.TS;
                    return SetControlRegister(cpu, 0, (cpu.Cr0 & ~m) | (e.Value & m) | (e.Value & Cr0Bits.PE));
                }
            case SensitiveOp.Invlpg:
                mmu.Invalidate(e.Address);
                cpu.InvalidatePage(e.Address);
                return InterceptAction.Skip;
            case SensitiveOp.Lldt:
                return cpu.TryLoadLdt((ushort)e.Value, out CpuFault lldtFault) ? InterceptAction.Skip : Reflect(cpu, lldtFault);
            case SensitiveOp.Rdmsr:
                if (!cpu.TryReadMsr(e.Operand, out ulong msr))
                {
                    return InterceptAction.Default;
                }
                cpu.Eax = (uint)msr;
                cpu.Edx = (uint)(msr >> 32);
                return InterceptAction.Skip;
            case SensitiveOp.Wrmsr:
                return cpu.TryWriteMsr(e.Operand, ((ulong)e.ValueHigh << 32) | e.Value) ? InterceptAction.Skip : InterceptAction.Default;
            case SensitiveOp.Wbinvd:
            case SensitiveOp.Invd:
                return InterceptAction.Skip;
            case SensitiveOp.Rdtsc:
                return InterceptAction.Default; // CR4.TSD: the guest asked for the fault
            default:
                cpu.RequestStop(CpuExitReason.InterceptStop, $"{backend}: cannot emulate {e} for the ring-1 kernel");
                return InterceptAction.Stop;
        }
    }

    /// <summary>MOV to CR, CLTS, LMSW: the write MOV would make (the shadow notices a paging-mode change itself).</summary>
    private static InterceptAction SetControlRegister(Vmi.Cpu.Cpu cpu, int cr, uint value) =>
        cpu.TrySetControlRegister(cr, value)
            ? InterceptAction.Skip
            : InterceptAction.Default; // the guest gets the #GP the real instruction raises

    /// <summary>The emulated instruction faulted (e.g. LGDT's operand is unmapped): the guest gets that fault instead of the #GP.</summary>
    internal static InterceptAction Reflect(Vmi.Cpu.Cpu cpu, CpuFault f)
    {
        if (f.Vector == Vectors.PF)
        {
            SharedPage.RecordCr2(cpu.Memory, f.Address);
        }
        cpu.InjectException(f.Vector, f.HasError ? f.ErrorCode : null, f.Address);
        return InterceptAction.Resume;
    }
}
