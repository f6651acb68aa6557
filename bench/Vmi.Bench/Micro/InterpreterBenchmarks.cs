using BenchmarkDotNet.Attributes;
using Iced.Intel;
using Vmi.Cpu;
using Vmi.Cpu.Memory;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Bench.Micro;

/// <summary>
/// The interpreter on code that is already decoded: a register/memory loop of 8 instructions
/// per iteration, run for a fixed instruction count. The memory diagnoser must show 0 B
/// allocated per operation (nothing is allocated per guest instruction).
/// </summary>
[MemoryDiagnoser]
public class InterpreterBenchmarks
{
    private const uint Code = 0x1000;
    private const int Instructions = 1_000_000;
    private Vmi.Cpu.Cpu cpu = null!;

    [GlobalSetup]
    public void Setup()
    {
        var memory = new PhysicalMemory(4u << 20);
        var a = new Assembler(32);
        Label loop = a.CreateLabel();
        a.mov(esi, 0x10_0000);
        a.Label(ref loop);
        a.mov(eax, __dword_ptr[esi]);
        a.add(eax, ebx);
        a.xor(ebx, eax);
        a.shl(ebx, 3);
        a.mov(__dword_ptr[esi + 4], ebx);
        a.lea(ecx, __[ecx + ebx * 2 + 1]);
        a.cmp(ecx, edx);
        a.jne(loop);
        var writer = new Writer();
        a.Assemble(writer, Code);
        memory.Load(Code, writer.Bytes.ToArray());
        cpu = new Vmi.Cpu.Cpu(memory, CpuModel.Plain);
        cpu.EnterFlatProtectedMode(Code);
        cpu.Edx = 0xFFFF_FFFF; // never equal: the loop runs until the budget ends
        cpu.Run(Instructions); // decode once
    }

    [Benchmark(OperationsPerInvoke = Instructions, Description = "one guest instruction (cached loop)")]
    public CpuExitReason CachedLoop() => cpu.Run(Instructions).Reason;

    private sealed class Writer : CodeWriter
    {
        public List<byte> Bytes { get; } = [];

        public override void WriteByte(byte value) => Bytes.Add(value);
    }
}
