using Vmi.Cpu.Decode;

namespace Vmi.Cpu.Fpu;

/// <summary>Runs a decoded x87 µop on an <see cref="X87Fpu"/>: shared by the CPU and by tests that drive the FPU alone.</summary>
public static class X87UopRunner
{
    /// <param name="eflags">EFLAGS, read by FCMOVcc.</param>
    /// <param name="protectedMode">Selects the protected-mode environment layout (FNSTENV, FNSAVE and their loads).</param>
    public static X87Outcome Run(X87Fpu fpu, in Uop u, Span<byte> memory, uint eflags, bool protectedMode)
    {
        var op = (X87Op)u.Sub;
        int extra = op switch
        {
            X87Op.ConditionalMove => ConditionHolds(u.R, eflags) ? 1 : 0,
            X87Op.StoreEnvironment or X87Op.LoadEnvironment or X87Op.Save or X87Op.Restore =>
                (int)u.Imm | (protectedMode ? (int)X87Layout.Protected : 0),
            _ => (int)u.Imm,
        };
        return fpu.Execute(op, u.R, u.M, extra, (X87Format)u.Size2, memory);
    }

    /// <summary>The FCMOVcc conditions: B, E, BE, U (PF) and their negations, in the x86 cc encoding.</summary>
    private static bool ConditionHolds(int cc, uint eflags)
    {
        bool value = (cc & ~1) switch
        {
            0x2 => (eflags & EFlags.CF) != 0,
            0x4 => (eflags & EFlags.ZF) != 0,
            0x6 => (eflags & (EFlags.CF | EFlags.ZF)) != 0,
            _ => (eflags & EFlags.PF) != 0,
        };
        return (cc & 1) != 0 ? !value : value;
    }
}
