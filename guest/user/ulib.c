/* User-side helpers: console output through write(2), FNV-style hashing for check values, the
 * cycle counter (RDTSC is allowed at CPL 3 while CR4.TSD is clear), and the RESULT line. */
#include "user/ulib.h"

void uputs(const char *s)
{
    uint32_t n = 0;
    while (s[n])
        n++;
    sys_write(s, n);
}

static void put_number(uint32_t v, uint32_t base, int width)
{
    char buf[12];
    int i = 11;
    buf[i] = '\0';
    do {
        buf[--i] = "0123456789abcdef"[v % base];
        v /= base;
        width--;
    } while (v || width > 0);
    uputs(buf + i);
}

void uput_hex(uint32_t v) { put_number(v, 16, 8); }

void uput_dec(uint32_t v) { put_number(v, 10, 1); }

/* A 64-bit count in decimal, right-aligned in `width` columns. By subtracting powers of ten, since
 * a 32-bit user program has no 64-bit division (that lives in libgcc, which we do not link). */
static void uput_dec64(uint64_t v, int width)
{
    static const uint64_t powers[] = {
        10000000000000000000ull, 1000000000000000000ull, 100000000000000000ull, 10000000000000000ull,
        1000000000000000ull, 100000000000000ull, 10000000000000ull, 1000000000000ull, 100000000000ull,
        10000000000ull, 1000000000ull, 100000000ull, 10000000ull, 1000000ull, 100000ull, 10000ull,
        1000ull, 100ull, 10ull, 1ull,
    };
    char buf[21];
    int n = 0;
    for (unsigned i = 0; i < sizeof powers / sizeof powers[0]; i++) {
        char digit = '0';
        while (v >= powers[i]) {
            v -= powers[i];
            digit++;
        }
        if (digit != '0' || n > 0 || i == sizeof powers / sizeof powers[0] - 1)
            buf[n++] = digit;
    }
    buf[n] = '\0';
    for (int pad = width - n; pad > 0; pad--)
        uputs(" ");
    uputs(buf);
}

uint32_t hash32(uint32_t h, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        h ^= (v >> (8 * i)) & 0xFF;
        h *= 16777619u;
    }
    return h;
}

uint64_t user_cycles(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* "RESULT bench=<name> iters=<n> check=<hex>" is deterministic and compared across machines; the
 * cycles are on their own line, which depends on the machine, in a fixed width: so runs that differ
 * only in their iteration count print the same number of characters (vmi compare subtracts them). */
void report_result(const char *bench, uint32_t iters, uint32_t check, uint64_t cycles)
{
    uputs("RESULT bench=");
    uputs(bench);
    uputs(" iters=");
    uput_dec(iters);
    uputs(" check=");
    uput_hex(check);
    uputs("\ncycles bench=");
    uputs(bench);
    uputs(" ");
    uput_dec64(cycles, 12);
    uputs("\n");
}
