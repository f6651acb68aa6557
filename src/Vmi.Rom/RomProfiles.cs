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

    /// <summary>
    /// Calls the native profile leaves native (NONE) although it has stubs for them: the timer calls,
    /// because a ROM without a hypervisor cannot deliver an alarm (answering CALL_REL for
    /// GetCycleFrequency moves Linux's clock events to SetAlarm, which would never fire), and the local
    /// APIC calls, because only the kernel knows where it mapped the APIC (the stub reaches its
    /// physical base, right only with paging off or an identity mapping).
    /// </summary>
    public static IReadOnlySet<VmiCall> KeptNative { get; } = new HashSet<VmiCall>(LinuxClientRules.TimerCalls) { VmiCall.ApicRead, VmiCall.ApicWrite };

    /// <summary>Every call as its native stub: CALL_REL, JUMP_REL for IRET/SYSEXIT (what the native-stub tests run).</summary>
    public static VmiRom AllStubs(ulong cyclesPerSecond = DefaultCyclesPerSecond, uint apicBase = NativeStubs.DefaultApicBase)
    {
        var b = new RomBuilder(NativeName) { Product = "VMI native ROM (every call a stub)" };
        foreach (VmiCall call in VmiCalls.All)
        {
            b.Declare(call, Stub(call, cyclesPerSecond, apicBase));
        }
        return b.Build();
    }

    /// <summary>
    /// Transparent paravirtualization: every call implemented by its native instruction(s) in the ROM
    /// (CALL_REL, JUMP_REL for IRET/SYSEXIT), except <see cref="KeptNative"/> (NONE).
    /// </summary>
    public static VmiRom Native(ulong cyclesPerSecond = DefaultCyclesPerSecond)
    {
        var b = new RomBuilder(NativeName) { Product = "VMI native ROM (transparent paravirtualization)" };
        foreach (VmiCall call in VmiCalls.All)
        {
            b.Declare(call, KeptNative.Contains(call) ? CallSpec.Native : Stub(call, cyclesPerSecond, NativeStubs.DefaultApicBase));
        }
        return b.Build();
    }

    /// <summary>
    /// NOP for the calls that are safe to drop, NONE (native instruction kept) for the rest, except
    /// IRET and SYSEXIT: Linux poisons their native fallbacks, so they jump to stubs that execute them.
    /// </summary>
    public static VmiRom NopDemo()
    {
        var b = new RomBuilder(NopDemoName) { Product = "VMI nop-demo ROM" };
        foreach (VmiCall call in VmiCalls.All)
        {
            b.Declare(call, VmiCalls.NeverReturns(call) ? Stub(call, DefaultCyclesPerSecond, NativeStubs.DefaultApicBase)
                : SafeToDrop.Contains(call) ? CallSpec.Nop
                : CallSpec.Native);
        }
        return b.Build();
    }

    private static CallSpec Stub(VmiCall call, ulong cyclesPerSecond, uint apicBase) =>
        CallSpec.Code(NativeStubs.For(call, cyclesPerSecond, apicBase), jump: VmiCalls.NeverReturns(call));

    public static VmiRom? Build(string name) => name.ToLowerInvariant() switch
    {
        NativeName => Native(),
        NopDemoName => NopDemo(),
        _ => null,
    };
}
