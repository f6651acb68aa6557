using System.Buffers.Binary;
using System.Security.Cryptography;
using SharpCompress.Compressors.LZMA;

namespace Vmi.Machine.Boot;

/// <summary>
/// Decodes an .xz stream (The .xz File Format 1.0.4): the container is read here, each block's
/// LZMA2 data is decompressed by SharpCompress, and the x86 BCJ filter Linux puts in front of LZMA2
/// is undone by <see cref="BcjX86Decoder"/>.
/// </summary>
/// <remarks>
/// SharpCompress's own XZStream is not used whole because its x86 filter (0.50.8) converts each
/// read's buffer from index 0 to its end and keeps no state between reads, so a kernel read in
/// pieces comes out corrupted (its block check fails); its LZMA2 decoder is sound and is what
/// this class uses. Sizes are taken from the index at the end of the stream, so every block's
/// compressed and uncompressed size is known before it is decoded and nothing is read past it;
/// every CRC in the container is checked, and each block's check (CRC32, CRC64 or SHA-256, as the
/// stream says) over its output. Any problem is an <see cref="InvalidDataException"/> naming the
/// part of the container at fault, with its offset.
/// </remarks>
public static class XzDecoder
{
    public static ReadOnlySpan<byte> Magic => [0xFD, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0x00];

    private static ReadOnlySpan<byte> FooterMagic => [(byte)'Y', (byte)'Z'];

    private const int HeaderSize = 12;
    private const int FooterSize = 12;
    private const ulong FilterX86 = 0x04;
    private const ulong FilterLzma2 = 0x21;

    /// <summary>Decodes every stream in <paramref name="xz"/> (streams may be concatenated, with null padding between); refuses output over <paramref name="maxOutputBytes"/>.</summary>
    public static byte[] Decode(ReadOnlySpan<byte> xz, long maxOutputBytes)
    {
        var streams = new List<(int Start, int End)>();
        int end = xz.Length;
        while (end > 0)
        {
            // Stream padding: null bytes in multiples of four after a stream.
            while (end >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(xz[(end - 4)..end]) == 0)
            {
                end -= 4;
            }
            int start = StreamStart(xz, end);
            streams.Insert(0, (start, end));
            end = start;
        }
        if (streams.Count == 0)
        {
            throw new InvalidDataException("xz: empty input");
        }
        var output = new MemoryStream();
        foreach (var (start, streamEnd) in streams)
        {
            DecodeStream(xz, start, streamEnd, output, maxOutputBytes);
        }
        return output.ToArray();
    }

    /// <summary>Where the stream ending at <paramref name="end"/> starts, from its footer's backward size and its index.</summary>
    private static int StreamStart(ReadOnlySpan<byte> xz, int end)
    {
        var (flags, indexStart) = ReadFooter(xz, end);
        var index = ReadIndex(xz, indexStart, end - FooterSize);
        long blocks = index.Sum(r => Align4(r.UnpaddedSize));
        long start = indexStart - blocks - HeaderSize;
        if (start < 0)
        {
            throw new InvalidDataException($"xz: the index at offset 0x{indexStart:X} lists 0x{blocks:X} bytes of blocks, more than precede it");
        }
        ReadStreamHeader(xz, (int)start, flags);
        return (int)start;
    }

    private static void DecodeStream(ReadOnlySpan<byte> xz, int start, int end, MemoryStream output, long maxOutputBytes)
    {
        var (flags, indexStart) = ReadFooter(xz, end);
        int checkSize = CheckSize(flags, start + 7);
        var index = ReadIndex(xz, indexStart, end - FooterSize);
        int at = start + HeaderSize;
        foreach (var record in index)
        {
            if (output.Length + (long)record.UncompressedSize > maxOutputBytes)
            {
                throw new InvalidDataException($"xz: the stream decompresses to more than {maxOutputBytes} bytes, the most this loader accepts");
            }
            byte[] block = DecodeBlock(xz, at, record, checkSize);
            VerifyCheck(flags & 0x0F, block, xz.Slice(at + (int)Align4(record.UnpaddedSize - checkSize), checkSize), at);
            output.Write(block);
            at += (int)Align4(record.UnpaddedSize);
        }
    }

    private readonly record struct IndexRecord(long UnpaddedSize, long UncompressedSize);

    private static (byte Flags, int IndexStart) ReadFooter(ReadOnlySpan<byte> xz, int end)
    {
        int footer = end - FooterSize;
        if (footer < HeaderSize)
        {
            throw new InvalidDataException($"xz: truncated: {end} bytes cannot hold a stream header and footer");
        }
        ReadOnlySpan<byte> f = xz.Slice(footer, FooterSize);
        if (!f[10..].SequenceEqual(FooterMagic))
        {
            throw new InvalidDataException($"xz: no stream footer magic 'YZ' at offset 0x{footer + 10:X} (truncated or trailing data?)");
        }
        VerifyCrc32(f[4..10], BinaryPrimitives.ReadUInt32LittleEndian(f), "stream footer", footer);
        if (f[8] != 0 || (f[9] & 0xF0) != 0)
        {
            throw new InvalidDataException($"xz: stream footer flags 0x{f[8]:X2}{f[9]:X2} at offset 0x{footer + 8:X} use reserved bits");
        }
        long indexSize = ((long)BinaryPrimitives.ReadUInt32LittleEndian(f[4..]) + 1) * 4;
        if (indexSize > footer)
        {
            throw new InvalidDataException($"xz: stream footer backward size 0x{indexSize:X} at offset 0x{footer + 4:X} points before the start of the input");
        }
        return (f[9], (int)(footer - indexSize));
    }

