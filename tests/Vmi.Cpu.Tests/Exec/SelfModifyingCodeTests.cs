using Iced.Intel;
using Vmi.Cpu.Tests.Support;
using static Iced.Intel.AssemblerRegisters;
using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests.Exec;

/// <summary>
/// Decoded code is cached by physical address; every way of changing the bytes underneath must
/// be seen before the changed instruction runs: the very next instruction, a loop patching
/// itself, a write through another linear alias, a write into the second page of a
/// page-crossing instruction, and host-side loads (DMA, loaders).
/// </summary>
public sealed class SelfModifyingCodeTests
{
    [Fact]
    public void PatchingTheNextInstructionIsSeen()
    {
        var h = new H();
        h.Load((a, l) =>
        {
            a.mov(__byte_ptr[l["next"] + 1], 0x42);
            l.Define(a, "next");
            a.mov(al, 0);
            a.mov(__dword_ptr[l["next2"] + 1], 0x1234_5678u);
            l.Define(a, "next2");
            a.mov(ebx, 0);
            a.hlt();
        });

        h.RunUntilHalt();

        Assert.Equal(0x42u, h.Cpu.Eax & 0xFF);
        Assert.Equal(0x1234_5678u, h.Cpu.Ebx);
    }

    [Fact]
    public void PatchingAnInstructionLaterInTheSameBlockIsSeen()
    {
        // Several straight-line instructions between the store and its target: all in one block.
        var h = new H();
        h.Load((a, l) =>
        {
            a.mov(__dword_ptr[l["target"] + 1], 0xFEED_0001u);
            a.inc(ecx);
            a.inc(ecx);
            a.inc(ecx);
            l.Define(a, "target");
            a.mov(edx, 0);
            a.hlt();
        });

        h.RunUntilHalt();

        Assert.Equal(0xFEED_0001u, h.Cpu.Edx);
        Assert.Equal(3u, h.Cpu.Ecx);
    }

    [Fact]
    public void LoopThatPatchesItsOwnBodyEachIteration()
    {
        var h = new H();
        GuestProgram p = h.Load((a, l) =>
        {
            a.mov(ecx, 10);
            a.xor(ebx, ebx);
            Label top = l.Define(a, "body");
            a.mov(eax, 0x7FFF_FFF0u); // imm32 form; the immediate is the loop's counter
            a.add(ebx, eax);
            a.inc(__dword_ptr[l["body"] + 1]);
            a.dec(ecx);
            a.jne(top);
            a.hlt();
        });
        // Start the embedded counter at 0.
        h.Memory.Write32(p["body"] + 1, 0);

        h.RunUntilHalt();

        Assert.Equal(45u, h.Cpu.Ebx); // 0 + 1 + ... + 9
        Assert.Equal(10u, h.Memory.Read32(p["body"] + 1));
    }

    [Fact]
    public void RepStosOverwritingTheFollowingCodeIsSeen()
    {
        var h = new H();
        h.Load((a, l) =>
        {
            a.cld();
            a.mov(edi, l["target"]);
            a.mov(ecx, 5);
            a.mov(eax, 0x90); // NOP
            a.rep.stosb();
            l.Define(a, "target");
            a.mov(eax, 0x1111_1111u); // 5 bytes, replaced by 5 NOPs
            a.hlt();
        });

        h.RunUntilHalt();

        Assert.Equal(0x90u, h.Cpu.Eax);
    }

    [Fact]
    public void PatchThroughAnotherLinearAliasOfThePhysicalPage()
    {
        const uint alias = 0x40_0000;
        var h = new H();
        h.EnablePaging();
        h.Map(alias, H.CodeBase, H.PteP | H.PteRw); // second view of the code page
        GuestProgram p = h.Load((a, l) =>
        {
            uint target = l["target"];
            a.mov(eax, __dword_ptr[target + 1 - H.CodeBase + alias]); // warm the alias in the TLB
            a.mov(__dword_ptr[target + 1 - H.CodeBase + alias], 0xA11A_5000u);
            l.Define(a, "target");
            a.mov(ebx, 0);
            a.hlt();
        });

        h.RunUntilHalt();

        Assert.Equal(0xA11A_5000u, h.Cpu.Ebx);
        Assert.True(p["target"] - H.CodeBase < 0x1000);
    }

    [Fact]
    public void CodeRunThroughAnAliasSeesWritesThroughTheOriginalMapping()
    {
        // The same physical code is executed through two linear addresses; the patch made via one
        // must be seen when running via the other (blocks are keyed by physical address).
        const uint alias = 0x40_0000;
        var h = new H();
        h.EnablePaging();
        h.Map(alias, H.ScratchBase, H.PteP | H.PteRw);
        h.Memory.Load(H.ScratchBase, [0xB8, 0x01, 0x00, 0x00, 0x00, 0xC3]); // mov eax, 1; ret
        var a = new Assembler(32);
        a.mov(esi, alias);
        a.call(esi);                                  // through the alias: eax = 1
        a.mov(ebx, eax);
        a.mov(__byte_ptr[H.ScratchBase + 1], 2);      // patch through the identity mapping
        a.call(esi);                                  // through the alias again: eax = 2
        a.hlt();
        h.Load(a);

        h.RunUntilHalt();

        Assert.Equal(1u, h.Cpu.Ebx);
        Assert.Equal(2u, h.Cpu.Eax);
    }

