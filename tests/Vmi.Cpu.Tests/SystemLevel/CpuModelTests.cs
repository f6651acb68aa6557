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
        Assert.Equal(m.IsIntel && m.HardwareVirtualization, (leaf1.Ecx & CpuidBits.Vmx) != 0);
        Assert.Equal(0u, leaf1.Edx & (CpuidBits.Fpu | CpuidBits.Mmx | CpuidBits.Sse | CpuidBits.Sse2 | CpuidBits.Fxsr | CpuidBits.Pae));
        Assert.Equal(0u, leaf1.Edx & ~CpuidBits.ImplementedEdx);

        var ext = Cpuid(m, 0x8000_0001);
        Assert.Equal(m.IsAmd && m.HardwareVirtualization, (ext.Ecx & CpuidBits.Svm) != 0);

        var brand = string.Concat(new uint[] { 0x8000_0002, 0x8000_0003, 0x8000_0004 }.Select(l =>
        {
            var r = Cpuid(m, l);
            return Encoding.ASCII.GetString([.. BitConverter.GetBytes(r.Eax), .. BitConverter.GetBytes(r.Ebx), .. BitConverter.GetBytes(r.Ecx), .. BitConverter.GetBytes(r.Edx)]);
        })).TrimEnd('\0');
        Assert.Equal(m.BrandString, brand);
    }

    [Fact]
    public void NestedPagingIsReportedOnlyByModelsThatHaveIt()
    {
        Assert.Equal(CpuidBits.NestedPaging, Cpuid(CpuModel.Barcelona, 0x8000_000A).Edx & CpuidBits.NestedPaging);
        Assert.Equal(0u, Cpuid(CpuModel.Opteron, 0x8000_000A).Edx);
        Assert.True(Cpuid(CpuModel.Opteron, 0x8000_0000).Eax < 0x8000_000A);
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
