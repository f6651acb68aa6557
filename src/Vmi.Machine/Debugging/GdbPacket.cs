using System.Globalization;
using System.Text;

namespace Vmi.Machine.Debugging;

/// <summary>
/// The pieces of the GDB remote serial protocol that are pure text: packet framing
/// (<c>$body#cs</c>, the checksum being the sum of the body bytes modulo 256) and the hex
/// encodings of numbers and memory. Parsers return false on malformed input instead of throwing,
/// so whatever arrives on the socket can only ever earn an error reply.
/// </summary>
public static class GdbPacket
{
    /// <summary>The RSP interrupt request gdb sends (outside any packet) when the user presses Ctrl-C.</summary>
    public const byte InterruptByte = 0x03;

    public static byte Checksum(ReadOnlySpan<byte> body)
    {
        byte sum = 0;
        foreach (byte b in body)
        {
            sum += b;
        }
        return sum;
    }

    /// <summary>Frames <paramref name="body"/> as it goes on the wire. Bodies we send are ASCII hex or names, so nothing needs escaping.</summary>
    public static byte[] Frame(string body)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(body);
        byte[] packet = new byte[bytes.Length + 4];
        packet[0] = (byte)'$';
        bytes.CopyTo(packet, 1);
        packet[^3] = (byte)'#';
        byte sum = Checksum(bytes);
        packet[^2] = HexDigit(sum >> 4);
        packet[^1] = HexDigit(sum & 0xF);
        return packet;
    }

    public static byte HexDigit(int nibble) => (byte)"0123456789abcdef"[nibble & 0xF];

    public static int HexValue(int c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>A big-endian hex number as gdb writes addresses and lengths; false unless it fits in 32 bits.</summary>
    public static bool TryParseHex(ReadOnlySpan<char> text, out uint value)
    {
        value = 0;
        if (text.IsEmpty)
        {
            return false;
        }
        // Leading zeros are harmless (a 64-bit gdb may pad), but a ninth significant digit is an address we do not have.
        ReadOnlySpan<char> digits = text.TrimStart('0');
        if (digits.IsEmpty)
        {
            return true;
        }
        return digits.Length <= 8 && uint.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Decodes pairs of hex digits into bytes; false if the text is not exactly that.</summary>
    public static bool TryDecodeHex(ReadOnlySpan<char> text, Span<byte> destination)
    {
        if (text.Length != destination.Length * 2)
        {
            return false;
        }
        for (int i = 0; i < destination.Length; i++)
        {
            int hi = HexValue(text[2 * i]);
            int lo = HexValue(text[2 * i + 1]);
            if (hi < 0 || lo < 0)
            {
                return false;
            }
            destination[i] = (byte)((hi << 4) | lo);
        }
        return true;
    }

    public static void AppendHex(StringBuilder sb, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            sb.Append((char)HexDigit(b >> 4)).Append((char)HexDigit(b & 0xF));
        }
    }

    /// <summary>A 32-bit register value in target (little-endian) byte order, as 'g' and 'p' send it.</summary>
    public static void AppendLittleEndian32(StringBuilder sb, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BitConverter.TryWriteBytes(bytes, value);
        AppendHex(sb, bytes);
    }

    public static bool TryParseLittleEndian32(ReadOnlySpan<char> text, out uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        value = 0;
        if (!TryDecodeHex(text, bytes))
        {
            return false;
        }
        value = BitConverter.ToUInt32(bytes);
        return true;
    }

    /// <summary>Splits "ADDR,LENGTH" (the operands of m, M, Z and z after the type), both hex.</summary>
    public static bool TryParseAddressLength(ReadOnlySpan<char> text, out uint address, out uint length)
    {
        length = 0;
        int comma = text.IndexOf(',');
        address = 0;
        return comma > 0 && TryParseHex(text[..comma], out address) && TryParseHex(text[(comma + 1)..], out length);
    }
}
