using Iced.Intel;

namespace Vmi.Cpu.Tests.Differential;

/// <summary>One generated test: the instruction (for messages), its 32-bit encoding and the input state.</summary>
public readonly record struct DifferentialCase(Instruction Instruction, byte[] Bytes, RegisterFile Input);

/// <summary>
/// SplitMix64: tiny, fast and — unlike <see cref="Random"/> — guaranteed to produce the same sequence on every
/// runtime, so a failing case number stays reproducible.
/// </summary>
public sealed class SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        var z = _state += 0x9E37_79B9_7F4A_7C15;
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB;
        return z ^ (z >> 31);
    }

    public uint NextUInt() => (uint)(Next() >> 32);

    public int Below(int bound) => (int)((Next() >> 33) % (ulong)bound);

    public bool OneIn(int n) => Below(n) == 0;

    public T Pick<T>(IReadOnlyList<T> items) => items[Below(items.Count)];
}

/// <summary>
/// Builds random operand sets for an <see cref="InstructionForm"/> from Iced's description of its operands,
/// biased towards the values where ALU behaviour changes: zero, one, the signed and unsigned limits of each size.
/// </summary>
public sealed class CaseGenerator
{
    private const ulong BaseSeed = 0x766D_692D_6469_6666; // "vmi-diff"

    private static readonly Register[] Gpr8 =
        [Register.AL, Register.CL, Register.DL, Register.BL, Register.AH, Register.CH, Register.DH, Register.BH];

    // SP/ESP are excluded: natively they are the host stack pointer, and the register file does not carry them.
    private static readonly Register[] Gpr16 =
        [Register.AX, Register.CX, Register.DX, Register.BX, Register.BP, Register.SI, Register.DI];

    private static readonly Register[] Gpr32 =
        [Register.EAX, Register.ECX, Register.EDX, Register.EBX, Register.EBP, Register.ESI, Register.EDI];

    private static readonly uint[] Edges32 =
    [
        0, 1, 2, 0x7F, 0x80, 0x81, 0xFF, 0x100, 0x7FFF, 0x8000, 0x8001, 0xFFFF, 0x1_0000,
        0x7FFF_FFFF, 0x8000_0000, 0x8000_0001, 0xFFFF_FFFE, 0xFFFF_FFFF, 0xFFFF_FF80, 0xFFFF_8000, 0xFFFF_FF7F,
    ];

    private readonly InstructionForm _form;
    private readonly OpCodeInfo _opCode;
    private readonly SplitMix64 _rng;
    private readonly Encoder _encoder;
    private readonly BufferCodeWriter _writer = new();

    public CaseGenerator(InstructionForm form)
    {
        _form = form;
        _opCode = form.Code.ToOpCode();
        Seed = BaseSeed ^ Fnv1A(form.Name);
        _rng = new SplitMix64(Seed);
        _encoder = Encoder.Create(32, _writer);
    }

    /// <summary>The form's seed: derived from its name only, so adding forms does not reshuffle the others.</summary>
    public ulong Seed { get; }

    private bool IsShift => _form.Family == InstructionFamily.Shift;

