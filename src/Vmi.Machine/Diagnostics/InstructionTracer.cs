using System.Globalization;
using Iced.Intel;

namespace Vmi.Machine.Diagnostics;

/// <summary>
/// Writes every retired guest instruction (count, CS:EIP linear address, bytes, disassembly) to a
/// text writer, like QEMU's -d in_asm,exec. It hooks the CPU's block-executed notification, so
/// tracing does not change where blocks end or where interrupts are taken: a traced run does
/// exactly what an untraced one does. Instructions are disassembled from memory after their block
/// ran, so a block that rewrote itself shows its new bytes.
/// </summary>
public sealed class InstructionTracer
{
    private readonly Vmi.Cpu.Cpu cpu;
    private readonly TextWriter output;
    private readonly long limit;
    private readonly byte[] bytes = new byte[16];
    private readonly NasmFormatter formatter = new();
    private readonly StringOutput text = new();
    private long written;

    public InstructionTracer(Vmi.Cpu.Cpu cpu, TextWriter output, long limit)
    {
        this.cpu = cpu;
        this.output = output;
        this.limit = limit;
        cpu.BlockExecuted = OnBlock;
    }

    public long Written => written;

    public bool LimitReached => written >= limit;

    private void OnBlock(uint linear, int count)
    {
        long first = cpu.InstructionsRetired - count;
        int bitness = cpu.Segment(Vmi.Cpu.SegReg.Cs).Big ? 32 : 16;
        uint at = linear;
        for (int i = 0; i < count; i++)
        {
            if (written >= limit)
            {
                output.WriteLine($"... trace limit of {limit} instructions reached");
                cpu.BlockExecuted = null;
                return;
            }
            int length = ReadInstruction(at, bitness, out Instruction ins);
            string hex = length > 0 ? Convert.ToHexString(bytes, 0, length).ToLowerInvariant() : "??";
            string asm = length > 0 ? Format(in ins) : "(not readable)";
            output.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0,12} {1:x8}: {2,-20} {3}", first + i, at, hex, asm));
            written++;
            if (length == 0)
            {
                return;
            }
            at += (uint)length;
        }
    }

    private int ReadInstruction(uint linear, int bitness, out Instruction ins)
    {
        int n = 0;
        while (n < 15 && cpu.TryPeekLinear(linear + (uint)n, bytes.AsSpan(n, 1)))
        {
            n++;
        }
        var decoder = Decoder.Create(bitness, new ByteArrayCodeReader(bytes, 0, n));
        decoder.IP = linear;
        decoder.Decode(out ins);
        return ins.IsInvalid && decoder.LastError == DecoderError.NoMoreBytes ? 0 : ins.Length;
    }

    private string Format(in Instruction ins)
    {
        formatter.Format(ins, text);
        return text.ToStringAndReset();
    }
}
