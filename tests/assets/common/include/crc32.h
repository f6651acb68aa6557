#ifndef TEST_COMMON_CRC32_H
#define TEST_COMMON_CRC32_H

#include <stdint.h>

uint32_t crc32(const uint8_t *p, uint32_t n);

#endif
