using System.Diagnostics;
using Vmi.Cpu.Tests.Support;
using Xunit.Abstractions;
using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests;

/// <summary>
/// Robustness property: whatever bytes a guest executes, in ring 0 (which may wreck its own
/// tables, leave protected mode or triple-fault) or in ring 3 under a protected kernel, the CPU
/// only ever answers with a <see cref="CpuExit"/>: no host exception escapes <see cref="Cpu.Run"/>,
/// the instruction counter keeps advancing, and it all stays fast. Every IDT vector points at a
/// handler that steps the faulting EIP one byte forward and returns, so execution walks on
/// through the random bytes instead of stopping at the first fault; HLT, triple faults and
/// unsupported features end an episode, after which the machine is rebuilt with fresh bytes.
/// </summary>
public sealed class RandomCodeTests(ITestOutputHelper output)
{
    /// <summary>100 seeds in the default run; VMI_FUZZ_SEEDS and VMI_FUZZ_SEED_BASE widen it for long local runs.</summary>
    private static readonly int Seeds = int.TryParse(Environment.GetEnvironmentVariable("VMI_FUZZ_SEEDS"), out int n) && n > 0 ? n : 100;
    private static readonly int SeedBase = int.TryParse(Environment.GetEnvironmentVariable("VMI_FUZZ_SEED_BASE"), out int b) ? b : 0;
    private const int InstructionsPerSeed = 1_000;
    private const int EpisodeBudget = 250;
    private const uint CodeArea = 0x20_0000;
    private const int CodeBytes = 0x2000;

