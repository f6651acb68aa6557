using Vmi.Abi;
using Vmi.Cpu;
using Vmi.Cpu.Memory;

namespace Vmi.Machine.Roms;

/// <summary>
/// Runs a ROM's 32-bit entry points (vmi_init, get_reloc) on a scratch CPU, the way a kernel
/// would call them: flat ring 0, paging off, the ROM at its physical base, a small stack; every
/// call from the CPU's reset state, so one call's leftovers cannot break the next. Used
/// to show what a ROM really answers (vmi rom dump) instead of trusting its table.
/// </summary>
public sealed class RomExecutor
{
    private const uint CallerAddress = 0x1000;
    private const uint StackTop = 0x9_0000;
    private const long Budget = 100_000;
    private readonly PhysicalMemory memory = new(2u << 20);
    private readonly Vmi.Cpu.Cpu cpu;

    public RomExecutor(ReadOnlySpan<byte> rom, uint romBase = VmConfig.DefaultOptionRomBase)
    {
        if (OptionRomWindow.PlacementError(romBase, rom.Length) is string problem)
        {
            throw new ArgumentException(problem, nameof(romBase));
        }
        RomBase = romBase;
        memory.Load(romBase, rom);
        cpu = new Vmi.Cpu.Cpu(memory, CpuModel.Plain);
    }

    public uint RomBase { get; }

    /// <summary>Calls the code at ROM offset <paramref name="offset"/>; null with a reason if it does not return cleanly.</summary>
    public (uint Eax, uint Edx)? Call(int offset, uint eax, out string? failure)
    {
        // mov ebx, target; call ebx; hlt
        uint target = RomBase + (uint)offset;
        Span<byte> caller = [0xBB, (byte)target, (byte)(target >> 8), (byte)(target >> 16), (byte)(target >> 24), 0xFF, 0xD3, 0xF4];
        memory.Load(CallerAddress, caller);
        // Each entry point starts from the same machine, as a kernel calls it: whatever an earlier call
        // left (paging on, CR0.WP, an IDT, DF) must not decide whether this one works.
        cpu.Reset();
        cpu.EnterFlatProtectedMode(CallerAddress);
        cpu.Esp = StackTop;
        cpu.Eax = eax;
        cpu.Ecx = cpu.Edx = 0;
        CpuExit exit = cpu.Run(Budget);
        if (exit.Reason != CpuExitReason.Halted || cpu.Eip != CallerAddress + (uint)caller.Length || cpu.Esp != StackTop)
        {
            failure = exit.Reason == CpuExitReason.InstructionLimit
                ? exit.Detail is null ? $"did not return within {Budget} instructions (eip 0x{cpu.Eip:X8})" : $"did not return: {exit.Detail}"
                : $"did not return normally: {exit.Reason} at eip 0x{cpu.Eip:X8}{(exit.Detail is null ? "" : ": " + exit.Detail.Split('\n')[0])}";
            return null;
        }
        failure = null;
        return (cpu.Eax, cpu.Edx);
    }

    public RelocationInfo? GetReloc(int callNumber, out string? failure)
    {
        var r = Call(RomLayout.GetRelocOffset, (uint)callNumber, out failure);
        return r is { } v ? RelocationInfo.FromRegisters(v.Eax, v.Edx) : null;
    }
}
