namespace Vmi.Cpu;

/// <summary>CPUID feature bits (leaf 1 EDX/ECX, leaf 0x80000001 ECX) this project cares about.</summary>
public static class CpuidBits
{
    public const uint Fpu = 1u << 0, Vme = 1u << 1, De = 1u << 2, Pse = 1u << 3, Tsc = 1u << 4, Msr = 1u << 5;
    public const uint Pae = 1u << 6, Cx8 = 1u << 8, Apic = 1u << 9, Sep = 1u << 11, Pge = 1u << 13, Cmov = 1u << 15;
    public const uint Mmx = 1u << 23, Fxsr = 1u << 24, Sse = 1u << 25, Sse2 = 1u << 26;

    /// <summary>Leaf 1 ECX bit 5: VMX (Intel VT-x).</summary>
    public const uint Vmx = 1u << 5;

    /// <summary>Leaf 0x80000001 ECX bit 2: SVM (AMD-V).</summary>
    public const uint Svm = 1u << 2;

    /// <summary>Leaf 0x80000001 ECX bit 5: LZCNT (AMD's ABM). Without it F3 0F BD is BSR with an ignored prefix.</summary>
    public const uint Lzcnt = 1u << 5;

    /// <summary>Leaf 0x8000000A EDX bit 0: nested paging (AMD NPT); Intel reports EPT in VMX MSRs, modelled here the same way.</summary>
    public const uint NestedPaging = 1u << 0;

    /// <summary>
    /// What this emulator really executes. CPUID never claims more: the model's bits are ANDed with
    /// this, so a guest that trusts CPUID never meets an unimplemented instruction (x87 yes; no MMX,
    /// FXSAVE or SSE).
    /// </summary>
    public const uint ImplementedEdx = Fpu | De | Pse | Tsc | Msr | Cx8 | Sep | Pge | Cmov;

    /// <summary>Leaf 1 ECX features this emulator executes: none (no SSE3 and later, no VMX).</summary>
    public const uint ImplementedEcx = 0;

    /// <summary>
    /// Leaf 0x80000001 ECX features this emulator executes: LZCNT (no SVM). BMI1's TZCNT is not
    /// among them: it is reported in leaf 7, beyond the highest leaf (1) any model reports, so
    /// F3 0F BC is BSF on every model.
    /// </summary>
    public const uint ImplementedExtendedEcx = Lzcnt;
}

/// <summary>
/// A processor model: what CPUID reports (vendor, family/model/stepping, the features this emulator
/// implements) and which hardware-virtualization extensions the host it stands for has. Those
/// (<see cref="HardwareVirtualization"/>, <see cref="NestedPaging"/>) are for the hypervisors to
/// choose their ROMs by; the guest never sees them through CPUID, because the emulated CPU does not
/// execute VMX or SVM. Behaviour of the instructions does not vary by model.
/// </summary>
public sealed record CpuModel(
    string Name,
    string Vendor,
    string BrandString,
    int Family,
    int ModelNumber,
    int Stepping,
    uint FeaturesEdx,
    uint FeaturesEcx,
    uint ExtendedFeaturesEcx,
    bool HardwareVirtualization,
    bool NestedPaging,
    string Description)
{
    public bool IsIntel => Vendor == "GenuineIntel";

    public bool IsAmd => Vendor == "AuthenticAMD";

    /// <summary>EDX after RESET holds the processor signature, as on real parts.</summary>
    public uint ResetEdx => Signature;

    public uint Signature
    {
        get
        {
            int fam = Math.Min(Family, 0xF), extFam = Family > 0xF ? Family - 0xF : 0;
            int mod = ModelNumber & 0xF, extMod = (ModelNumber >> 4) & 0xF;
            return (uint)((extFam << 20) | (extMod << 16) | (fam << 8) | (mod << 4) | (Stepping & 0xF));
        }
    }

    /// <summary>Pentium 4 672 (Prescott 2M, 2006, first-generation VT-x): the host of Adams &amp; Agesen's measurements.</summary>
    public static readonly CpuModel Pentium4 = new(
        "pentium4-2006", "GenuineIntel", "Intel(R) Pentium(R) 4 CPU 3.80GHz", 0xF, 0x4, 3,
        0xBFEBFBFF, CpuidBits.Vmx | 0x0000_649D, 0, true, false,
        "Pentium 4 672, 3.8 GHz, VT-x without EPT (2006)");

    /// <summary>Opteron rev F (2006, AMD-V first generation, no nested paging yet).</summary>
    public static readonly CpuModel Opteron = new(
        "opteron-2006", "AuthenticAMD", "Dual-Core AMD Opteron(tm) Processor 2218", 0xF, 0x41, 2,
        0x178BFBFF, 0x0000_2001, CpuidBits.Svm | 0x0000_001B, true, false,
        "Opteron 2218 (rev F), AMD-V without nested paging (2006)");

    /// <summary>Opteron "Barcelona" (2007): the first AMD part with nested page tables.</summary>
    public static readonly CpuModel Barcelona = new(
        "barcelona-2007", "AuthenticAMD", "Quad-Core AMD Opteron(tm) Processor 2350", 0x10, 0x02, 3,
        0x178BFBFF, 0x0080_2009, CpuidBits.Svm | 0x0000_07FF, true, true,
        "Opteron 2350 (Barcelona), AMD-V with nested paging (2007)");

    /// <summary>A modern core with VT-x and EPT.</summary>
    public static readonly CpuModel Modern = new(
        "modern", "GenuineIntel", "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz", 6, 0x55, 7,
        0xBFEBFBFF, CpuidBits.Vmx | 0x7FFE_FBFF & ~(1u << 31), 0x0000_0121, true, true,
        "Cascade Lake Xeon, VT-x with EPT");

    /// <summary>A 486-class part without hardware virtualization, for guests that must run with none.</summary>
    public static readonly CpuModel Plain = new(
        "plain", "GenuineIntel", "vmi plain i686", 6, 0x1, 9,
        CpuidBits.ImplementedEdx, 0, 0, false, false,
        "generic i686 without virtualization extensions");

    public static IReadOnlyList<CpuModel> All { get; } = [Pentium4, Opteron, Barcelona, Modern, Plain];

    public static CpuModel? Find(string name) =>
        All.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase));
}