    /// <summary>Opcodes worth over-sampling: system, segment, flag, I/O, interrupt and string instructions.</summary>
    private static readonly byte[][] Interesting =
    [
        [0x0F, 0x00], [0x0F, 0x01], [0x0F, 0x20], [0x0F, 0x22], [0x0F, 0x21], [0x0F, 0x23], [0x0F, 0x06],
        [0x0F, 0x30], [0x0F, 0x32], [0x0F, 0x34], [0x0F, 0x35], [0x0F, 0x02], [0x0F, 0x03], [0x0F, 0xB2],
        [0x8E], [0x8C], [0x07], [0x17], [0x1F], [0x0F, 0xA1], [0x0F, 0xA9], [0xC4], [0xC5],
        [0x9C], [0x9D], [0xFA], [0xFB], [0xF4], [0xCF], [0xCD], [0xCC], [0xCE], [0xCA], [0xCB],
        [0xEA], [0x9A], [0xFF], [0xC8], [0xC9], [0x60], [0x61], [0x62], [0x63],
        [0xE4], [0xE6], [0xEC], [0xEE], [0x6C], [0x6E], [0xF3, 0xA4], [0xF3, 0xAB], [0xF2, 0xAE], [0xF3, 0xA6],
        [0x66], [0x67], [0xF0], [0x0F, 0xC7], [0x0F, 0xB1], [0xF6], [0xF7], [0xD4], [0xD5],
    ];

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void RandomBytesOnlyEverProduceCpuExits(int ring)
    {
        var h = new H();
        h.Cpu.Platform = new NullPlatform(h.Cpu); // rep outs would otherwise record millions of writes
        var exits = new Dictionary<CpuExitReason, int>();
        long total = 0;
        int episodes = 0;
        var clock = Stopwatch.StartNew();

        for (int seed = SeedBase + 1; seed <= SeedBase + Seeds; seed++)
        {
            var rng = new Random(seed * 7919 + ring);
            long seedStart = h.Cpu.InstructionsRetired;
            int seedEpisodes = 0;
            while (h.Cpu.InstructionsRetired - seedStart < InstructionsPerSeed)
            {
                Assert.True(++seedEpisodes <= 1000, $"seed {seed}: episodes retire (almost) nothing; exits so far: {Describe(exits)}");
                StartEpisode(h, rng, ring);
                long before = h.Cpu.InstructionsRetired;
                CpuExit exit;
                try
                {
                    exit = h.Cpu.Run(EpisodeBudget);
                }
                catch (Exception e)
                {
                    Assert.Fail($"ring {ring} seed {seed} episode {seedEpisodes}: host exception escaped Run: {e}\n{h.Cpu.DescribeState()}");
                    throw;
                }
                Assert.True(Enum.IsDefined(exit.Reason), $"unknown exit {exit.Reason}");
                long retired = h.Cpu.InstructionsRetired - before;
                Assert.InRange(retired, 0, EpisodeBudget);
                if (exit.Reason == CpuExitReason.InstructionLimit)
                {
                    Assert.Equal(EpisodeBudget, retired); // the budget is exact
                }
                exits[exit.Reason] = exits.GetValueOrDefault(exit.Reason) + 1;
            }
            total += h.Cpu.InstructionsRetired - seedStart;
            episodes += seedEpisodes;
        }
        clock.Stop();

        long faults = h.Cpu.Counters.Exceptions;
        output.WriteLine($"ring {ring}: {total} instructions, {episodes} episodes, {faults} exceptions, {clock.Elapsed.TotalMilliseconds:F0} ms; exits: {Describe(exits)}");
        Assert.True(total >= (long)Seeds * InstructionsPerSeed, $"only {total} instructions retired");
        // 15 s per 100 seeds: a generous bound that still catches a pathological slowdown.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15.0 * Seeds / 100),
            $"{total} instructions in {episodes} episodes took {clock.Elapsed.TotalSeconds:F1} s; exits: {Describe(exits)}");
        // The handlers must actually have been exercised, and episodes must not all die at once.
        Assert.True(faults > episodes, $"{faults} exceptions in {episodes} episodes");
        Assert.True(exits.GetValueOrDefault(CpuExitReason.InstructionLimit) > 0, Describe(exits));
    }

    private static string Describe(Dictionary<CpuExitReason, int> exits) =>
        string.Join(", ", exits.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}={kv.Value}"));

    private static void StartEpisode(H h, Random rng, int ring)
    {
        h.ResetMachine();
        InstallSkippingHandlers(h);
        uint cr4 = rng.Next(3) switch { 0 => 0, 1 => Cr4Bits.PSE, _ => Cr4Bits.PGE };
        h.EnablePaging(user: true, cr4: cr4, writeProtect: rng.Next(2) == 0);
        if (ring == 3)
        {
            // The kernel's own pages are supervisor-only, as a real OS would have them.
            Supervisor(h, 0, 0x1_0000);              // GDT, IDT, stubs, TSS
            Supervisor(h, 0x8_0000, 0x1_0000);        // ring-0 stack
            Supervisor(h, H.PageDirectoryBase, 0x10_0000);
            h.AllowPort(0x80);
            h.AllowPort(0x3F8);
        }

        var code = new byte[CodeBytes];
        FillCode(rng, code);
        h.Memory.Load(CodeArea, code);

        uint eip = CodeArea + (uint)rng.Next(0x1000);
        uint flags = EFlags.Reserved1 | ((uint)rng.Next() & (EFlags.Arith | EFlags.DF));
        uint stackTop = ring == 0 ? H.Ring0StackTop : H.Ring3StackTop;
        uint esp = stackTop - (uint)rng.Next(0x800) * 4;
        h.EnterRing(ring, eip, esp, flags);
        for (int r = 0; r < 8; r++)
        {
            if (r == Reg.Esp)
            {
                continue;
            }
            // Half the registers point into RAM, so memory operands often hit mapped pages.
            h.Cpu[r] = rng.Next(2) == 0 ? (uint)rng.Next((int)H.RamSize) : (uint)rng.NextInt64(1L << 32);
        }
    }

    private static void FillCode(Random rng, byte[] code)
    {
        rng.NextBytes(code);
        bool biased = rng.Next(3) == 0;
        if (!biased)
        {
            return;
        }
        for (int i = 0; i < code.Length - 4; i += 1 + rng.Next(6))
        {
            byte[] op = Interesting[rng.Next(Interesting.Length)];
            op.CopyTo(code, i);
        }
    }

    private static void Supervisor(H h, uint start, uint length)
    {
        for (uint a = start; a < start + length; a += 0x1000)
        {
            h.Map(a, a, H.PteP | H.PteRw);
        }
    }

    /// <summary>Every vector: drop the error code if there is one, step the saved EIP by one byte, IRETD.</summary>
    private static void InstallSkippingHandlers(H h)
    {
        for (int v = 0; v < 256; v++)
        {
            bool errorCode = v is Vectors.DF or Vectors.TS or Vectors.NP or Vectors.SS or Vectors.GP or Vectors.PF or Vectors.AC;
            byte[] stub = errorCode
                ? [0x83, 0xC4, 0x04, 0xFF, 0x04, 0x24, 0xCF] // add esp, 4; inc dword [esp]; iretd
                : [0xFF, 0x04, 0x24, 0xCF];
            h.Memory.Load(H.StubAddress(v), stub);
        }
    }
}
