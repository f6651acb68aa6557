using Iced.Intel;
using Vmi.Cpu.Decode;
using Vmi.Cpu.Fpu;

namespace Vmi.Cpu.Tests.Fpu;

/// <summary>
/// Runs an <see cref="X87Case"/> on the emulator's FPU the way the CPU does: Iced decodes the bytes
/// (32-bit mode), <see cref="UopBuilder"/> makes the µop, <see cref="X87UopRunner"/> executes it;
/// FRSTOR and FNSAVE are the emulator's own.
/// </summary>
public static class X87Emulation
{
    public static X87Result Run(X87Case c)
    {
        var decoder = Iced.Intel.Decoder.Create(32, new ByteArrayCodeReader(c.Code));
        decoder.IP = 0;
        decoder.Decode(out Instruction ins);
        Uop u = UopBuilder.Build(in ins);
        if (u.Op != Op.Fpu) throw new InvalidOperationException($"{ins} did not decode as an x87 µop ({u.Op})");

        var fpu = new X87Fpu();
        fpu.Restore(c.Image, X87Layout.Protected32);
        byte[] memory = (byte[])c.Memory.Clone();
        byte[] scratch = (byte[])c.Memory.Clone();
        X87Outcome outcome = X87UopRunner.Run(fpu, in u, scratch.AsSpan(0, Math.Min(u.Size == 0 ? 16 : u.Size, 16)), c.Eflags, protectedMode: true);
        if ((outcome & X87Outcome.WritesMemory) != 0) memory = scratch;
        uint eflags = c.Eflags;
        if ((outcome & X87Outcome.WritesEflags) != 0)
        {
            eflags = (eflags & ~EFlags.Arith) | fpu.ComparisonEflags;
        }
        byte[] image = new byte[X87Case.ImageSize];
        fpu.Save(image, X87Layout.Protected32);
        return new X87Result { Image = image, Memory = memory, Eflags = eflags & EFlags.Arith };
    }
}
