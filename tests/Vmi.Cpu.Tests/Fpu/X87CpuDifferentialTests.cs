using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests.Fpu;

/// <summary>
/// The differential cases again, but executed by the whole emulated CPU — FRSTOR, the instruction,
/// FNSAVE and PUSHFD as a guest program — so decoding, memory operands, EFLAGS and the save image
/// layout are the CPU's own and are checked against the host too.
/// </summary>
public sealed class X87CpuDifferentialTests
{
    private const uint Image = H.DataBase, Saved = H.DataBase + 0x100, Operand = H.DataBase + 0x200, FlagsIn = H.DataBase + 0x300;

    public static TheoryData<string> Instructions => new(
    [
        "fadd m32", "fdivr m64", "fidivr m16", "fcomp m64", "fld m32", "fbld", "fstp m32", "fst m64", "fistp m64", "fbstp",
        "fucomip st1", "fcmovbe st1", "fprem", "fsubrp st1", "fnstcw", "fldcw", "fsincos", "fyl2x",
    ]);

    [X87OracleTheory]
    [MemberData(nameof(Instructions))]
    public void The_emulated_cpu_matches_the_host_x87(string name)
    {
        X87Instruction instruction = X87Catalog.Find(name);
        List<X87Case> cases = X87CaseBuilder.Build(instruction, 300, X87CaseBuilder.Seed(name) + 7);
        X87Result[] expected = X87Oracle.Run(cases);

        var h = new H();
        var a = new Assembler(32);
        a.mov(edx, Operand);
        a.push(__dword_ptr[FlagsIn]);
        a.popfd();
        a.frstor(__dword_ptr[Image]);
        a.db(instruction.Encode());
        a.fnsave(__dword_ptr[Saved]);
        a.pushfd();
        a.pop(eax);
        a.hlt();
        h.Load(a);
        Assert.True(h.Cpu.TrySetControlRegister(0, h.Cpu.Cr0 | Cr0Bits.NE));

        var differences = new List<string>();
        int failures = 0;
        for (int i = 0; i < cases.Count; i++)
        {
            X87Case c = cases[i];
            h.Memory.Load(Image, c.Image);
            h.Memory.Load(Operand, c.Memory);
            h.Memory.Write32(FlagsIn, c.Eflags | EFlags.Reserved1);
            h.Restart(H.CodeBase);
            h.Cpu.Esp = H.Ring0StackTop;
            h.RunUntilHalt();
            byte[] image = new byte[X87Case.ImageSize];
            byte[] memory = new byte[16];
            for (int k = 0; k < image.Length; k++) image[k] = h.Memory.Read8(Saved + (uint)k);
            for (int k = 0; k < memory.Length; k++) memory[k] = h.Memory.Read8(Operand + (uint)k);
            var actual = new X87Result { Image = image, Memory = memory, Eflags = h.Cpu.Eax & EFlags.Arith };
            string? d = X87Comparer.Difference(instruction, c, expected[i], actual);
            if (d is null) continue;
            failures++;
            if (differences.Count < 8) differences.Add(d);
        }
        Assert.Equal(H.NoVector, h.LastVector);
        Assert.True(failures == 0, $"{failures} of {cases.Count} cases differ from the host:\n{string.Join('\n', differences)}");
    }
}