    public DifferentialCase Next()
    {
        var registers = new Register[_opCode.OpCount];
        var immediate = 0u;
        MemoryOperand memory = default;
        for (var i = 0; i < _opCode.OpCount; i++)
        {
            switch (_opCode.GetOpKind(i))
            {
                case OpCodeOperandKind.r8_or_mem or OpCodeOperandKind.r8_reg or OpCodeOperandKind.r8_opcode:
                    registers[i] = _rng.Pick(Gpr8);
                    break;
                case OpCodeOperandKind.r16_or_mem or OpCodeOperandKind.r16_reg or OpCodeOperandKind.r16_opcode:
                    registers[i] = _rng.Pick(Gpr16);
                    break;
                case OpCodeOperandKind.r32_or_mem or OpCodeOperandKind.r32_reg or OpCodeOperandKind.r32_opcode:
                    registers[i] = _rng.Pick(Gpr32);
                    break;
                case OpCodeOperandKind.al: registers[i] = Register.AL; break;
                case OpCodeOperandKind.cl: registers[i] = Register.CL; break;
                case OpCodeOperandKind.ax: registers[i] = Register.AX; break;
                case OpCodeOperandKind.eax: registers[i] = Register.EAX; break;
                case OpCodeOperandKind.imm8_const_1: immediate = 1; break;
                case OpCodeOperandKind.imm8:
                    immediate = IsShift ? ShiftCount() : Interesting(8);
                    break;
                case OpCodeOperandKind.imm8sex16 or OpCodeOperandKind.imm8sex32:
                    immediate = (uint)(sbyte)Interesting(8);
                    break;
                case OpCodeOperandKind.imm16: immediate = Interesting(16); break;
                case OpCodeOperandKind.imm32: immediate = Interesting(32); break;
                case OpCodeOperandKind.mem: memory = RandomAddress(); break;
                default:
                    throw new NotSupportedException($"{_form.Name}: operand kind {_opCode.GetOpKind(i)} has no generator.");
            }
        }

        // XCHG EAX, EAX would encode as 0x90, which is NOP: a different form.
        if (_form.Code is Code.Xchg_r16_AX or Code.Xchg_r32_EAX)
        {
            while (registers[0] is Register.AX or Register.EAX)
                registers[0] = _rng.Pick(registers[0] == Register.AX ? Gpr16 : Gpr32);
        }

        // DIV/IDIV by AH, DX or EDX divides by the dividend's own high half and (almost) always faults.
        if (_form.Code.Mnemonic() is Mnemonic.Div or Mnemonic.Idiv)
        {
            while (registers[0] is Register.AH or Register.DX or Register.EDX)
                registers[0] = _rng.Pick(registers[0].GetSize() switch { 1 => Gpr8, 2 => Gpr16, _ => Gpr32 });
        }

        var instruction = Create(registers, immediate, memory);
        var input = RandomState(instruction);
        _writer.Reset();
        _encoder.Encode(instruction, 0);
        return new DifferentialCase(instruction, _writer.ToArray(), input);
    }

    private Instruction Create(Register[] r, uint immediate, MemoryOperand memory)
    {
        var code = _form.Code;
        var kinds = Enumerable.Range(0, _opCode.OpCount).Select(_opCode.GetOpKind).ToArray();
        var hasImmediate = kinds.Any(k => k is OpCodeOperandKind.imm8 or OpCodeOperandKind.imm8_const_1
            or OpCodeOperandKind.imm8sex16 or OpCodeOperandKind.imm8sex32 or OpCodeOperandKind.imm16 or OpCodeOperandKind.imm32);
        var signedImmediate = kinds.Any(k => k is OpCodeOperandKind.imm8sex16 or OpCodeOperandKind.imm8sex32);
        var isMemory = kinds.Contains(OpCodeOperandKind.mem);

        return (_opCode.OpCount, hasImmediate, isMemory) switch
        {
            (0, _, _) => Instruction.Create(code),
            (1, false, _) => Instruction.Create(code, r[0]),
            (2, false, true) => Instruction.Create(code, r[0], memory),
            (2, false, false) => Instruction.Create(code, r[0], r[1]),
            (2, true, _) when signedImmediate => Instruction.Create(code, r[0], (int)immediate),
            (2, true, _) => Instruction.Create(code, r[0], immediate),
            (3, false, _) => Instruction.Create(code, r[0], r[1], r[2]),
            (3, true, _) when signedImmediate => Instruction.Create(code, r[0], r[1], (int)immediate),
            (3, true, _) => Instruction.Create(code, r[0], r[1], immediate),
            _ => throw new NotSupportedException($"{_form.Name}: no way to build {_opCode.OpCount} operands."),
        };
    }

    private RegisterFile RandomState(in Instruction instruction)
    {
        for (var attempt = 0; ; attempt++)
        {
            var state = new RegisterFile
            {
                Eax = Register32(),
                Ecx = Register32(),
                Edx = Register32(),
                Ebx = Register32(),
                Ebp = Register32(),
                Esi = Register32(),
                Edi = Register32(),
                // All six status flags at random, DF sometimes: the instruction must read CF where it should and
                // leave alone what it should not touch.
                Eflags = (_rng.NextUInt() & FlagBits.Arithmetic) | (_rng.OneIn(4) ? FlagBits.DF : 0) | FlagBits.Reserved1,
            };

            // Explicit register operands get a size-appropriate edge value more often than the background noise.
            for (var i = 0; i < instruction.OpCount; i++)
            {
                if (instruction.GetOpKind(i) == OpKind.Register && _rng.OneIn(2))
                {
                    var register = instruction.GetOpRegister(i);
                    NativeOracle.WriteRegister(ref state, register, Interesting(register.GetSize() * 8));
                }
            }

            Specialise(instruction, ref state);

            if (instruction.Mnemonic is not (Mnemonic.Div or Mnemonic.Idiv) || !NativeOracle.WouldDivideFault(instruction, state))
                return state;
            if (attempt >= 32)
                return SafeDivision(instruction, state);
        }
    }

