using Iced.Intel;
using Vmi.Cpu.Decode;

namespace Vmi.Cpu;

/// <summary>
/// Flag instructions, CLI/STI, HLT, CPUID, RDTSC, MSRs, port I/O, descriptor-table and control
/// register instructions, SYSENTER/SYSEXIT, and the instructions we refuse (#UD, #NM).
/// Every privileged or sensitive one passes through <see cref="Intercept"/> when a hypervisor
/// is attached.
/// </summary>
public sealed unsafe partial class Cpu
{
    internal const uint MsrTsc = 0x10, MsrApicBase = 0x1B, MsrSysenterCs = 0x174, MsrSysenterEsp = 0x175, MsrSysenterEip = 0x176;

    /// <summary>Asks the hypervisor about an instruction; null means "do what the hardware does".</summary>
    internal int? Intercept(SensitiveOp op, ref Uop u, uint operand)
    {
        var e = new SensitiveEvent(op, Eip, Cpl, (Code)u.Code, operand);
        switch (Intercepts!.OnInstruction(this, in e))
        {
            case InterceptAction.Default: return null;
            case InterceptAction.Handled: return Status.Next;
            case InterceptAction.Resume: return Status.Jump;
            default:
                RequestStop(CpuExitReason.InterceptStop, $"stopped by the hypervisor at {op} (eip 0x{Eip:X8})");
                return Status.Abort;
        }
    }

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
        if (Intercepts != null && Intercept(SensitiveOp.Cli, ref u, 0) is int st) return st;
        if (ProtectedMode && Cpl > Iopl) return FaultGp();
        flagsRest &= ~EFlags.IF;
        return Status.Next;
    }

    internal int Sti(ref Uop u)
    {
        if (Intercepts != null && Intercept(SensitiveOp.Sti, ref u, 0) is int st) return st;
        if (ProtectedMode && Cpl > Iopl) return FaultGp();
        // STI delays interrupt recognition by one instruction (so "sti; hlt" cannot miss a wakeup).
        if (!IF) interruptShadow = true;
        flagsRest |= EFlags.IF;
        return Status.Next;
    }

    internal int Hlt(ref Uop u)
    {
        if (!PrivilegedOk) return FaultGp();
        if (Intercepts != null && Intercept(SensitiveOp.Hlt, ref u, 0) is int st) return st;
        Halted = true;
        Eip = NextEip(ref u);
        return Status.Exit;
    }

    internal int Cpuid(ref Uop u)
    {
        if (Intercepts != null && Intercept(SensitiveOp.Cpuid, ref u, R(Reg.Eax)) is int st) return st;
        CpuidResult(R(Reg.Eax), R(Reg.Ecx), out uint a, out uint b, out uint c, out uint d);
        R(Reg.Eax) = a;
        R(Reg.Ebx) = b;
        R(Reg.Ecx) = c;
        R(Reg.Edx) = d;
        return Status.Next;
    }

    /// <summary>
    /// What CPUID returns on this model (also used by hypervisors to build their tables). No leaf
    /// this CPU reports depends on the subleaf in ECX; the parameter is there for the ones that will.
    /// </summary>
#pragma warning disable IDE0060 // subleaf: part of the CPUID contract
    public void CpuidResult(uint leaf, uint subleaf, out uint eax, out uint ebx, out uint ecx, out uint edx)
