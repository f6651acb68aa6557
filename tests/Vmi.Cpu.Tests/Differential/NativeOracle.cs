using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Cpu.Tests.Differential;

/// <summary>
/// The architectural state one instruction under test may read or write. ESP is deliberately absent: the
/// instructions under test never touch the stack, and natively ESP is the host's real stack pointer.
/// </summary>
/// <remarks>The field order is part of the contract: the native stub addresses the fields by offset.</remarks>
[StructLayout(LayoutKind.Sequential)]
public struct RegisterFile
{
    public uint Eax, Ecx, Edx, Ebx, Ebp, Esi, Edi, Eflags;

    public override readonly string ToString() =>
        $"eax={Eax:X8} ecx={Ecx:X8} edx={Edx:X8} ebx={Ebx:X8} ebp={Ebp:X8} esi={Esi:X8} edi={Edi:X8} " +
        $"eflags={Eflags:X8} [{FlagBits.Describe(Eflags)}]";
}

/// <summary>Names and masks of the EFLAGS bits that differential testing compares.</summary>
public static class FlagBits
{
    public const uint CF = 1u << 0, PF = 1u << 2, AF = 1u << 4, ZF = 1u << 6, SF = 1u << 7, DF = 1u << 10, OF = 1u << 11;

    /// <summary>The six status flags.</summary>
    public const uint Arithmetic = CF | PF | AF | ZF | SF | OF;

    /// <summary>Everything a test may set on input and compare on output: status flags plus DF.</summary>
    public const uint Compared = Arithmetic | DF;

    /// <summary>Bit 1 of EFLAGS reads as 1 on every x86.</summary>
    public const uint Reserved1 = 1u << 1;

    public static string Describe(uint eflags)
    {
        var parts = new List<string>(7);
        if ((eflags & OF) != 0) parts.Add("OF");
        if ((eflags & DF) != 0) parts.Add("DF");
        if ((eflags & SF) != 0) parts.Add("SF");
        if ((eflags & ZF) != 0) parts.Add("ZF");
        if ((eflags & AF) != 0) parts.Add("AF");
        if ((eflags & PF) != 0) parts.Add("PF");
        if ((eflags & CF) != 0) parts.Add("CF");
        return parts.Count == 0 ? "-" : string.Join(' ', parts);
    }
}

/// <summary>
/// Runs one 32-bit-mode register/immediate instruction on the host CPU and reports the resulting registers and
/// flags. The host runs in 64-bit mode, where 8/16/32-bit operand ALU instructions behave exactly as in 32-bit
/// protected mode as long as the bytes contain no REX prefix (0x40–0x4F) and touch no memory or stack; the
/// guard in <see cref="Execute"/> enforces that by decoding the bytes in both modes.
/// </summary>
public sealed unsafe class NativeOracle : IDisposable
{
    private const int SlotSize = 15; // the architectural maximum instruction length
    private const byte Nop = 0x90;
    private const nuint PageSize = 4096;

    private static readonly Lazy<bool> Supported = new(Probe);

    private readonly Lock _gate = new();
    private readonly bool _writable; // the page is RWX; otherwise it is RX and every copy is wrapped in mprotect
    private byte* _page;
    private readonly byte* _slot;
    private readonly delegate* unmanaged<RegisterFile*, void> _stub;
    private readonly byte[] _lastInstruction = new byte[SlotSize];
    private int _lastLength = -1;

    /// <summary>
    /// True on x86-64 Linux where an executable page can be mapped and runs (and VMI_NO_NATIVE_ORACLE is not 1);
    /// tests skip with a reason otherwise.
    /// </summary>
    public static bool IsSupported => Supported.Value;

    public NativeOracle()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            throw new PlatformNotSupportedException("The native oracle needs x86-64 Linux.");

        var code = AssembleStub(out var slotOffset);
        if (code.Length > (int)PageSize)
            throw new InvalidOperationException("The oracle stub does not fit in one page.");