    /// <summary>Per-instruction nudges towards the interesting paths random values rarely reach.</summary>
    private void Specialise(in Instruction instruction, ref RegisterFile state)
    {
        var mnemonic = instruction.Mnemonic;

        // Shift by CL: the count distribution matters far more than the rest of ECX.
        if (IsShift && instruction.GetOpKind(instruction.OpCount - 1) == OpKind.Register
            && instruction.GetOpRegister(instruction.OpCount - 1) == Register.CL)
        {
            NativeOracle.WriteRegister(ref state, Register.CL, ShiftCount());
            return;
        }

        if (IsShift) return;

        // Equal operands reach the ZF paths of CMP/SUB/XOR and CMPXCHG's store path; negated ones reach ADD's
        // zero result with a carry. Random values almost never do either.
        if (instruction.OpCount >= 2 && instruction.Op0Kind == OpKind.Register && _rng.OneIn(6))
        {
            var dst = instruction.Op0Register;
            uint? other = instruction.Op1Kind switch
            {
                OpKind.Register when instruction.Op1Register.GetSize() == dst.GetSize() =>
                    NativeOracle.ReadRegister(state, instruction.Op1Register),
                OpKind.Immediate8 or OpKind.Immediate16 or OpKind.Immediate32 or OpKind.Immediate8to16 or OpKind.Immediate8to32 =>
                    (uint)instruction.GetImmediate(1),
                _ => null,
            };
            if (other is { } value)
                NativeOracle.WriteRegister(ref state, dst, _rng.OneIn(3) ? 0u - value : value);
        }

        switch (mnemonic)
        {
            case Mnemonic.Cmpxchg when _rng.OneIn(2):
                {
                    // Half the time the accumulator matches, so the store path runs as often as the load path.
                    var accumulator = instruction.Op0Register.GetSize() switch { 1 => Register.AL, 2 => Register.AX, _ => Register.EAX };
                    NativeOracle.WriteRegister(ref state, accumulator, NativeOracle.ReadRegister(state, instruction.Op0Register));
                    break;
                }
            case Mnemonic.Bsf or Mnemonic.Bsr when _rng.OneIn(8):
                NativeOracle.WriteRegister(ref state, instruction.Op1Register, 0);
                break;
            case Mnemonic.Bsf or Mnemonic.Bsr when _rng.OneIn(4):
                // A single set bit anywhere: both scans must find exactly it.
                NativeOracle.WriteRegister(ref state, instruction.Op1Register, 1u << _rng.Below(instruction.Op1Register.GetSize() * 8));
                break;
            case Mnemonic.Div or Mnemonic.Idiv when _rng.OneIn(2):
                MakeQuotientFit(instruction, ref state);
                break;
        }
    }

    /// <summary>
    /// Random dividends overflow most random divisors; shrink the high half of the dividend so the quotient fits
    /// (usually — the retry loop catches the rest), keeping the values near the overflow boundary interesting.
    /// </summary>
    private void MakeQuotientFit(in Instruction instruction, ref RegisterFile state)
    {
        var divisorRegister = instruction.Op0Register;
        var size = divisorRegister.GetSize();
        var high = size switch { 1 => Register.AH, 2 => Register.DX, _ => Register.EDX };
        var low = size switch { 1 => Register.AL, 2 => Register.AX, _ => Register.EAX };
        var divisor = NativeOracle.ReadRegister(state, divisorRegister);
        if (instruction.Mnemonic == Mnemonic.Div)
        {
            // DIV: the quotient fits exactly when high < divisor.
            if (divisor != 0) NativeOracle.WriteRegister(ref state, high, (uint)(_rng.Next() % divisor));
        }
        else
        {
            // IDIV: a sign-extended low half always fits except MIN / -1.
            var lowValue = NativeOracle.ReadRegister(state, low);
            var negative = (lowValue >> (size * 8 - 1)) != 0;
            NativeOracle.WriteRegister(ref state, high, negative ? uint.MaxValue : 0);
        }
    }

