using Vmi.Cpu;

namespace Vmi.Rom.Tests;

/// <summary>One IN or OUT as the board saw it.</summary>
internal readonly record struct PortAccess(bool Write, ushort Port, int Size, uint Value)
{
    public override string ToString() => $"{(Write ? "out" : "in")}{Size * 8} 0x{Port:X4} = 0x{Value:X}";
}

/// <summary>
/// A board that records every port access, answers reads with values that depend on the port
/// and on how many reads came before (so a stub reading the wrong port or the wrong number of
/// times is seen), keeps a fixed clock (so RDTSC has one right answer), and acknowledges one
/// interrupt vector (to wake a halted CPU).
/// </summary>
internal sealed class RecordingPlatform : ICpuPlatform
{
    /// <summary>What RDTSC reads; the high dword is non-zero so EDX is checked too.</summary>
    public const ulong Tsc = 0x0000_0123_4567_89ABUL;

    /// <summary>The vector the interrupt controller answers with when the CPU acknowledges.</summary>
    public const byte WakeVector = 0x40;

    private int reads;

    public List<PortAccess> Log { get; } = [];

    /// <summary>The CPU whose INTR line this board drops on acknowledge (an edge, not a level).</summary>
    public Vmi.Cpu.Cpu? Cpu { get; set; }

    public ulong TimestampCounter => Tsc;

    /// <summary>The value the <paramref name="index"/>-th read (from 0) of <paramref name="port"/> returns, before size masking.</summary>
    public static uint ReadValue(ushort port, int index) => (0x9E37_79B9u * (uint)(index + 1)) ^ ((uint)port << 8);

    public static uint Mask(int size) => size == 4 ? 0xFFFF_FFFFu : (1u << (8 * size)) - 1;

    public uint PortRead(ushort port, int size)
    {
        uint v = ReadValue(port, reads++) & Mask(size);
        Log.Add(new PortAccess(false, port, size, v));
        return v;
    }

    public void PortWrite(ushort port, int size, uint value) => Log.Add(new PortAccess(true, port, size, value & Mask(size)));

    public byte AcknowledgeInterrupt()
    {
        if (Cpu != null)
        {
            Cpu.InterruptLine = false;
        }
        return WakeVector;
    }
}