        // Prefer RWX so each call is a plain copy; hardened kernels (SELinux execmem, PaX) refuse that, and then
        // the page flips RW→RX around each copy instead.
        var page = OracleLibc.mmap(0, PageSize, OracleLibc.PROT_READ | OracleLibc.PROT_WRITE | OracleLibc.PROT_EXEC,
            OracleLibc.MAP_PRIVATE | OracleLibc.MAP_ANONYMOUS, -1, 0);
        _writable = page != OracleLibc.MAP_FAILED;
        if (!_writable)
        {
            page = OracleLibc.mmap(0, PageSize, OracleLibc.PROT_READ | OracleLibc.PROT_WRITE, OracleLibc.MAP_PRIVATE | OracleLibc.MAP_ANONYMOUS, -1, 0);
            if (page == OracleLibc.MAP_FAILED)
                throw new InvalidOperationException($"mmap failed: errno {Marshal.GetLastPInvokeError()}");
        }

        _page = (byte*)page;
        code.CopyTo(new Span<byte>(_page, code.Length));
        if (!_writable) Protect(OracleLibc.PROT_READ | OracleLibc.PROT_EXEC);
        _slot = _page + slotOffset;
        _stub = (delegate* unmanaged<RegisterFile*, void>)_page;
    }

    ~NativeOracle() => Unmap();

    public void Dispose()
    {
        Unmap();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Executes <paramref name="instruction"/> natively with the given registers and flags. Only CF PF AF ZF SF OF
    /// and DF are taken from <paramref name="input"/>; the other EFLAGS bits stay as the host has them (IF, TF
    /// and friends are not ours to change). The returned EFLAGS holds the same seven bits plus the always-one bit 1.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The bytes are not exactly one instruction that behaves identically in 32- and 64-bit mode, or it would
    /// touch memory or the stack, use anything but EAX..EDI, change control flow, or raise a divide error.
    /// </exception>
    public RegisterFile Execute(ReadOnlySpan<byte> instruction, in RegisterFile input)
    {
        ObjectDisposedException.ThrowIf(_page == null, this);
        Guard(instruction, input);

        var state = input;
        lock (_gate)
        {
            if (_lastLength != instruction.Length || !instruction.SequenceEqual(_lastInstruction.AsSpan(0, _lastLength)))
                Install(instruction);
            _stub(&state);
        }

        state.Eflags = (state.Eflags & FlagBits.Compared) | FlagBits.Reserved1;
        return state;
    }

    private void Install(ReadOnlySpan<byte> instruction)
    {
        if (!_writable) Protect(OracleLibc.PROT_READ | OracleLibc.PROT_WRITE);
        var slot = new Span<byte>(_slot, SlotSize);
        slot.Fill(Nop);
        instruction.CopyTo(slot);
        if (!_writable) Protect(OracleLibc.PROT_READ | OracleLibc.PROT_EXEC);
        instruction.CopyTo(_lastInstruction);
        _lastLength = instruction.Length;
    }

    private void Protect(int prot)
    {
        if (OracleLibc.mprotect((nint)_page, PageSize, prot) != 0)
            throw new InvalidOperationException($"mprotect failed: errno {Marshal.GetLastPInvokeError()}");
    }

    private void Unmap()
    {
        if (_page == null) return;
        _ = OracleLibc.munmap((nint)_page, PageSize);
        _page = null;
    }

    /// <summary>
    /// The stub, generated once: <c>void stub(RegisterFile* rdi)</c>. It keeps the pointer in R15, which no
    /// REX-free instruction can name, so the instruction under test cannot clobber it.
    /// </summary>
    private static byte[] AssembleStub(out int slotOffset)
    {
        var a = new Assembler(64);
        var slot = a.CreateLabel();

        // SysV: rbx, rbp and r15 are callee-saved and we use all three; r12–r14 are never touched.
        a.push(rbx);
        a.push(rbp);
        a.push(r15);
        a.mov(r15, rdi);

        // Merge the caller's status flags and DF into the host's own RFLAGS so IF/TF/AC stay as they are.
        a.pushfq();
        a.pop(rax);
        a.and(rax, unchecked((int)~FlagBits.Compared));
        a.mov(ecx, __dword_ptr[r15 + 28]);
        a.and(ecx, (int)FlagBits.Compared);
        a.or(rax, rcx);
        a.push(rax);

        // MOV does not touch flags, so the loads may happen before the flags are popped; the flags are popped
        // last so nothing but the instruction under test runs with them.
        a.mov(eax, __dword_ptr[r15 + 0]);
        a.mov(ecx, __dword_ptr[r15 + 4]);
        a.mov(edx, __dword_ptr[r15 + 8]);
        a.mov(ebx, __dword_ptr[r15 + 12]);
        a.mov(ebp, __dword_ptr[r15 + 16]);
        a.mov(esi, __dword_ptr[r15 + 20]);
        a.mov(edi, __dword_ptr[r15 + 24]);
        a.popfq();

        a.Label(ref slot);
        a.db(Enumerable.Repeat(Nop, SlotSize).ToArray());

        a.mov(__dword_ptr[r15 + 0], eax);
        a.mov(__dword_ptr[r15 + 4], ecx);
        a.mov(__dword_ptr[r15 + 8], edx);
        a.mov(__dword_ptr[r15 + 12], ebx);
        a.mov(__dword_ptr[r15 + 16], ebp);
        a.mov(__dword_ptr[r15 + 20], esi);
        a.mov(__dword_ptr[r15 + 24], edi);
        a.pushfq();
        a.pop(rax);
        a.mov(__dword_ptr[r15 + 28], eax);

        // The ABI requires DF clear on return; the input may have set it.
        a.cld();
        a.pop(r15);
        a.pop(rbp);
        a.pop(rbx);
        a.ret();

        var writer = new BufferCodeWriter();
        var result = a.Assemble(writer, 0, BlockEncoderOptions.ReturnNewInstructionOffsets);
        slotOffset = checked((int)result.GetLabelRIP(slot));
        return writer.ToArray();
    }

    // ---------------------------------------------------------------------------------------------------------
    // The guard. A wrong instruction here does not fail a test, it kills the test host (SIGSEGV/SIGFPE), so
    // everything that is not plainly "registers in, registers and flags out" is refused before it runs.
    // ---------------------------------------------------------------------------------------------------------

    private static readonly HashSet<CpuidFeature> AllowedFeatures =
    [
        CpuidFeature.INTEL8086, CpuidFeature.INTEL186, CpuidFeature.INTEL286, CpuidFeature.INTEL386,
        CpuidFeature.INTEL486, CpuidFeature.CMOV, CpuidFeature.MULTIBYTENOP,
    ];

    private static void Guard(ReadOnlySpan<byte> bytes, in RegisterFile input)
    {
        if (bytes.Length is 0 or > SlotSize)
            throw new ArgumentException($"An instruction is 1..{SlotSize} bytes, not {bytes.Length}.", nameof(bytes));

        var array = bytes.ToArray();
        var i32 = DecodeOne(array, 32);
        if (i32.IsInvalid || i32.Length != array.Length)
            throw new ArgumentException($"Not exactly one valid 32-bit instruction: {Convert.ToHexString(array)}", nameof(bytes));

        // Same bytes, same meaning in 64-bit mode: this rejects REX bytes (0x40–0x4F), opcodes that are invalid
        // in long mode (AAA, PUSHA, 0x82, ...), and the 0x67 prefix, which selects different address sizes.
        var i64 = DecodeOne(array, 64);
        if (i64.IsInvalid || i64.Length != i32.Length || i64.Mnemonic != i32.Mnemonic || i64.OpCount != i32.OpCount
            || i64.IsIPRelativeMemoryOperand)
            throw new ArgumentException($"'{Format(i32)}' does not mean the same in 64-bit mode.", nameof(bytes));
        for (var op = 0; op < i32.OpCount; op++)
        {
            if (i32.GetOpKind(op) != i64.GetOpKind(op))
                throw new ArgumentException($"'{Format(i32)}' does not mean the same in 64-bit mode.", nameof(bytes));
            if (i32.GetOpKind(op) == OpKind.Register && i32.GetOpRegister(op) != i64.GetOpRegister(op))
                throw new ArgumentException($"'{Format(i32)}' names different registers in 64-bit mode.", nameof(bytes));
        }

        if (i32.HasLockPrefix || i32.FlowControl != FlowControl.Next || i32.IsPrivileged
            || i32.IsStackInstruction || i32.StackPointerIncrement != 0)
            throw new ArgumentException($"'{Format(i32)}' is not a plain register instruction.", nameof(bytes));
        foreach (var feature in i32.CpuidFeatures)
        {
            if (!AllowedFeatures.Contains(feature))
                throw new ArgumentException($"'{Format(i32)}' needs CPU feature {feature}, which the oracle does not run.", nameof(bytes));
        }

        var info = new InstructionInfoFactory().GetInfo(i32);
        foreach (var memory in info.GetUsedMemory())
        {
            if (memory.Access != OpAccess.NoMemAccess)
                throw new ArgumentException($"'{Format(i32)}' accesses memory.", nameof(bytes));
        }

        if (i32.Mnemonic == Mnemonic.Lea)
        {
            // LEA computes a 64-bit address in long mode; its low 32 bits match 32-bit mode only when base and
            // index are the same 32-bit registers (the 64-bit decode's are their full-width twins).
            if (i32.MemoryBase.GetFullRegister32() != i64.MemoryBase.GetFullRegister32()
                || i32.MemoryIndex.GetFullRegister32() != i64.MemoryIndex.GetFullRegister32()
                || i32.MemoryIndexScale != i64.MemoryIndexScale
                || (uint)i32.MemoryDisplacement64 != (uint)i64.MemoryDisplacement64
                || (i32.MemoryBase != Register.None && !i32.MemoryBase.IsGPR32())
                || (i32.MemoryIndex != Register.None && !i32.MemoryIndex.IsGPR32()))
                throw new ArgumentException($"'{Format(i32)}' computes a different address in 64-bit mode.", nameof(bytes));
        }

        foreach (var used in info.GetUsedRegisters())
        {
            // Only EAX..EDI and their parts exist in the register file; ESP natively is the host's stack pointer.
            var reg = used.Register;
            if (!(reg.IsGPR8() || reg.IsGPR16() || reg.IsGPR32()) || reg.GetFullRegister32() == Register.ESP)
                throw new ArgumentException($"'{Format(i32)}' uses {reg}, which the oracle does not model.", nameof(bytes));
        }

        if (i32.Mnemonic is Mnemonic.Div or Mnemonic.Idiv && WouldDivideFault(i32, input))
            throw new ArgumentException($"'{Format(i32)}' would raise #DE with {input}.", nameof(bytes));
    }

    private static Instruction DecodeOne(byte[] bytes, int bitness)
    {
        var decoder = Decoder.Create(bitness, new ByteArrayCodeReader(bytes), 0, DecoderOptions.None);
        decoder.Decode(out var instruction);
        return instruction;
    }

    private static string Format(in Instruction instruction)
    {
        var output = new StringOutput();
        new IntelFormatter().Format(instruction, output);
        return output.ToStringAndReset();
    }

    /// <summary>
    /// True when DIV/IDIV with a register divisor would raise #DE (divide by zero, or a quotient that does not fit
    /// the destination). Shared with the test generators so they never produce such a case.
    /// </summary>
    public static bool WouldDivideFault(in Instruction instruction, in RegisterFile input)
    {
        if (instruction.Mnemonic is not (Mnemonic.Div or Mnemonic.Idiv) || instruction.OpCount != 1)
            throw new ArgumentException("Not a one-operand DIV/IDIV.", nameof(instruction));
        if (instruction.Op0Kind != OpKind.Register)
            return true; // memory forms are refused anyway; treat as unsafe
        var divisorRegister = instruction.Op0Register;
        var size = divisorRegister.GetSize();
        var divisor = ReadRegister(input, divisorRegister);
        if (divisor == 0) return true;
        var signed = instruction.Mnemonic == Mnemonic.Idiv;

        // The dividend is AX, DX:AX or EDX:EAX: twice the divisor's width.
        ulong dividend = size switch
        {
            1 => input.Eax & 0xFFFF,
            2 => ((input.Edx & 0xFFFF) << 16) | (input.Eax & 0xFFFF),
            _ => ((ulong)input.Edx << 32) | input.Eax,
        };
        var bits = size * 8;
        if (!signed)
        {
            var quotient = dividend / divisor;
            return quotient > (bits == 32 ? uint.MaxValue : (1UL << bits) - 1);
        }

        var sDividend = SignExtend(dividend, bits * 2);
        var sDivisor = SignExtend(divisor, bits);
        // |dividend| < 2^63 for every size here except the 64-bit dividend's minimum, where / by -1 overflows C#
        // too; it also overflows the 32-bit quotient, so answer before dividing.
        if (bits == 32 && sDividend == long.MinValue) return true;
        var sQuotient = sDividend / sDivisor;
        var max = (1L << (bits - 1)) - 1;
        var min = -(1L << (bits - 1));
        return sQuotient > max || sQuotient < min;
    }

    private static long SignExtend(ulong value, int bits) =>
        bits == 64 ? (long)value : (long)(value << (64 - bits)) >> (64 - bits);

    /// <summary>Reads an 8/16/32-bit general register (AL..BH, AX..DI, EAX..EDI) out of a register file.</summary>
    public static uint ReadRegister(in RegisterFile file, Register register)
    {
        var full = Full(file, register.GetFullRegister32());
        return register switch
        {
            Register.AH or Register.CH or Register.DH or Register.BH => (full >> 8) & 0xFF,
            _ when register.IsGPR8() => full & 0xFF,
            _ when register.IsGPR16() => full & 0xFFFF,
            _ when register.IsGPR32() => full,
            _ => throw new ArgumentException($"{register} is not in the register file.", nameof(register)),
        };
    }

    /// <summary>Writes an 8/16/32-bit general register, keeping the other bits of its 32-bit container.</summary>
    public static void WriteRegister(ref RegisterFile file, Register register, uint value)
    {
        ref var full = ref FullRef(ref file, register.GetFullRegister32());
        if (register is Register.AH or Register.CH or Register.DH or Register.BH)
            full = (full & ~0xFF00u) | ((value & 0xFF) << 8);
        else if (register.IsGPR8())
            full = (full & ~0xFFu) | (value & 0xFF);
        else if (register.IsGPR16())
            full = (full & ~0xFFFFu) | (value & 0xFFFF);
        else if (register.IsGPR32())
            full = value;
        else
            throw new ArgumentException($"{register} is not in the register file.", nameof(register));
    }

    private static uint Full(in RegisterFile file, Register full) => full switch
    {
        Register.EAX => file.Eax,
        Register.ECX => file.Ecx,
        Register.EDX => file.Edx,
        Register.EBX => file.Ebx,
        Register.EBP => file.Ebp,
        Register.ESI => file.Esi,
        Register.EDI => file.Edi,
        _ => throw new ArgumentException($"{full} is not in the register file.", nameof(full)),
    };

    private static ref uint FullRef(ref RegisterFile file, Register full)
    {
        switch (full)
        {
            case Register.EAX: return ref file.Eax;
            case Register.ECX: return ref file.Ecx;
            case Register.EDX: return ref file.Edx;
            case Register.EBX: return ref file.Ebx;
            case Register.EBP: return ref file.Ebp;
            case Register.ESI: return ref file.Esi;
            case Register.EDI: return ref file.Edi;
            default: throw new ArgumentException($"{full} is not in the register file.", nameof(full));
        }
    }

    private static bool Probe()
    {
        // A kill switch, should some host ever crash on the probe itself: the tests then skip with their reason.
        if (Environment.GetEnvironmentVariable("VMI_NO_NATIVE_ORACLE") == "1")
            return false;
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64
            || !X86Base.IsSupported)
            return false;
        try
        {
            using var oracle = new NativeOracle();
            // 31 C0 = xor eax, eax: proves the page really executes and the state round-trips.
            var output = oracle.Execute([0x31, 0xC0], new RegisterFile { Eax = 0x1234, Ebx = 7 });
            return output.Eax == 0 && output.Ebx == 7 && (output.Eflags & FlagBits.ZF) != 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or InvalidOperationException)
        {
            return false;
        }
    }
}

internal static partial class OracleLibc
{
    public const int PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
    public const int MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20;
    public static readonly nint MAP_FAILED = -1;

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int mprotect(nint addr, nuint length, int prot);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int munmap(nint addr, nuint length);
}
