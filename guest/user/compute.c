/* bench=compute: pure user arithmetic (xorshift and table updates), no kernel entry at all: it
 * must cost the same on every hypervisor. */
#include "user/ulib.h"

static uint32_t table[64];

uint32_t bench_compute(uint32_t iters)
{
    uint32_t x = 0x12345678u, sum = 0;
    for (uint32_t i = 0; i < iters; i++) {
        for (int step = 0; step < 16; step++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            table[x & 63] += x ^ sum;
            sum = (sum << 3 | sum >> 29) ^ table[(x >> 6) & 63];
        }
    }
    return sum;
}