#pragma warning restore IDE0060
    {
        eax = ebx = ecx = edx = 0;
        CpuModel m = Model;
        switch (leaf)
        {
            case 0:
                eax = 1;
                VendorRegisters(m.Vendor, out ebx, out edx, out ecx);
                break;
            case 1:
                eax = m.Signature;
                ebx = 0x0001_0800; // one logical processor, CLFLUSH line 8 quadwords
                ecx = m.FeaturesEcx & (m.HardwareVirtualization && m.IsIntel ? CpuidBits.Vmx : 0);
                edx = m.FeaturesEdx & CpuidBits.ImplementedEdx;
                break;
            case 0x8000_0000:
                eax = m.NestedPaging && m.IsAmd ? 0x8000_000Au : 0x8000_0004u;
                if (m.IsAmd) VendorRegisters(m.Vendor, out ebx, out edx, out ecx);
                break;
            case 0x8000_0001:
                eax = m.Signature;
                ecx = m.IsAmd && m.HardwareVirtualization ? CpuidBits.Svm : 0;
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
            case 0x8000_000A when m.IsAmd && m.NestedPaging:
                eax = 1;
                ebx = 64;
                edx = CpuidBits.NestedPaging;
                break;
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
        if ((Cr4Value & Cr4Bits.TSD) != 0 && !PrivilegedOk) return FaultGp();
        if (Intercepts != null && Intercept(SensitiveOp.Rdtsc, ref u, 0) is int st) return st;
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
        if (!PrivilegedOk) return FaultGp();
        if (Intercepts != null && Intercept(SensitiveOp.Rdmsr, ref u, R(Reg.Ecx)) is int st) return st;
        if (!TryReadMsr(R(Reg.Ecx), out ulong v)) return FaultGp();
        R(Reg.Eax) = (uint)v;
        R(Reg.Edx) = (uint)(v >> 32);
        return Status.Next;
    }

    internal int Wrmsr(ref Uop u)
    {
        if (!PrivilegedOk) return FaultGp();
        if (Intercepts != null && Intercept(SensitiveOp.Wrmsr, ref u, R(Reg.Ecx)) is int st) return st;
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
            default: return false;
        }
    }

    // ---- port I/O ------------------------------------------------------------------------

    /// <summary>
    /// The protected-mode I/O permission rule: at CPL &gt; IOPL every byte of the access must have
    /// a clear bit in the TSS I/O bitmap (and the bitmap must lie within the TSS limit).
    /// </summary>
    internal bool CheckIoPermission(ushort port, int size)
    {
        if (!ProtectedMode || Cpl <= Iopl) return true;
        if ((Tr.Type & 0x7) != 1 && (Tr.Type & 0xF) != 0x9 && (Tr.Type & 0xF) != 0xB || Tr.Limit < 0x67)
        {
            Fault(Vectors.GP, 0, true);
            return false;
        }
        if (!ReadSys(Tr.Base + 0x66, 2, out uint mapBase)) return false;
        uint byteOffset = mapBase + (uint)(port >> 3);
        if (byteOffset + 1 > Tr.Limit)
        {
            Fault(Vectors.GP, 0, true);
            return false;
        }
        if (!ReadSys(Tr.Base + byteOffset, 2, out uint bits)) return false;
        uint mask = ((1u << size) - 1) << (port & 7);
        if ((bits & mask) != 0)
        {
            Fault(Vectors.GP, 0, true);
            return false;
        }
        return true;
    }

    internal uint PortIn(ushort port, int size)
    {
        Counters.PortReads++;
        return Platform.PortRead(port, size) & SizeMask(size);
    }

    internal void PortOut(ushort port, int size, uint value)
    {
        Counters.PortWrites++;
        Platform.PortWrite(port, size, value & SizeMask(size));
    }

    internal int In(ref Uop u)
    {
        ushort port = (u.Flags & UopFlags.HasImm) != 0 ? (ushort)u.Imm : (ushort)R(Reg.Edx);
        if (!CheckIoPermission(port, u.Size)) return Status.Fault;
        if (Intercepts != null && Intercept(SensitiveOp.PortIn, ref u, port) is int st) return st;
        SetReg(u.Size, Reg.Eax, PortIn(port, u.Size));
        return Status.Next;
    }

    internal int Out(ref Uop u)
    {
        ushort port = (u.Flags & UopFlags.HasImm) != 0 ? (ushort)u.Imm : (ushort)R(Reg.Edx);
        if (!CheckIoPermission(port, u.Size)) return Status.Fault;
        if (Intercepts != null && Intercept(SensitiveOp.PortOut, ref u, port) is int st) return st;
        PortOut(port, u.Size, GetReg(u.Size, Reg.Eax));
        return Status.Next;
    }

    // ---- descriptor tables ---------------------------------------------------------------

    internal int LoadTableRegister(ref Uop u, bool idt)
    {
        if (!u.IsMem) return FaultUd();
        if (!PrivilegedOk) return FaultGp();
        if (Intercepts != null && Intercept(idt ? SensitiveOp.Lidt : SensitiveOp.Lgdt, ref u, 0) is int st) return st;
        uint off = Ea(ref u);
        if (!ReadSeg(u.Seg, off, 2, out uint limit) || !ReadSeg(u.Seg, off + 2, 4, out uint b)) return Status.Fault;
        if (u.Size == 2) b &= 0x00FF_FFFF; // 16-bit operand size loads a 24-bit base
        if (idt)
        {
            Idtr.Base = b;
            Idtr.Limit = limit;
        }
        else
        {
            Gdtr.Base = b;
            Gdtr.Limit = limit;
        }
        return Status.Next;
    }

    /// <summary>SGDT/SIDT work at any CPL: another non-trapping sensitive instruction of the i386.</summary>
    internal int StoreTableRegister(ref Uop u, bool idt)
    {
        if (!u.IsMem) return FaultUd();
        if (Intercepts != null && Intercept(idt ? SensitiveOp.Sidt : SensitiveOp.Sgdt, ref u, 0) is int st) return st;
        TableRegister t = idt ? Idtr : Gdtr;
        uint off = Ea(ref u);
        if (!ProbeWriteSeg(u.Seg, off, 2) || !ProbeWriteSeg(u.Seg, off + 2, 4)) return Status.Fault;
        if (!WriteSeg(u.Seg, off, 2, t.Limit) || !WriteSeg(u.Seg, off + 2, 4, t.Base)) return Status.Fault;
        return Status.Next;
    }

    internal int Lldt(ref Uop u)
    {
        if (!ProtectedMode) return FaultUd();
        if (Cpl != 0) return FaultGp();
        if (!ReadRm(ref u, 2, out uint sel)) return Status.Fault;
        if (Intercepts != null && Intercept(SensitiveOp.Lldt, ref u, sel) is int st) return st;
        return LoadLdt((ushort)sel);
    }

    internal int Ltr(ref Uop u)
    {
        if (!ProtectedMode) return FaultUd();
        if (Cpl != 0) return FaultGp();
        if (!ReadRm(ref u, 2, out uint sel)) return Status.Fault;
        if (Intercepts != null && Intercept(SensitiveOp.Ltr, ref u, sel) is int st) return st;
        return LoadTaskRegister((ushort)sel);
    }

    internal int Sldt(ref Uop u)
    {
        if (!ProtectedMode) return FaultUd();
        if (Intercepts != null && Intercept(SensitiveOp.Sldt, ref u, 0) is int st) return st;
        return WriteRm(ref u, u.IsMem ? 2 : u.Size, Ldtr.Selector) ? Status.Next : Status.Fault;
    }

    internal int Str(ref Uop u)
    {
        if (!ProtectedMode) return FaultUd();
        if (Intercepts != null && Intercept(SensitiveOp.Str, ref u, 0) is int st) return st;
        return WriteRm(ref u, u.IsMem ? 2 : u.Size, Tr.Selector) ? Status.Next : Status.Fault;
    }

    /// <summary>SMSW works at any CPL and shows CR0's low word, including PE and TS.</summary>
    internal int Smsw(ref Uop u)
    {
        if (Intercepts != null && Intercept(SensitiveOp.Smsw, ref u, 0) is int st) return st;
        return WriteRm(ref u, u.IsMem ? 2 : u.Size, u.IsMem ? Cr0Value & 0xFFFF : Cr0Value) ? Status.Next : Status.Fault;
    }

    /// <summary>LMSW changes only PE, MP, EM, TS, and cannot clear PE.</summary>
    internal int Lmsw(ref Uop u)
    {
        if (!PrivilegedOk) return FaultGp();
        if (!ReadRm(ref u, 2, out uint v)) return Status.Fault;
        if (Intercepts != null && Intercept(SensitiveOp.Lmsw, ref u, v) is int st) return st;
        uint mask = Cr0Bits.MP | Cr0Bits.EM | Cr0Bits.TS;
        uint newCr0 = (Cr0Value & ~mask) | (v & mask) | (v & Cr0Bits.PE);
        return WriteCr0(newCr0);
    }

    // ---- control and debug registers -------------------------------------------------------

    internal int MovToCr(ref Uop u)
    {
        if (!PrivilegedOk) return FaultGp();
        uint v = R(u.M);
        if (Intercepts != null && Intercept(SensitiveOp.MovToCr, ref u, u.R) is int st) return st;
        switch (u.R)
        {
            case 0: return WriteCr0(v);
            case 2: Cr2 = v; return Status.Next;
            case 3: return WriteCr3(v);
            case 4: return WriteCr4(v);
            default: return FaultUd();
        }
    }

    internal int MovFromCr(ref Uop u)
    {
        if (!PrivilegedOk) return FaultGp();
        if (Intercepts != null && Intercept(SensitiveOp.MovFromCr, ref u, u.R) is int st) return st;
        switch (u.R)
        {
            case 0: R(u.M) = Cr0Value; break;
            case 2: R(u.M) = Cr2; break;
            case 3: R(u.M) = Cr3Value; break;
            case 4: R(u.M) = Cr4Value; break;
            default: return FaultUd();
        }
        return Status.Next;
    }

    /// <summary>Writes CR0 with the architectural checks; flushes the TLB when PG, WP or PE change.</summary>
    public int WriteCr0(uint v)
    {
        v |= Cr0Bits.ET;
        if ((v & Cr0Bits.PG) != 0 && (v & Cr0Bits.PE) == 0) return FaultGp();
        if ((v & Cr0Bits.NW) != 0 && (v & Cr0Bits.CD) == 0) return FaultGp();
        uint changed = Cr0Value ^ v;
        Cr0Value = v;
        if ((changed & (Cr0Bits.PG | Cr0Bits.WP | Cr0Bits.PE)) != 0)
        {
            FlushTlbAll();
        }
        if ((changed & Cr0Bits.PE) != 0)
        {
            SetCpl(ProtectedMode ? segs[SegReg.Cs].Selector & 3 : 0);
            RecomputeSegFast();
        }
        return Status.Next;
    }

    public int WriteCr3(uint v)
    {
        Cr3Value = v;
        FlushTlb(keepGlobal: true);
        return Status.Next;
    }

    public int WriteCr4(uint v)
    {
        const uint supported = Cr4Bits.VME | Cr4Bits.PVI | Cr4Bits.TSD | Cr4Bits.DE | Cr4Bits.PSE
            | Cr4Bits.PGE | Cr4Bits.PCE | Cr4Bits.MCE;
        // PAE is not implemented: setting it (or any unknown bit) raises #GP(0) as reserved bits do.
        if ((v & ~supported) != 0) return FaultGp();
        uint changed = Cr4Value ^ v;
        Cr4Value = v;
        if ((changed & (Cr4Bits.PSE | Cr4Bits.PGE)) != 0) FlushTlbAll();
        return Status.Next;
    }

    internal int MovToDr(ref Uop u)
    {
        if (!PrivilegedOk) return FaultGp();
        if (Intercepts != null && Intercept(SensitiveOp.MovToDr, ref u, u.R) is int st) return st;
        int n = u.R;
        if ((n == 4 || n == 5) && (Cr4Value & Cr4Bits.DE) != 0) return FaultUd();
        if (n > 7) return FaultUd();
        Dr[n is 4 ? 6 : n is 5 ? 7 : n] = R(u.M);
        return Status.Next;
    }

    internal int MovFromDr(ref Uop u)
    {
        if (!PrivilegedOk) return FaultGp();
        if (Intercepts != null && Intercept(SensitiveOp.MovFromDr, ref u, u.R) is int st) return st;
        int n = u.R;
        if ((n == 4 || n == 5) && (Cr4Value & Cr4Bits.DE) != 0) return FaultUd();
        if (n > 7) return FaultUd();
        R(u.M) = Dr[n is 4 ? 6 : n is 5 ? 7 : n];
        return Status.Next;
    }

    internal int Invlpg(ref Uop u)
    {
        if (!PrivilegedOk) return FaultGp();
        uint lin = segs[u.Seg].Base + Ea(ref u);
        if (Intercepts != null && Intercept(SensitiveOp.Invlpg, ref u, lin) is int st) return st;
        InvalidatePage(lin);
        return Status.Next;
    }

    internal int Clts(ref Uop u)
    {
        if (!PrivilegedOk) return FaultGp();
        if (Intercepts != null && Intercept(SensitiveOp.Clts, ref u, 0) is int st) return st;
        Cr0Value &= ~Cr0Bits.TS;
        return Status.Next;
    }

    internal int CacheControl(ref Uop u, SensitiveOp op)
    {
        if (!PrivilegedOk) return FaultGp();
        if (Intercepts != null && Intercept(op, ref u, 0) is int st) return st;
        return Status.Next;
    }

    // ---- fast system calls -------------------------------------------------------------------

    /// <summary>SYSENTER: flat ring-0 CS/SS derived from SYSENTER_CS; #GP(0) if it is null or in real mode.</summary>
    internal int Sysenter(ref Uop u)
    {
        if (Intercepts != null && Intercept(SensitiveOp.Sysenter, ref u, 0) is int st) return st;
        if (!ProtectedMode || (SysenterCs & 0xFFFC) == 0) return FaultGp();
        flagsRest &= ~(EFlags.VM | EFlags.IF | EFlags.RF);
        ushort cs = (ushort)(SysenterCs & 0xFFFC);
        segs[SegReg.Cs] = new SegmentCache { Selector = cs, Base = 0, Limit = 0xFFFF_FFFF, Attributes = 0xC09B, Usable = true };
        segs[SegReg.Ss] = new SegmentCache { Selector = (ushort)(cs + 8), Base = 0, Limit = 0xFFFF_FFFF, Attributes = 0xC093, Usable = true };
        SetCpl(0);
        RecomputeSegFast();
        R(Reg.Esp) = SysenterEsp;
        Eip = SysenterEip;
        return Status.Jump;
    }

    /// <summary>SYSEXIT: to ring 3 with flat CS = SYSENTER_CS+16, SS = +24; EIP = EDX, ESP = ECX.</summary>
    internal int Sysexit(ref Uop u)
    {
        if (Intercepts != null && Intercept(SensitiveOp.Sysexit, ref u, 0) is int st) return st;
        if (!ProtectedMode || Cpl != 0 || (SysenterCs & 0xFFFC) == 0) return FaultGp();
        ushort cs = (ushort)((SysenterCs + 16) | 3);
        segs[SegReg.Cs] = new SegmentCache { Selector = cs, Base = 0, Limit = 0xFFFF_FFFF, Attributes = 0xC0FB, Usable = true };
        segs[SegReg.Ss] = new SegmentCache { Selector = (ushort)((SysenterCs + 24) | 3), Base = 0, Limit = 0xFFFF_FFFF, Attributes = 0xC0F3, Usable = true };
        SetCpl(3);
        RecomputeSegFast();
        R(Reg.Esp) = R(Reg.Ecx);
        Eip = R(Reg.Edx);
        return Status.Jump;
    }

    /// <summary>VMCALL/VMMCALL: a hypercall if a hypervisor claims it, otherwise #UD as on a CPU outside VMX/SVM guest mode.</summary>
    internal int Vmcall(ref Uop u)
    {
        if (Intercepts != null && Intercept(u.Sub == 0 ? SensitiveOp.Vmcall : SensitiveOp.Vmmcall, ref u, R(Reg.Eax)) is int st) return st;
        return FaultUd();
    }

    /// <summary>
    /// x87 instructions: this CPU has no FPU (CPUID says so). With CR0.EM or CR0.TS set they raise
    /// #NM so an OS can emulate them; otherwise #UD, as there is no coprocessor to answer.
    /// </summary>
    internal int Fpu(ref Uop u) =>
        (Cr0Value & (Cr0Bits.EM | Cr0Bits.TS)) != 0 ? Fault(Vectors.NM) : FaultUd();

    internal int Fwait(ref Uop u) =>
        (Cr0Value & (Cr0Bits.MP | Cr0Bits.TS)) == (Cr0Bits.MP | Cr0Bits.TS) ? Fault(Vectors.NM) : Status.Next;

    internal int Bound(ref Uop u)
    {
        uint off = Ea(ref u);
        if (!ReadSeg(u.Seg, off, u.Size, out uint lo) || !ReadSeg(u.Seg, off + (uint)u.Size, u.Size, out uint hi)) return Status.Fault;
        int idx = (int)SignExtend(GetReg(u.Size, u.R), u.Size);
        if (idx < (int)SignExtend(lo, u.Size) || idx > (int)SignExtend(hi, u.Size)) return Fault(Vectors.BR);
        return Status.Next;
    }
}