    private static void ReadStreamHeader(ReadOnlySpan<byte> xz, int start, byte footerFlags)
    {
        ReadOnlySpan<byte> h = xz.Slice(start, HeaderSize);
        if (!h[..6].SequenceEqual(Magic))
        {
            throw new InvalidDataException($"xz: no stream header magic FD 37 7A 58 5A 00 at offset 0x{start:X}");
        }
        VerifyCrc32(h[6..8], BinaryPrimitives.ReadUInt32LittleEndian(h[8..]), "stream header", start);
        if (h[6] != 0 || h[7] != footerFlags)
        {
            throw new InvalidDataException($"xz: stream header flags 0x{h[6]:X2}{h[7]:X2} at offset 0x{start + 6:X} differ from the footer's 0x00{footerFlags:X2}");
        }
    }

    private static List<IndexRecord> ReadIndex(ReadOnlySpan<byte> xz, int start, int end)
    {
        ReadOnlySpan<byte> index = xz[start..end];
        if (index.Length < 8 || index[0] != 0)
        {
            throw new InvalidDataException($"xz: no index indicator (0x00) at offset 0x{start:X}");
        }
        VerifyCrc32(index[..^4], BinaryPrimitives.ReadUInt32LittleEndian(index[^4..]), "index", start);
        int at = 1;
        ulong count = ReadVli(index, ref at, "index record count", start);
        var records = new List<IndexRecord>();
        for (ulong i = 0; i < count; i++)
        {
            ulong unpadded = ReadVli(index, ref at, "index unpadded size", start);
            ulong uncompressed = ReadVli(index, ref at, "index uncompressed size", start);
            if (unpadded is < 5 or > int.MaxValue || uncompressed > int.MaxValue)
            {
                throw new InvalidDataException($"xz: index record {i} at offset 0x{start:X} has sizes 0x{unpadded:X}/0x{uncompressed:X} this decoder cannot hold");
            }
            records.Add(new IndexRecord((long)unpadded, (long)uncompressed));
        }
        if (Align4(at) != index.Length - 4)
        {
            throw new InvalidDataException($"xz: the index at offset 0x{start:X} is 0x{index.Length:X} bytes but its records end at 0x{at:X}");
        }
        return records;
    }

    private static byte[] DecodeBlock(ReadOnlySpan<byte> xz, int start, IndexRecord record, int checkSize)
    {
        int headerSize = (xz[start] + 1) * 4;
        if (xz[start] == 0 || start + headerSize > xz.Length)
        {
            throw new InvalidDataException($"xz: bad block header size byte 0x{xz[start]:X2} at offset 0x{start:X}");
        }
        ReadOnlySpan<byte> header = xz.Slice(start, headerSize);
        VerifyCrc32(header[..^4], BinaryPrimitives.ReadUInt32LittleEndian(header[^4..]), "block header", start);
        byte flags = header[1];
        if ((flags & 0x3C) != 0)
        {
            throw new InvalidDataException($"xz: block header flags 0x{flags:X2} at offset 0x{start + 1:X} use reserved bits");
        }
        int at = 2;
        long compressedSize = record.UnpaddedSize - headerSize - checkSize;
        if ((flags & 0x40) != 0 && ReadVli(header, ref at, "block compressed size", start) != (ulong)compressedSize)
        {
            throw new InvalidDataException($"xz: the block header at offset 0x{start:X} gives a compressed size the index contradicts");
        }
        if ((flags & 0x80) != 0 && ReadVli(header, ref at, "block uncompressed size", start) != (ulong)record.UncompressedSize)
        {
            throw new InvalidDataException($"xz: the block header at offset 0x{start:X} gives an uncompressed size the index contradicts");
        }
        var filters = new List<(ulong Id, byte[] Properties)>();
        for (int i = 0; i <= (flags & 3); i++)
        {
            ulong id = ReadVli(header, ref at, "filter ID", start);
            ulong size = ReadVli(header, ref at, "filter properties size", start);
            if (size > (ulong)(header.Length - 4 - at))
            {
                throw new InvalidDataException($"xz: filter 0x{id:X} in the block header at offset 0x{start:X} has more properties than the header holds");
            }
            filters.Add((id, header.Slice(at, (int)size).ToArray()));
            at += (int)size;
        }
        if (compressedSize <= 0 || start + headerSize + compressedSize > xz.Length)
        {
            throw new InvalidDataException($"xz: block at offset 0x{start:X}: the index's unpadded size 0x{record.UnpaddedSize:X} does not fit the input");
        }
        byte[] packed = xz.Slice(start + headerSize, (int)compressedSize).ToArray();
        return Unfilter(filters, packed, record.UncompressedSize, start);
    }

