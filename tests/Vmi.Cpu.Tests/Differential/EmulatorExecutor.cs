using Vmi.Cpu.Memory;

namespace Vmi.Cpu.Tests.Differential;

/// <summary>Runs one instruction on our CPU in flat 32-bit protected mode.</summary>
public sealed class EmulatorExecutor : IEmulatedExecutor
{
    private const uint CodeAddress = 0x1000;
    private readonly PhysicalMemory memory = new(2 * 1024 * 1024);
    private readonly Cpu cpu;

    public EmulatorExecutor()
    {
        cpu = new Cpu(memory, CpuModel.Plain);
    }

    public RegisterFile Execute(ReadOnlySpan<byte> instruction32, in RegisterFile input)
    {
        memory.Load(CodeAddress, instruction32);
        cpu.EnterFlatProtectedMode(CodeAddress);
        cpu.Eax = input.Eax;
        cpu.Ecx = input.Ecx;
        cpu.Edx = input.Edx;
        cpu.Ebx = input.Ebx;
        cpu.Ebp = input.Ebp;
        cpu.Esi = input.Esi;
        cpu.Edi = input.Edi;
        cpu.Esp = 0x8000;
        cpu.Eflags = input.Eflags;
        CpuExit exit = cpu.Step();
        if (exit.Reason != CpuExitReason.InstructionLimit || cpu.Eip != CodeAddress + (uint)instruction32.Length)
        {
            throw new InvalidOperationException($"instruction did not retire normally: {exit.Reason} {exit.Detail}, eip=0x{cpu.Eip:X8}");
        }
        return new RegisterFile
        {
            Eax = cpu.Eax,
            Ecx = cpu.Ecx,
            Edx = cpu.Edx,
            Ebx = cpu.Ebx,
            Ebp = cpu.Ebp,
            Esi = cpu.Esi,
            Edi = cpu.Edi,
            Eflags = cpu.Eflags,
        };
    }
}
