using Iced.Intel;
using Vmi.Cpu.Decode;

namespace Vmi.Cpu;

/// <summary>
/// Flag instructions, CLI/STI, HLT, CPUID, RDTSC and MSRs, and the intercept hook. The other
/// system instructions live beside this file (PortIo, DescriptorTables, ControlRegisters,
/// FastSystemCalls). Every privileged or sensitive one passes through <see cref="Intercept"/>
/// when a hypervisor is attached.
/// </summary>
public sealed unsafe partial class Cpu
{
    internal const uint MsrTsc = 0x10, MsrApicBase = 0x1B, MsrMicrocodeRevision = 0x8B, MsrSysenterCs = 0x174, MsrSysenterEsp = 0x175, MsrSysenterEip = 0x176;

    private bool PrivilegedOk => !ProtectedMode || Cpl == 0;

    internal int FlagOpHandler(ref Uop u)
    {
        switch (u.Sub)
        {
            case 0: MergeArithFlags(EFlags.CF, 0); break;
            case 1: MergeArithFlags(EFlags.CF, EFlags.CF); break;
            case 2: MergeArithFlags(EFlags.CF, CF ? 0 : EFlags.CF); break;
            case 3: flagsRest &= ~EFlags.DF; break;
            default: flagsRest |= EFlags.DF; break;
        }
        return Status.Next;
    }

    /// <summary>CLI/STI fault with #GP(0) when CPL &gt; IOPL (no VME/PVI in this CPU).</summary>
    internal int Cli(ref Uop u)
    {
        if (ProtectedMode && Cpl > Iopl) return PrivilegeFault(Describe(SensitiveOp.Cli, ref u));
        if (Wants(SensitiveOp.Cli) && Intercept(SensitiveOp.Cli, ref u) is int st) return st;
        flagsRest &= ~EFlags.IF;
        return Status.Next;
    }

    internal int Sti(ref Uop u)
    {
        if (ProtectedMode && Cpl > Iopl) return PrivilegeFault(Describe(SensitiveOp.Sti, ref u));
        if (Wants(SensitiveOp.Sti) && Intercept(SensitiveOp.Sti, ref u) is int st) return st;
        // STI delays interrupt recognition by one instruction (so "sti; hlt" cannot miss a wakeup).
        if (!IF) interruptShadow = true;
        flagsRest |= EFlags.IF;
        return Status.Next;
    }

    internal int Hlt(ref Uop u)
    {
        if (!PrivilegedOk) return PrivilegeFault(Describe(SensitiveOp.Hlt, ref u));
        if (Wants(SensitiveOp.Hlt) && Intercept(SensitiveOp.Hlt, ref u) is int st) return st;
        Halted = true;
        Eip = NextEip(ref u);
        return Status.Exit;
    }

    internal int Cpuid(ref Uop u)
    {
        if (Wants(SensitiveOp.Cpuid) && Intercept(Describe(SensitiveOp.Cpuid, ref u) with { Value = R(Reg.Eax), ValueHigh = R(Reg.Ecx) }) is int st) return st;
        CpuidResult(R(Reg.Eax), R(Reg.Ecx), out uint a, out uint b, out uint c, out uint d);
        R(Reg.Eax) = a;
        R(Reg.Ebx) = b;
        R(Reg.Ecx) = c;
        R(Reg.Edx) = d;
        return Status.Next;
    }

    /// <summary>
    /// What CPUID returns on this model. No leaf this CPU reports depends on the subleaf in ECX;
    /// the parameter is there for the ones that will.
    /// </summary>
    public void CpuidResult(uint leaf, uint subleaf, out uint eax, out uint ebx, out uint ecx, out uint edx) =>
        CpuidOf(Model, leaf, subleaf, out eax, out ebx, out ecx, out edx);

    /// <summary>What CPUID returns on a CPU of model <paramref name="m"/> (a hypervisor builds its ROM's CPUID table from this).</summary>
#pragma warning disable IDE0060 // subleaf: part of the CPUID contract
    public static void CpuidOf(CpuModel m, uint leaf, uint subleaf, out uint eax, out uint ebx, out uint ecx, out uint edx)
#pragma warning restore IDE0060
    {
        eax = ebx = ecx = edx = 0;
        switch (leaf)
        {
            case 0:
                eax = 1;
                VendorRegisters(m.Vendor, out ebx, out edx, out ecx);
                break;
            case 1:
                eax = m.Signature;
                ebx = 0x0001_0800; // one logical processor, CLFLUSH line 8 quadwords
                // No ECX feature is implemented (no SSE3+, and no VMX: VMXON is #UD here). The model's
                // virtualization extensions describe the host a hypervisor runs on, not this CPU.
                ecx = m.FeaturesEcx & CpuidBits.ImplementedEcx;
                edx = m.FeaturesEdx & CpuidBits.ImplementedEdx;
                break;
            case 0x8000_0000:
                eax = 0x8000_0004u;
                if (m.IsAmd) VendorRegisters(m.Vendor, out ebx, out edx, out ecx);
                break;
            case 0x8000_0001:
                // No SVM either (VMRUN is #UD); nested paging (leaf 0x8000000A) is not reported for the same reason.
                eax = m.Signature;
                ecx = m.ExtendedFeaturesEcx & CpuidBits.ImplementedExtendedEcx;
                break;
            case >= 0x8000_0002 and <= 0x8000_0004:
                {
                    Span<byte> brand = stackalloc byte[48];
                    System.Text.Encoding.ASCII.GetBytes(m.BrandString.AsSpan(0, Math.Min(47, m.BrandString.Length)), brand);
                    int o = (int)(leaf - 0x8000_0002) * 16;
                    eax = BitConverter.ToUInt32(brand[o..]);
                    ebx = BitConverter.ToUInt32(brand[(o + 4)..]);
                    ecx = BitConverter.ToUInt32(brand[(o + 8)..]);
                    edx = BitConverter.ToUInt32(brand[(o + 12)..]);
                    break;
                }
        }
    }

