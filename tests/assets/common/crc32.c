/* CRC-32 (IEEE, reflected, as zlib): the checksum the test kernels print for the bytes a loader
 * gave them (modules, an initrd), which the tests compute on the host side too. */
#include "crc32.h"

uint32_t crc32(const uint8_t *p, uint32_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1));
    }
    return ~crc;
}
