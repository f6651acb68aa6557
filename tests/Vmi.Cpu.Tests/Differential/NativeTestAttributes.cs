namespace Vmi.Cpu.Tests.Differential;

// xunit 2 has no runtime skip, so the skip decision is made when the attribute is constructed: on a host that
// cannot run the oracle the tests show up as skipped with the reason, instead of silently passing.

/// <summary>A fact that needs <see cref="NativeOracle"/>; skipped with a reason where it cannot run.</summary>
public sealed class NativeFactAttribute : FactAttribute
{
    public NativeFactAttribute()
    {
        if (!NativeOracle.IsSupported) Skip = NativeTestAttributes.Reason;
    }
}

/// <summary>A theory that needs <see cref="NativeOracle"/>; skipped with a reason where it cannot run.</summary>
public sealed class NativeTheoryAttribute : TheoryAttribute
{
    public NativeTheoryAttribute()
    {
        if (!NativeOracle.IsSupported) Skip = NativeTestAttributes.Reason;
    }
}

internal static class NativeTestAttributes
{
    public const string Reason =
        "Differential tests run instructions on the host CPU: they need x86-64 Linux with an executable mmap page, " +
        "and VMI_NO_NATIVE_ORACLE unset.";
}