    [Fact]
    public void HostLoadOverCachedCodeIsSeen()
    {
        var h = new H();
        var a = new Assembler(32);
        a.mov(eax, 1);
        a.hlt();
        GuestProgram p = h.Load(a);
        h.RunUntilHalt();
        Assert.Equal(1u, h.Cpu.Eax);

        h.Memory.Load(p.Address + 1, BitConverter.GetBytes(2u));
        h.Restart(p.Address);
        h.RunUntilHalt();
        Assert.Equal(2u, h.Cpu.Eax);

        h.Memory.Fill(p.Address, 1, 0x40); // "mov eax, imm" -> "inc eax" + the old immediate's bytes
        h.Restart(p.Address);
        Assert.Equal(CpuExitReason.InstructionLimit, h.Cpu.Run(1).Reason);
        Assert.Equal(3u, h.Cpu.Eax);
    }

    [Fact]
    public void WriteToTheSecondPageOfAPageCrossingInstructionIsSeen()
    {
        // "mov eax, imm32" starting 2 bytes before a page boundary: the immediate's last 3 bytes
        // live in the next page. Run it, patch only the second page, run it again.
        uint start = H.ScratchBase + 0xFFE;
        var h = new H();
        h.Memory.Load(start, [0xB8, 0x11, 0x22, 0x33, 0x44, 0xF4]); // mov eax, 0x44332211; hlt
        h.Restart(start);
        h.RunUntilHalt();
        Assert.Equal(0x4433_2211u, h.Cpu.Eax);

        var a = new Assembler(32);
        a.mov(__byte_ptr[H.ScratchBase + 0x1002], 0x99); // guest store into the second page
        a.mov(ebx, start);
        a.jmp(ebx);
        GuestProgram p = h.Load(a);
        h.Restart(p.Address);
        h.RunUntilHalt();
        Assert.Equal(0x9933_2211u, h.Cpu.Eax);

        h.Memory.Load(H.ScratchBase + 0x1001, [0x77]); // host store into the second page
        h.Restart(start);
        h.RunUntilHalt();
        Assert.Equal(0x9977_2211u, h.Cpu.Eax);
        Assert.Equal(H.NoVector, h.LastVector);
    }

    [Fact]
    public void RemappingTheSecondPageOfAPageCrossingInstructionIsSeen()
    {
        // The second page's mapping changes (with INVLPG) while the first stays: the cached block
        // must not keep the old second page's bytes.
        const uint code = 0x40_0000;
        var h = new H();
        h.EnablePaging();
        h.Map(code, H.ScratchBase, H.PteP | H.PteRw);
        h.Map(code + 0x1000, H.ScratchBase + 0x1000, H.PteP | H.PteRw);
        h.Memory.Load(H.ScratchBase + 0xFFE, [0xB8, 0x11, 0x22, 0x33, 0x44, 0xF4]);
        h.Memory.Load(H.ScratchBase + 0x3000, [0x55, 0x66, 0x77, 0xF4]); // alternative second page
        h.Restart(code + 0xFFE);
        h.RunUntilHalt();
        Assert.Equal(0x4433_2211u, h.Cpu.Eax);

        h.Map(code + 0x1000, H.ScratchBase + 0x3000, H.PteP | H.PteRw);
        h.Restart(code + 0xFFE);
        h.RunUntilHalt();
        Assert.Equal(0x7766_5511u, h.Cpu.Eax);
        Assert.Equal(H.NoVector, h.LastVector);
    }
    [Fact]
    public void PageCrossingInstructionReachedThroughAnotherAliasUsesThatAliasesNextPage()
    {
        // One physical page seen at two linear addresses whose following pages differ: the cached
        // decode of an instruction crossing into the next page belongs to the first alias only.
        const uint x = 0x40_0000, y = 0x50_0000;
        var h = new H();
        h.EnablePaging();
        h.Map(x, H.ScratchBase, H.PteP | H.PteRw);
        h.Map(y, H.ScratchBase, H.PteP | H.PteRw);
        h.Map(x + 0x1000, H.ScratchBase + 0x1000, H.PteP | H.PteRw);
        h.Map(y + 0x1000, H.ScratchBase + 0x2000, H.PteP | H.PteRw);
        h.Memory.Load(H.ScratchBase + 0xFFE, [0xB8, 0x11]);
        h.Memory.Load(H.ScratchBase + 0x1000, [0x22, 0x33, 0x44, 0xF4]);
        h.Memory.Load(H.ScratchBase + 0x2000, [0x55, 0x66, 0x77, 0xF4]);

        h.Restart(x + 0xFFE);
        h.RunUntilHalt();
        Assert.Equal(0x4433_2211u, h.Cpu.Eax);

        h.Restart(y + 0xFFE);
        h.RunUntilHalt();
        Assert.Equal(0x7766_5511u, h.Cpu.Eax);
        Assert.Equal(y + 0x1004, h.Cpu.Eip);
        Assert.Equal(H.NoVector, h.LastVector);
    }
}
