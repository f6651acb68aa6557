using System.Text;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests.SystemLevel;

/// <summary>
/// CPU models differ in what CPUID reports — vendor, signature, virtualization extensions — and
/// never claim a feature the emulator does not implement.
/// </summary>
public sealed class CpuModelTests
{
    public static TheoryData<string> Models() => new(CpuModel.All.Select(m => m.Name));

    private static (uint Eax, uint Ebx, uint Ecx, uint Edx) Cpuid(CpuModel model, uint leaf)
    {
        var h = new H(model);
        var a = new Assembler(32);
        a.mov(eax, leaf);
        a.xor(ecx, ecx);
        a.cpuid();
        a.hlt();
        h.Load(a);
        h.RunUntilHalt();
        return (h.Cpu.Eax, h.Cpu.Ebx, h.Cpu.Ecx, h.Cpu.Edx);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void VendorSignatureAndExtensionsComeFromTheModel(string name)
    {
        CpuModel m = CpuModel.Find(name)!;
        var leaf0 = Cpuid(m, 0);
        string vendor = Encoding.ASCII.GetString([.. BitConverter.GetBytes(leaf0.Ebx), .. BitConverter.GetBytes(leaf0.Edx), .. BitConverter.GetBytes(leaf0.Ecx)]);
        Assert.Equal(m.Vendor, vendor);

        var leaf1 = Cpuid(m, 1);
        Assert.Equal(m.Signature, leaf1.Eax);
        // The guest never sees VMX or SVM: this CPU does not execute them (VMXON/VMRUN are #UD).
        Assert.Equal(0u, leaf1.Ecx & ~CpuidBits.ImplementedEcx);
        Assert.Equal(0u, leaf1.Ecx & CpuidBits.Vmx);
        // An x87 FPU, but no MMX, FXSAVE or SSE.
        Assert.Equal(CpuidBits.Fpu, leaf1.Edx & CpuidBits.Fpu);
        Assert.Equal(0u, leaf1.Edx & (CpuidBits.Mmx | CpuidBits.Sse | CpuidBits.Sse2 | CpuidBits.Fxsr | CpuidBits.Pae));
        Assert.Equal(0u, leaf1.Edx & ~CpuidBits.ImplementedEdx);

        var ext = Cpuid(m, 0x8000_0001);
        Assert.Equal(0u, ext.Ecx & CpuidBits.Svm);

        var brand = string.Concat(new uint[] { 0x8000_0002, 0x8000_0003, 0x8000_0004 }.Select(l =>
        {
            var r = Cpuid(m, l);
            return Encoding.ASCII.GetString([.. BitConverter.GetBytes(r.Eax), .. BitConverter.GetBytes(r.Ebx), .. BitConverter.GetBytes(r.Ecx), .. BitConverter.GetBytes(r.Edx)]);
        })).TrimEnd('\0');
        Assert.Equal(m.BrandString, brand);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void NestedPagingIsNeverReportedToTheGuest(string name)
    {
        CpuModel m = CpuModel.Find(name)!;
        Assert.True(Cpuid(m, 0x8000_0000).Eax < 0x8000_000A);
        Assert.Equal(0u, Cpuid(m, 0x8000_000A).Edx);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void EveryReportedVirtualizationInstructionIsUndefined(string name)
    {
        // What CPUID claims must execute: VMXON (Intel) and VMRUN (AMD) raise #UD on every model,
        // and no model reports either extension.
        CpuModel m = CpuModel.Find(name)!;
        byte[][] encodings =
        [
            [0xF3, 0x0F, 0xC7, 0x35, 0x00, 0x20, 0x00, 0x00], // vmxon [0x2000]
            [0x0F, 0x01, 0xD8], // vmrun eax
        ];
        foreach (byte[] code in encodings)
        {
            var h = new H(m);
            var a = new Assembler(32);
            a.db(code);
            a.hlt();
            h.Load(a);
            h.RunUntilHalt();
            h.AssertStopped(Vectors.UD);
        }
        Assert.Equal(0u, Cpuid(m, 1).Ecx & CpuidBits.Vmx);
        Assert.Equal(0u, Cpuid(m, 0x8000_0001).Ecx & CpuidBits.Svm);
    }

    [Fact]
    public void TheModelStillDescribesTheHostsVirtualizationForHypervisors()
    {
        Assert.True(CpuModel.Barcelona.NestedPaging);
        Assert.True(CpuModel.Pentium4.HardwareVirtualization);
        Assert.False(CpuModel.Plain.HardwareVirtualization);
    }

    [Fact]
    public void ResetPutsTheSignatureInEdx()
    {
        var cpu = new Cpu(new Vmi.Cpu.Memory.PhysicalMemory(1u << 20), CpuModel.Opteron);
        Assert.Equal(CpuModel.Opteron.Signature, cpu.Edx);
        Assert.Equal(0xFFF0u, cpu.Eip);
        Assert.False(cpu.ProtectedMode);
    }
}
