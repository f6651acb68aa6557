using System.Runtime.InteropServices;

namespace Vmi.Cpu.Decode;

/// <summary>
/// One decoded instruction in the form both the interpreter and a later translation tier use:
/// the handler, operand registers, the effective-address recipe, immediates and length.
/// Built once per instruction by <see cref="UopBuilder"/> from Iced's decoder output.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct Uop
{
    public Op Op;

    /// <summary>Instruction length in bytes.</summary>
    public byte Length;

    /// <summary>Operand size in bytes (1, 2 or 4).</summary>
    public byte Size;

    /// <summary>The ModRM reg operand (or the only register operand): 0..7; for 8-bit operands 4..7 are AH..BH.</summary>
    public byte R;

    /// <summary>The ModRM r/m operand when it is a register.</summary>
    public byte M;

    /// <summary>Effective address: base and index register (8 = none), scale as a shift count.</summary>
    public byte Base, Index, Scale;

    /// <summary>Segment register of the memory operand (after overrides and SS defaults).</summary>
    public byte Seg;

    /// <summary>Sub-operation: ALU kind, condition code, shift kind, string kind...</summary>
    public byte Sub;

    public UopFlags Flags;

    /// <summary>Second size: the source size of MOVZX/MOVSX, the address size of string instructions.</summary>
    public byte Size2;

    public uint Disp;

    /// <summary>Immediate; for relative branches the displacement from the next instruction.</summary>
    public uint Imm;

    /// <summary>Second immediate (far pointer selector, ENTER nesting level).</summary>
    public uint Imm2;

    /// <summary>The Iced code, kept for diagnostics and intercepts.</summary>
    public ushort Code;

    /// <summary>The r/m operand is in memory (for handlers that serve both forms).</summary>
    public bool IsMem;
}

[Flags]
public enum UopFlags : byte
{
    None = 0,

    /// <summary>16-bit effective-address arithmetic (wraps at 64 KiB).</summary>
    Addr16 = 1,
    Rep = 2,
    RepNe = 4,

    /// <summary>Shift/rotate count comes from CL rather than the immediate.</summary>
    CountInCl = 8,
    Lock = 16,

    /// <summary>The instruction ends its block (branch, mode change, serializing, I/O).</summary>
    EndsBlock = 32,

    /// <summary>Immediate form (for instruction families that also have a register form).</summary>
    HasImm = 64,

    /// <summary>
    /// The instruction begins a new block. Instructions that reach devices, time or the hypervisor
    /// (port I/O, RDTSC, MSRs, HLT, software interrupts, system instructions) and repeated string
    /// instructions run first in their block, so <see cref="Cpu.InstructionsRetired"/> is exact while
    /// they execute (a device sees the true instruction count; a REP counts its iterations).
    /// </summary>
    StartsBlock = 128,
}
