using Iced.Intel;

namespace Vmi.Cpu.Tests.Differential;

/// <summary>A reusable Iced <see cref="CodeWriter"/>: encoding one instruction per case should not allocate a stream.</summary>
internal sealed class BufferCodeWriter : CodeWriter
{
    private readonly List<byte> _bytes = new(16);

    public override void WriteByte(byte value) => _bytes.Add(value);

    public void Reset() => _bytes.Clear();

    public byte[] ToArray() => [.. _bytes];
}
