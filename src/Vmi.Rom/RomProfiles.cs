using Vmi.Abi;

namespace Vmi.Rom;

/// <summary>The built-in ROM profiles. Hypervisor backends add their own later.</summary>
public static class RomProfiles
{
    public const string NativeName = "native";
    public const string NopDemoName = "nop-demo";

    /// <summary>Default nominal clock reported by GetCycleFrequency (the machine's 1 GHz guest clock).</summary>
    public const ulong DefaultCyclesPerSecond = 1_000_000_000;

    public static IReadOnlyList<string> Names { get; } = [NativeName, NopDemoName];

    /// <summary>
    /// Calls whose sites can be dropped without changing what the kernel computes, on any machine:
    /// notifications to a hypervisor (page-table pages, lazy mode, PTE updates already written by
    /// the kernel), a delay, a cache flush with no caches to flush, and services a uniprocessor
    /// kernel without a hypervisor does not need. Everything returning a value stays native.
    /// </summary>
    public static IReadOnlySet<VmiCall> SafeToDrop { get; } = new HashSet<VmiCall>
    {
        VmiCall.UpdatePxE, VmiCall.UpdatePxELong, VmiCall.AllocatePage, VmiCall.ReleasePage,
        VmiCall.SetLazyMode, VmiCall.IoDelay, VmiCall.Wbinvd, VmiCall.SetLinearMapping,
        VmiCall.SetInitialApState, VmiCall.SetCallbacks,
    };

    /// <summary>Every call implemented by its native instruction(s) in the ROM (CALL_REL, JUMP_REL for IRET/SYSEXIT).</summary>
    public static VmiRom Native(ulong cyclesPerSecond = DefaultCyclesPerSecond)
    {
        var b = new RomBuilder(NativeName) { Product = "VMI native ROM (transparent paravirtualization)" };
        foreach (VmiCall call in VmiCalls.All)
        {
            b.Declare(call, CallSpec.Code(NativeStubs.For(call, cyclesPerSecond), jump: VmiCalls.NeverReturns(call)));
        }
        return b.Build();
    }

    /// <summary>NOP for the calls that are safe to drop, NONE (native instruction kept) for the rest.</summary>
    public static VmiRom NopDemo()
    {
        var b = new RomBuilder(NopDemoName) { Product = "VMI nop-demo ROM" };
        foreach (VmiCall call in VmiCalls.All)
        {
            b.Declare(call, SafeToDrop.Contains(call) ? CallSpec.Nop : CallSpec.Native);
        }
        return b.Build();
    }

    public static VmiRom? Build(string name) => name.ToLowerInvariant() switch
    {
        NativeName => Native(),
        NopDemoName => NopDemo(),
        _ => null,
    };
}
