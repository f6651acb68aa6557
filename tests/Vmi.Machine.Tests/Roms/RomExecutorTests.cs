using Iced.Intel;
using Vmi.Machine.Roms;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Machine.Tests.Roms;

/// <summary>Each entry point RomExecutor runs starts from the same fresh CPU, whatever the previous call left behind.</summary>
public sealed class RomExecutorTests
{
    private const int InitAt = 0x000, ProbeAt = 0x200;

    /// <summary>
    /// A "ROM" whose code at <see cref="InitAt"/> leaves the CPU in odd state: paging on with every
    /// page read-only and CR0.WP set (so the next CALL's push faults), DF set, an empty IDT. The code at
    /// <see cref="ProbeAt"/> returns CR0 in EAX and EFLAGS in EDX.
    /// </summary>
    public static byte[] OddStateRom()
    {
        var image = new byte[4096];
        Assemble(a =>
        {
            Label fill = a.CreateLabel();
            a.mov(edi, 0x8_1000);
            a.mov(eax, 0x1); // present, read-only
            a.mov(ecx, 1024);
            a.Label(ref fill);
            a.mov(__dword_ptr[edi], eax);
            a.add(eax, 0x1000);
            a.add(edi, 4);
            a.dec(ecx);
            a.jnz(fill);
            a.mov(__dword_ptr[0x8_0000], 0x8_1003);
            a.mov(eax, 0x8_0000);
            a.mov(cr3, eax);
            a.mov(eax, cr0);
            a.or(eax, unchecked((int)0x8001_0000)); // PG | WP
            a.mov(cr0, eax);
            a.lidt(__[0x8_2000]); // zeros: limit 0
            a.std();
            a.xor(eax, eax);
            a.ret();
        }).CopyTo(image, InitAt);
        Assemble(a =>
        {
            a.mov(eax, cr0);
            a.pushfd();
            a.pop(edx);
            a.ret();
        }).CopyTo(image, ProbeAt);
        return image;
    }

    [Fact]
    public void EveryCallStartsFromAFreshCpu()
    {
        var executor = new RomExecutor(OddStateRom());

        Assert.Equal((0u, 0u), executor.Call(InitAt, 0, out string? initFailure));
        Assert.Null(initFailure);

        var probe = executor.Call(ProbeAt, 0, out string? failure);
        Assert.Null(failure);
        // PE and ET only: no paging, no WP; EFLAGS has only its always-one bit (DF clear, IF clear).
        Assert.Equal((0x11u, 0x2u), probe);
    }

    [Fact]
    public void AnEntryPointLoopingOverRepStringsEndsWithinTheBudget()
    {
        // A hostile get_reloc: an endless loop of 4-billion-byte REP MOVSB. Each iteration counts
        // against the executor's instruction budget, so the call fails fast (it once took minutes).
        var image = new byte[4096];
        Assemble(a =>
        {
            Label top = a.CreateLabel();
            a.Label(ref top);
            a.xor(esi, esi);
            a.xor(edi, edi);
            a.mov(ecx, uint.MaxValue);
            a.rep.movsb();
            a.jmp(top);
        }).CopyTo(image, ProbeAt);
        var executor = new RomExecutor(image);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        Assert.Null(executor.Call(ProbeAt, 0, out string? failure));

        Assert.Contains("did not return within", failure, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    private static byte[] Assemble(Action<Assembler> emit)
    {
        var a = new Assembler(32);
        emit(a);
        var writer = new Writer();
        // Position-independent code: the address only matters for the relative jump, which stays inside.
        a.Assemble(writer, 0);
        return writer.ToArray();
    }

    private sealed class Writer : CodeWriter
    {
        private readonly List<byte> bytes = [];

        public override void WriteByte(byte value) => bytes.Add(value);

        public byte[] ToArray() => [.. bytes];
    }
}
