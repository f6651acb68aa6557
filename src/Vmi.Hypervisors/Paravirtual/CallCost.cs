using Vmi.Abi;

namespace Vmi.Hypervisors.Paravirtual;

/// <summary>
/// What one VMI call's native instruction(s) cost under a backend, in cycles of its cost profile;
/// <see cref="Incorrect"/> when the native form would run but do the wrong thing there (a
/// non-trapping sensitive instruction executed directly by a de-privileged kernel).
/// </summary>
public readonly record struct CallCost(long Cycles)
{
    public static readonly CallCost Incorrect = new(long.MaxValue);

    public static readonly CallCost Free = new(0);

    public bool IsIncorrect => Cycles == long.MaxValue;
}

/// <summary>What a backend knows about its own costs, for deciding its ROM's answers.</summary>
public interface IParavirtualCosts
{
    /// <summary>The native instruction(s) of <paramref name="call"/> run by the kernel under this backend.</summary>
    CallCost Native(VmiCall call);

    /// <summary>One hypercall, whichever call it carries (the trap or exit, plus its handling).</summary>
    long Hypercall { get; }

    /// <summary>Whether this backend implements <paramref name="call"/> as a hypercall.</summary>
    bool CanHypercall(VmiCall call);
}
