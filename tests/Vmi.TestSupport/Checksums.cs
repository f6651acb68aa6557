namespace Vmi.TestSupport;

public static class Checksums
{
    /// <summary>CRC-32 (IEEE, reflected, as zlib): the checksum the test kernels print for what they were given.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFF_FFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc >> 1) ^ (0xEDB8_8320u & (uint)-(int)(crc & 1));
            }
        }
        return ~crc;
    }
}