    private static RegisterFile SafeDivision(in Instruction instruction, RegisterFile state)
    {
        var size = instruction.Op0Register.GetSize();
        var high = size switch { 1 => Register.AH, 2 => Register.DX, _ => Register.EDX };
        NativeOracle.WriteRegister(ref state, high, 0);
        if (NativeOracle.WouldDivideFault(instruction, state))
            NativeOracle.WriteRegister(ref state, instruction.Op0Register, 7);
        if (NativeOracle.WouldDivideFault(instruction, state))
            throw new InvalidOperationException($"No safe division found for {instruction} with {state}.");
        return state;
    }

    /// <summary>A random 32-bit register: edges, edges in one lane, or noise.</summary>
    private uint Register32() => _rng.Below(8) switch
    {
        0 => _rng.Pick(Edges32),
        1 => (_rng.NextUInt() & 0xFFFF_0000) | Interesting(16),
        2 => (_rng.NextUInt() & 0xFFFF_FF00) | Interesting(8),
        3 => (_rng.NextUInt() & 0xFFFF_00FF) | (Interesting(8) << 8),
        4 => (uint)_rng.Below(64),
        _ => _rng.NextUInt(),
    };

    /// <summary>A value of <paramref name="bits"/> bits, biased to the limits where flags change.</summary>
    private uint Interesting(int bits)
    {
        var mask = bits == 32 ? uint.MaxValue : (1u << bits) - 1;
        var signBit = 1u << (bits - 1);
        return _rng.Below(8) switch
        {
            0 => _rng.Pick(Edges32) & mask,
            // The size's own limits: 0, 1, max signed, min signed, all ones, and one step away from each.
            1 => _rng.Pick([0u, 1u, signBit - 1, signBit, mask, mask - 1, signBit + 1, signBit - 2]) & mask,
            2 => (uint)(_rng.Below(33) - 16) & mask, // small, either sign
            3 => (signBit + (uint)(_rng.Below(33) - 16)) & mask, // around the sign boundary
            _ => _rng.NextUInt() & mask,
        };
    }

    /// <summary>Shift counts: 0, 1, the size's edges, the 5-bit mask's edges, and anything up to 255.</summary>
    private uint ShiftCount()
    {
        var size = (uint)(_opCode.GetOpKind(0) switch
        {
            OpCodeOperandKind.r8_or_mem => 8,
            OpCodeOperandKind.r16_or_mem => 16,
            _ => 32,
        });
        return _rng.Below(4) switch
        {
            0 => _rng.Pick([0u, 1u, 2u, size - 1, size, size + 1, 9u, 17u, 31u, 32u, 33u, 63u, 64u, 255u]),
            1 => (uint)_rng.Below(256),
            // Mostly within the operand: counts past its size only zero it (but RCL/RCR by 9..31 still matter).
            _ => (uint)_rng.Below((int)size + 2),
        };
    }

    /// <summary>LEA's address: any mix of base, index, scale and displacement, but never a bare displacement
    /// (that is RIP-relative on the 64-bit host) and never ESP.</summary>
    private MemoryOperand RandomAddress()
    {
        var @base = _rng.OneIn(5) ? Register.None : _rng.Pick(Gpr32);
        var index = _rng.OneIn(4) ? Register.None : _rng.Pick(Gpr32);
        if (@base == Register.None && index == Register.None) @base = _rng.Pick(Gpr32);
        var scale = index == Register.None ? 1 : 1 << _rng.Below(4);
        var displacement = _rng.Below(4) switch
        {
            0 => 0,
            1 => (sbyte)_rng.NextUInt(),
            2 => (int)_rng.Pick(Edges32),
            _ => (int)_rng.NextUInt(),
        };
        // Without a base the SIB form always carries a 32-bit displacement; with one, the shortest form is used.
        var displacementSize = @base == Register.None ? 4
            : displacement == 0 ? 0
            : displacement is >= sbyte.MinValue and <= sbyte.MaxValue ? 1
            : 4;
        return new MemoryOperand(@base, index, scale, displacement, displacementSize);
    }

    private static ulong Fnv1A(string text)
    {
        var hash = 0xCBF2_9CE4_8422_2325UL;
        foreach (var c in text)
        {
            hash ^= c;
            hash *= 0x0100_0000_01B3UL;
        }
        return hash;
    }
}
