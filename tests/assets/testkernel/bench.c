/* A compute-bound loop for benchmarking the CPU: mixed ALU work, loads and stores to a 1 KiB
 * table, and data-dependent branches. One iteration is 16 steps, about 400 instructions, so
 * iters=1000000 runs a few hundred million instructions. The checksum makes the result
 * observable (and comparable with QEMU). */
#include "kernel.h"

static uint32_t table[256];

uint32_t bench_loop(uint32_t iters)
{
    uint32_t x = 0x12345678u, sum = 0;
    for (uint32_t i = 0; i < 256; i++)
        table[i] = i * 2654435761u;

    for (uint32_t it = 0; it < iters; it++) {
        for (int step = 0; step < 16; step++) {
            x ^= x << 13; /* xorshift32 */
            x ^= x >> 17;
            x ^= x << 5;
            uint32_t idx = x & 255;
            if (x & 0x100)
                table[idx] += x ^ sum;
            else
                sum ^= table[idx] >> 3;
            switch ((x >> 9) & 3) {
            case 0: sum += idx; break;
            case 1: sum = (sum << 1) | (sum >> 31); break;
            case 2: sum -= x >> 20; break;
            default: sum *= 0x9E3779B1u; break;
            }
        }
    }
    for (uint32_t i = 0; i < 256; i++)
        sum += table[i] * (i | 1);
    return sum;
}
