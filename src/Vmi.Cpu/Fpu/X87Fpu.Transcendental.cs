namespace Vmi.Cpu.Fpu;

public sealed partial class X87Fpu
{
    private void Transcendental(int kind)
    {
        // Filled in with the transcendental functions.
        _ = kind;
        if (StackFault(overflow: false)) Write(0, Float80.Indefinite);
    }
}
