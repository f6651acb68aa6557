using Iced.Intel;
using Vmi.Cpu;
using Vmi.Cpu.Memory;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Rom.Tests;

/// <summary>
/// A bare CPU with a ROM in physical memory, optionally seen through paging at another linear
/// address (as a kernel mapping low memory at 0xC0000000 would), to execute ROM entry points.
/// </summary>
internal sealed class RomMachine
{
    public const uint RomPhysical = 0xC0000;
    public const uint CallerAddress = 0x1000;
    public const uint StackTop = 0x9_0000;
    private const uint PageDirectory = 0x20_0000;
    private const uint PageTables = 0x20_1000;

    public RomMachine(byte[] rom, uint? linearAlias = null)
    {
        Memory = new PhysicalMemory(8u << 20);
        Memory.Load(RomPhysical, rom);
        Cpu = new Vmi.Cpu.Cpu(Memory, CpuModel.Plain);
        Cpu.EnterFlatProtectedMode(CallerAddress);
        RomLinear = RomPhysical;
        if (linearAlias is uint alias)
        {
            // Identity-map the first 4 MiB and map the ROM's 128 KiB window again at alias.
            Span<byte> pd = stackalloc byte[4096];
            BitConverter.TryWriteBytes(pd, PageTables | 3);
            BitConverter.TryWriteBytes(pd[((int)(alias >> 22) * 4)..], (PageTables + 0x1000) | 3);
            Memory.Load(PageDirectory, pd);
            for (uint i = 0; i < 1024; i++)
            {
                Memory.Write32(PageTables + i * 4, (i << 12) | 3);
            }
            for (uint i = 0; i < 32; i++)
            {
                Memory.Write32(PageTables + 0x1000 + (((alias >> 12) & 0x3FF) + i) * 4, (RomPhysical + (i << 12)) | 3);
            }
            Cpu.TrySetControlRegister(3, PageDirectory);
            Cpu.TrySetControlRegister(0, Cpu.Cr0 | Cr0Bits.PG);
            RomLinear = alias;
        }
    }

    public PhysicalMemory Memory { get; }

    public Vmi.Cpu.Cpu Cpu { get; }

    public uint RomLinear { get; }

    /// <summary>Calls the code at <paramref name="target"/> with the given registers; returns when it returns (HLT after the call).</summary>
    public void Call(uint target, uint eax = 0, uint edx = 0, uint ecx = 0)
    {
        var a = new Assembler(32);
        a.mov(ebx, target);
        a.call(ebx);
        a.hlt();
        var writer = new Bytes();
        a.Assemble(writer, CallerAddress);
        Memory.Load(CallerAddress, writer.ToArray());
        Cpu.EnterFlatProtectedMode(CallerAddress);
        Cpu.Esp = StackTop;
        Cpu.Eax = eax;
        Cpu.Edx = edx;
        Cpu.Ecx = ecx;
        CpuExit exit = Cpu.Run(100_000);
        Assert.True(exit.Reason == CpuExitReason.Halted, $"the call did not return: {exit.Reason} {exit.Detail} eip=0x{Cpu.Eip:X8}");
        Assert.Equal(StackTop, Cpu.Esp);
    }

    private sealed class Bytes : CodeWriter
    {
        private readonly List<byte> bytes = [];

        public override void WriteByte(byte value) => bytes.Add(value);

        public byte[] ToArray() => [.. bytes];
    }
}
