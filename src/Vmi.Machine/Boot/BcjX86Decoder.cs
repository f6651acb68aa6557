using System.Buffers.Binary;

namespace Vmi.Machine.Boot;

/// <summary>
/// Undoes xz's x86 branch/call/jump filter (filter ID 0x04, "BCJ x86"), which Linux applies before
/// LZMA2 when it compresses the kernel (scripts/xz_wrap.sh: <c>xz --x86 --lzma2</c>).
/// </summary>
/// <remarks>
/// The encoder turns the 32-bit relative operand of what looks like a CALL (E8) or JMP (E9) into
/// an absolute one (operand + position of the next instruction), so calls to one function look
/// alike and compress better; the decoder subtracts it again. Whether a byte E8/E9 is an opcode is
/// guessed, and encoder and decoder must guess the same way:
/// <list type="bullet">
/// <item>only an operand whose high byte is 00 or FF (a near target, forward or back) is converted,
/// and the result's high byte is again 00 or FF (from bit 24), so the decoder sees the same
/// candidates the encoder saw;</item>
/// <item>E8/E9 bytes seen within the three bytes before the current one and left unconverted
/// (<c>mask</c>, one bit per position) mean the current byte may be another one's operand:
/// the mask decides, by the table below, whether to convert it at all and which operand byte the
/// conversion must not turn into 00/FF (else the decoder, which sees the converted bytes, would
/// guess differently), which the loop fixes by converting again with that byte's bits flipped.</item>
/// </list>
/// Positions count from the start of the xz block (the filter's start offset property, 0 unless
/// given). The last four bytes are never converted: an operand needs all four. The block's bytes
/// are all in memory here, so one pass over the whole block is exact, with no state carried
/// between calls.
/// </remarks>
public static class BcjX86Decoder
{
    /// <summary>Whether an E8/E9 may be converted, by the mask of unconverted E8/E9 in the three bytes before it.</summary>
    private static readonly bool[] ConvertAllowed = [true, true, true, false, true, false, false, false];

    /// <summary>Which operand byte (counted from the high one) the mask says must not come out as 00/FF.</summary>
    private static readonly int[] GuardedByte = [0, 1, 2, 2, 3, 3, 3, 3];

    /// <summary>Decodes <paramref name="data"/> in place; <paramref name="startPosition"/> is the filter's start offset.</summary>
    public static void Decode(Span<byte> data, uint startPosition = 0) => Convert(data, startPosition, encode: false);

    /// <summary>The encoder, for tests that round-trip without the xz tool.</summary>
    public static void Encode(Span<byte> data, uint startPosition = 0) => Convert(data, startPosition, encode: true);

    private static void Convert(Span<byte> data, uint startPosition, bool encode)
    {
        if (data.Length < 5)
        {
            return;
        }
        int last = data.Length - 5; // the last position whose operand lies wholly inside the block
        uint mask = 0;
        int previous = -1; // where the last E8/E9 was, as a distance base
        int at = 0;
        while (at <= last)
        {
            if ((data[at] & 0xFE) != 0xE8)
            {
                at++;
                continue;
            }
            int distance = at - previous;
            previous = at;
            if (distance > 3)
            {
                mask = 0;
            }
            else
            {
                mask = (mask << (distance - 1)) & 7;
                if (mask != 0 && (!ConvertAllowed[mask] || IsNearHighByte(data[at + 4 - GuardedByte[mask]])))
                {
                    mask = ((mask << 1) & 7) | 1;
                    at++;
                    continue;
                }
            }
            if (!IsNearHighByte(data[at + 4]))
            {
                mask = ((mask << 1) & 7) | 1;
                at++;
                continue;
            }
            uint nextInstruction = unchecked(startPosition + (uint)at + 5);
            uint operand = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(at + 1, 4));
            uint result;
            while (true)
            {
                result = encode ? unchecked(operand + nextInstruction) : unchecked(operand - nextInstruction);
                if (mask == 0)
                {
                    break;
                }
                int shift = GuardedByte[mask] * 8;
                if (!IsNearHighByte((byte)(result >> (24 - shift))))
                {
                    break;
                }
                operand = result ^ ((1u << (32 - shift)) - 1);
            }
            // Bit 24 decides the high byte, so the output is a near operand again whatever the arithmetic gave.
            result = (result & 0x00FF_FFFF) | ((result & 0x0100_0000) != 0 ? 0xFF00_0000 : 0);
            BinaryPrimitives.WriteUInt32LittleEndian(data.Slice(at + 1, 4), result);
            at += 5;
            mask = 0;
        }
    }

    private static bool IsNearHighByte(byte b) => b is 0x00 or 0xFF;
}