    /// <summary>LZMA2 last in the chain (it is what compressed), optionally the x86 BCJ filter before it.</summary>
    private static byte[] Unfilter(List<(ulong Id, byte[] Properties)> filters, byte[] packed, long size, int blockStart)
    {
        var (lastId, lzmaProperties) = filters[^1];
        if (lastId != FilterLzma2 || lzmaProperties.Length != 1 || lzmaProperties[0] > 40)
        {
            throw new InvalidDataException($"xz: block at offset 0x{blockStart:X}: the last filter is 0x{lastId:X}, not LZMA2 (0x21) with a valid dictionary size; this decoder handles LZMA2, optionally after x86 BCJ");
        }
        var output = new byte[size];
        int got;
        try
        {
            using var lzma2 = LzmaStream.Create(lzmaProperties, new MemoryStream(packed), packed.Length, size, null, isLzma2: true, leaveOpen: false);
            got = lzma2.ReadAtLeast(output, output.Length, throwOnEndOfStream: false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The decoder's own exceptions (DataErrorException, index errors on bad distances) all mean corrupt input.
            throw new InvalidDataException($"xz: block at offset 0x{blockStart:X}: LZMA2 data is corrupt ({e.Message})", e);
        }
        if (got != size)
        {
            throw new InvalidDataException($"xz: block at offset 0x{blockStart:X}: LZMA2 data ends after 0x{got:X} of 0x{size:X} bytes");
        }
        for (int i = filters.Count - 2; i >= 0; i--)
        {
            var (id, properties) = filters[i];
            if (id != FilterX86 || properties.Length is not (0 or 4))
            {
                throw new InvalidDataException($"xz: block at offset 0x{blockStart:X}: filter 0x{id:X} is not supported (only x86 BCJ, 0x04, before LZMA2)");
            }
            BcjX86Decoder.Decode(output, properties.Length == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(properties) : 0);
        }
        return output;
    }

    private static int CheckSize(byte flags, int offset) => (flags & 0x0F) switch
    {
        0x00 => 0,
        0x01 => 4,
        0x04 => 8,
        0x0A => 32,
        int other => throw new InvalidDataException($"xz: check type 0x{other:X} at offset 0x{offset:X} is not one of none, CRC32, CRC64, SHA-256"),
    };

    private static void VerifyCheck(int type, byte[] data, ReadOnlySpan<byte> stored, int blockStart)
    {
        byte[] computed = type switch
        {
            0x00 => [],
            0x01 => System.IO.Hashing.Crc32.Hash(data),
            0x04 => BitConverter.GetBytes(Crc64Xz(data)),
            _ => SHA256.HashData(data),
        };
        if (!stored.SequenceEqual(computed))
        {
            throw new InvalidDataException($"xz: block at offset 0x{blockStart:X}: the check over the decompressed data does not match (corrupt data)");
        }
    }

    private static void VerifyCrc32(ReadOnlySpan<byte> data, uint stored, string what, int offset)
    {
        if (System.IO.Hashing.Crc32.HashToUInt32(data) != stored)
        {
            throw new InvalidDataException($"xz: {what} CRC32 mismatch at offset 0x{offset:X}");
        }
    }

    /// <summary>Reads an xz variable-length integer: 7 bits a byte, low first, at most 9 bytes.</summary>
    private static ulong ReadVli(ReadOnlySpan<byte> data, ref int at, string what, int baseOffset)
    {
        ulong value = 0;
        for (int i = 0; i < 9; i++)
        {
            if (at >= data.Length)
            {
                break;
            }
            byte b = data[at++];
            value |= (ulong)(b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }
        throw new InvalidDataException($"xz: bad {what} (variable-length integer) near offset 0x{baseOffset + at:X}");
    }

    private static long Align4(long value) => (value + 3) & ~3L;

    private static ulong[]? s_crc64Table;

    /// <summary>CRC-64 as xz uses it: the ECMA-182 polynomial, reflected, initial and final value all ones.</summary>
    private static ulong Crc64Xz(ReadOnlySpan<byte> data)
    {
        ulong[] table = s_crc64Table ??= BuildCrc64Table();
        ulong crc = ulong.MaxValue;
        foreach (byte b in data)
        {
            crc = table[(byte)(crc ^ b)] ^ (crc >> 8);
        }
        return ~crc;
    }

    private static ulong[] BuildCrc64Table()
    {
        const ulong reflectedPolynomial = 0xC96C_5795_D787_0F42;
        var table = new ulong[256];
        for (uint i = 0; i < 256; i++)
        {
            ulong r = i;
            for (int k = 0; k < 8; k++)
            {
                r = (r & 1) != 0 ? (r >> 1) ^ reflectedPolynomial : r >> 1;
            }
            table[i] = r;
        }
        return table;
    }
}