    private static void VendorRegisters(string vendor, out uint ebx, out uint edx, out uint ecx)
    {
        Span<byte> v = stackalloc byte[12];
        System.Text.Encoding.ASCII.GetBytes(vendor.AsSpan(0, 12), v);
        ebx = BitConverter.ToUInt32(v);
        edx = BitConverter.ToUInt32(v[4..]);
        ecx = BitConverter.ToUInt32(v[8..]);
    }

    internal int Rdtsc(ref Uop u)
    {
        if ((Cr4Value & Cr4Bits.TSD) != 0 && !PrivilegedOk) return PrivilegeFault(Describe(SensitiveOp.Rdtsc, ref u));
        if (Wants(SensitiveOp.Rdtsc) && Intercept(SensitiveOp.Rdtsc, ref u) is int st) return st;
        ulong tsc = Platform.TimestampCounter + tscOffset;
        R(Reg.Eax) = (uint)tsc;
        R(Reg.Edx) = (uint)(tsc >> 32);
        return Status.Next;
    }

    /// <summary>Added to the platform's time base by WRMSR to the TSC.</summary>
    private ulong tscOffset;

    /// <summary>This CPU has no performance counters, so every counter number in ECX is invalid: #GP(0).</summary>
    internal int Rdpmc(ref Uop u) => FaultGp();

    internal int Rdmsr(ref Uop u)
    {
        SensitiveEvent e = Describe(SensitiveOp.Rdmsr, ref u) with { Operand = R(Reg.Ecx) };
        if (!PrivilegedOk) return PrivilegeFault(e);
        if (Wants(SensitiveOp.Rdmsr) && Intercept(e) is int st) return st;
        if (!TryReadMsr(R(Reg.Ecx), out ulong v)) return FaultGp();
        R(Reg.Eax) = (uint)v;
        R(Reg.Edx) = (uint)(v >> 32);
        return Status.Next;
    }

    internal int Wrmsr(ref Uop u)
    {
        SensitiveEvent e = Describe(SensitiveOp.Wrmsr, ref u) with { Operand = R(Reg.Ecx), Value = R(Reg.Eax), ValueHigh = R(Reg.Edx) };
        if (!PrivilegedOk) return PrivilegeFault(e);
        if (Wants(SensitiveOp.Wrmsr) && Intercept(e) is int st) return st;
        return TryWriteMsr(R(Reg.Ecx), ((ulong)R(Reg.Edx) << 32) | R(Reg.Eax)) ? Status.Next : FaultGp();
    }

    public bool TryReadMsr(uint index, out ulong value)
    {
        switch (index)
        {
            case MsrTsc: value = Platform.TimestampCounter + tscOffset; return true;
            case MsrSysenterCs: value = SysenterCs; return true;
            case MsrSysenterEsp: value = SysenterEsp; return true;
            case MsrSysenterEip: value = SysenterEip; return true;
            // IA32_BIOS_SIGN_ID (Intel) / PATCH_LEVEL (AMD): no microcode update was loaded. Linux's
            // early microcode loader reads it with paging off and no IDT, so a #GP here is a triple fault.
            case MsrMicrocodeRevision: value = 0; return true;
            default: value = 0; return false;
        }
    }

    public bool TryWriteMsr(uint index, ulong value)
    {
        switch (index)
        {
            case MsrTsc: tscOffset = value - Platform.TimestampCounter; return true;
            case MsrSysenterCs: SysenterCs = (uint)value & 0xFFFF; return true;
            case MsrSysenterEsp: SysenterEsp = (uint)value; return true;
            case MsrSysenterEip: SysenterEip = (uint)value; return true;
            case MsrMicrocodeRevision: return true; // Intel's "clear before CPUID" write; the revision stays 0 (QEMU ignores it too)
            default: return false;
        }
    }
}
