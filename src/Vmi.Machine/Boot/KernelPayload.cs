using System.Buffers.Binary;
using System.IO.Compression;
using SharpCompress.Compressors.BZip2;
using SharpCompress.Compressors.LZMA;

namespace Vmi.Machine.Boot;

/// <summary>How a bzImage's payload is compressed, told by its first bytes (the magics lib/decompress.c knows).</summary>
public enum PayloadFormat
{
    Unknown,

    /// <summary>Not compressed: the payload is the vmlinux ELF itself.</summary>
    None,
    Gzip,
    Bzip2,
    Lzma,
    Xz,
    Lzo,
    Lz4,
    Zstd,
}

/// <summary>The payload after <see cref="KernelPayload.Decompress"/>: the vmlinux ELF, or why the host could not produce it.</summary>
public sealed record DecompressedPayload(PayloadFormat Format, byte[]? Vmlinux, string? NotHandled);

/// <summary>
/// Decompresses a bzImage's payload on the host, so the guest does not spend billions of
/// instructions doing it; formats without a decoder here are left to the kernel's own
/// decompressor (<see cref="DecompressedPayload.NotHandled"/> says why).
/// </summary>
/// <remarks>
/// The payload is the compressed vmlinux (for 32-bit kernels followed by its relocation table,
/// which this loader does not need), with the kernel build's size_append trailer: the decompressed
/// size as 4 little-endian bytes after the compressed stream (arch/x86/boot/compressed/Makefile,
/// read back by mkpiggy as z_output_len). The trailer is checked against the output, and bounds
/// how much host memory a payload may take. xz goes through <see cref="XzDecoder"/> (SharpCompress's
/// LZMA2, this project's x86 BCJ), gzip through System.IO.Compression, bzip2 and lzma through
/// SharpCompress; lzo, lz4 and zstd have no decoder here.
/// </remarks>
public static class KernelPayload
{
    public static PayloadFormat Detect(ReadOnlySpan<byte> payload) => payload switch
    {
        [0x7F, (byte)'E', (byte)'L', (byte)'F', ..] => PayloadFormat.None,
        [0x1F, 0x8B or 0x9E, ..] => PayloadFormat.Gzip,
        [(byte)'B', (byte)'Z', (byte)'h', ..] => PayloadFormat.Bzip2,
        [0x5D, 0x00, 0x00, ..] => PayloadFormat.Lzma,
        [0xFD, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0x00, ..] => PayloadFormat.Xz,
        [0x89, (byte)'L', (byte)'Z', (byte)'O', ..] => PayloadFormat.Lzo,
        [0x02, 0x21, 0x4C, 0x18, ..] => PayloadFormat.Lz4,
        [0x28, 0xB5, 0x2F, 0xFD, ..] => PayloadFormat.Zstd,
        _ => PayloadFormat.Unknown,
    };

    public static string Name(PayloadFormat format) => format switch
    {
        PayloadFormat.None => "uncompressed",
        PayloadFormat.Unknown => "unknown",
        _ => format.ToString().ToLowerInvariant(),
    };

    /// <summary>
    /// The vmlinux ELF in <paramref name="payload"/> (size trailer included), refusing anything over
    /// <paramref name="maxBytes"/>. A payload that claims a handled format but does not decode is a
    /// <see cref="BootImageException"/> at <paramref name="payloadFileOffset"/>.
    /// </summary>
    public static DecompressedPayload Decompress(ReadOnlySpan<byte> payload, long maxBytes, long payloadFileOffset)
    {
        PayloadFormat format = Detect(payload);
        if (format == PayloadFormat.None)
        {
            return new DecompressedPayload(format, payload.ToArray(), null);
        }
        if (format is PayloadFormat.Lzo or PayloadFormat.Lz4 or PayloadFormat.Zstd or PayloadFormat.Unknown)
        {
            string what = format == PayloadFormat.Unknown ? $"an unknown format (first bytes {Convert.ToHexString(payload[..Math.Min(4, payload.Length)])})" : Name(format);
            return new DecompressedPayload(format, null, $"the payload is {what}, which vmi cannot decompress on the host");
        }
        ReadOnlySpan<byte> stream = payload[..^4];
        uint declared = BinaryPrimitives.ReadUInt32LittleEndian(payload[^4..]);
        long trailerOffset = payloadFileOffset + payload.Length - 4;
        if (declared > maxBytes)
        {
            throw new BootImageException(
                $"Linux payload ({Name(format)}) size trailer says it decompresses to 0x{declared:X} bytes, more than the 0x{maxBytes:X} this machine can hold", trailerOffset);
        }
        byte[] output;
        try
        {
            output = format switch
            {
                PayloadFormat.Xz => XzDecoder.Decode(stream, declared),
                PayloadFormat.Gzip => ReadCapped(new GZipStream(new MemoryStream(stream.ToArray()), CompressionMode.Decompress), declared),
                PayloadFormat.Bzip2 => ReadCapped(BZip2Stream.Create(new MemoryStream(stream.ToArray()), SharpCompress.Compressors.CompressionMode.Decompress, false, false, false), declared),
                _ => DecodeLzmaAlone(stream, declared),
            };
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever a decoder throws on a bad stream (InvalidDataException, SharpCompress's DataErrorException,
            // an index out of range on a bad back-reference) is bad input, reported as such; it never reaches the host.
            throw new BootImageException($"Linux payload ({Name(format)}) does not decompress: {e.Message}", payloadFileOffset);
        }
        if (output.Length != declared)
        {
            throw new BootImageException(
                $"Linux payload ({Name(format)}) decompresses to 0x{output.Length:X} bytes but its size trailer says 0x{declared:X}", trailerOffset);
        }
        return new DecompressedPayload(format, output, null);
    }

    /// <summary>The .lzma ("LZMA alone") format: 5 property bytes, a 64-bit size (all ones: unknown), then the stream.</summary>
    private static byte[] DecodeLzmaAlone(ReadOnlySpan<byte> stream, uint declared)
    {
        if (stream.Length < 13)
        {
            throw new InvalidDataException("lzma: shorter than its 13-byte header");
        }
        ulong size = BinaryPrimitives.ReadUInt64LittleEndian(stream[5..]);
        if (size != ulong.MaxValue && size != declared)
        {
            throw new InvalidDataException($"lzma: header size 0x{size:X} differs from the size trailer 0x{declared:X}");
        }
        var input = new MemoryStream(stream[13..].ToArray());
        return ReadCapped(LzmaStream.Create(stream[..5].ToArray(), input, input.Length, declared, false), declared);
    }

    /// <summary>Reads up to one byte past <paramref name="declared"/>, so a stream longer than its trailer is caught without reading it all.</summary>
    private static byte[] ReadCapped(Stream decoder, uint declared)
    {
        using (decoder)
        {
            var buffer = new byte[(long)declared + 1];
            int got = decoder.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            return buffer[..got];
        }
    }
}
