using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Rom;

/// <summary>One CPUID leaf as the hypervisor answers it.</summary>
public readonly record struct CpuidLeaf(uint Leaf, uint Eax, uint Ebx, uint Ecx, uint Edx);

/// <summary>
/// CPUID answered from a table in the ROM: no trap and no exit. The table holds every leaf the
/// virtual CPU reports; any other leaf reads as zeros, as on the CPU itself. EAX = leaf (the
/// subleaf in ECX is not used by any leaf in the table) → EAX..EDX; flags clobbered, nothing else.
/// </summary>
public static class CpuidTable
{
    public static CallSpec For(IReadOnlyList<CpuidLeaf> leaves) => CallSpec.Code(a =>
    {
        Label afterTable = a.CreateLabel(), next = a.CreateLabel(), found = a.CreateLabel(), zeros = a.CreateLabel();
        a.push(esi);
        // CALL pushes the address of what follows it, the table: position independent, wherever the ROM is mapped.
        a.call(afterTable);
        foreach (CpuidLeaf l in leaves)
        {
            foreach (uint v in new[] { l.Leaf, l.Eax, l.Ebx, l.Ecx, l.Edx })
            {
                a.db(BitConverter.GetBytes(v));
            }
        }
        a.Label(ref afterTable);
        a.pop(esi);
        a.mov(ecx, leaves.Count);
        a.Label(ref next);
        a.test(ecx, ecx);
        a.jz(zeros);
        a.cmp(eax, __dword_ptr[esi]);
        a.je(found);
        a.add(esi, 20);
        a.dec(ecx);
        a.jmp(next);
        a.Label(ref found);
        a.mov(ebx, __dword_ptr[esi + 8]);
        a.mov(ecx, __dword_ptr[esi + 12]);
        a.mov(edx, __dword_ptr[esi + 16]);
        a.mov(eax, __dword_ptr[esi + 4]);
        a.pop(esi);
        a.ret();
        a.Label(ref zeros);
        a.xor(eax, eax);
        a.xor(ebx, ebx);
        a.xor(ecx, ecx);
        a.xor(edx, edx);
        a.pop(esi);
        a.ret();
    });
}
