using Iced.Intel;
using Vmi.Abi;

namespace Vmi.Rom;

/// <summary>What a hypervisor wants the kernel to do at every site of one VMI call.</summary>
public abstract record CallSpec
{
    /// <summary>Keep the native instruction (relocation type NONE): the hardware handles it well here.</summary>
    public static readonly CallSpec Native = new NativeSpec();

    /// <summary>Fill the site with NOPs (relocation type NOP): the operation is unnecessary here.</summary>
    public static readonly CallSpec Nop = new NopSpec();

    /// <summary>Call into ROM code (CALL_REL), or jump to it (JUMP_REL, only for calls that never return).</summary>
    public static CallSpec Code(Action<Assembler> emit, bool jump = false) => new CodeSpec(emit, jump);

    public abstract RelocationType Type { get; }

    private sealed record NativeSpec : CallSpec
    {
        public override RelocationType Type => RelocationType.None;
    }

    private sealed record NopSpec : CallSpec
    {
        public override RelocationType Type => RelocationType.Nop;
    }
}

/// <summary>ROM code for one call: emitted into 32-bit, position-independent code by <see cref="Emit"/>.</summary>
public sealed record CodeSpec(Action<Assembler> Emit, bool Jump) : CallSpec
{
    public override RelocationType Type => Jump ? RelocationType.JumpRel : RelocationType.CallRel;
}
