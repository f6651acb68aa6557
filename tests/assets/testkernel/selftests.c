/* Deterministic CPU self-tests. Inputs come through a volatile so gcc cannot fold the work away
 * at compile time: the point is to make the CPU under test execute it. Each test checks its own
 * result against a known answer and prints one "ok <name> <value>" or "FAIL <name> <value>". */
#include "kernel.h"

static volatile uint32_t seed = 0x2545F491u;

static uint32_t input(uint32_t salt)
{
    return seed ^ salt;
}

static void arithmetic_test(void)
{
    uint32_t a = input(0), b = input(0x1111);          /* 0x2545F491, 0x2545E580 */
    uint32_t mul = a * b;                              /* 32-bit wrap-around */
    uint64_t wide = (uint64_t)a * b;                   /* MUL with a 64-bit result */
    int32_t sa = -(int32_t)(a >> 4), sb = (int32_t)(b >> 20);
    int32_t sdiv = sa / sb, smod = sa % sb;            /* IDIV, truncation toward zero */
    uint32_t shifts = (a << 7) ^ (a >> 3) ^ (uint32_t)((int32_t)a >> 5);
    uint32_t rot = (a << 13) | (a >> 19);

    uint64_t big = ((uint64_t)a << 32) | b;
    uint64_t q = big / 1000000007u, r = big % 1000000007u; /* __udivdi3 / __umoddi3 */
    int64_t sbig = -(int64_t)big;
    int64_t sq = sbig / 12345, sr = sbig % 12345;          /* __divdi3 / __moddi3 */
    uint64_t all = ~(uint64_t)0;

    int passed = q * 1000000007u + r == big && r < 1000000007u &&
                 (uint64_t)(sq * 12345 + sr) == (uint64_t)sbig && sr <= 0 && sr > -12345 &&
                 all / 10 == 0x1999999999999999ull && all % 10 == 5 &&
                 sdiv * sb + smod == sa && (smod <= 0) && wide == 0x056D499E16D4FD80ull;
    uint32_t value = mul ^ (uint32_t)(wide >> 32) ^ (uint32_t)sdiv ^ (uint32_t)smod ^ shifts ^ rot ^ (uint32_t)q ^ (uint32_t)r ^
                     (uint32_t)sq ^ (uint32_t)sr;
    report("arith", passed, "%08x", value);
}

static uint8_t src_buf[1024], dst_buf[1024];

static void string_ops_test(void)
{
    for (uint32_t i = 0; i < sizeof(src_buf); i++)
        src_buf[i] = (uint8_t)(input(i) * 31 + i);
    memset(dst_buf, 0x5A, sizeof(dst_buf));
    int passed = 1;
    for (uint32_t i = 0; i < sizeof(dst_buf); i++)
        passed &= dst_buf[i] == 0x5A;

    /* Odd lengths and offsets so the copies are not all word-aligned. */
    memcpy(dst_buf + 3, src_buf + 1, 777);
    for (uint32_t i = 0; i < 777; i++)
        passed &= dst_buf[3 + i] == src_buf[1 + i];
    passed &= dst_buf[2] == 0x5A && dst_buf[780] == 0x5A;

    memmove(dst_buf + 10, dst_buf + 3, 500); /* overlapping, copies backwards (STD) */
    for (uint32_t i = 0; i < 500; i++)
        passed &= dst_buf[10 + i] == src_buf[1 + i];

    uint32_t flags;
    __asm__ volatile("pushfl\n\tpopl %0" : "=r"(flags));
    passed &= (flags & 0x400) == 0; /* DF must be clear again */
    report("rep-movs-stos", passed, "%08x", crc32(dst_buf, sizeof(dst_buf)));
}

static void strcmp_test(void)
{
    static const char *const words[] = {"alpha", "alphabet", "beta", "", "alpha", "Alpha"};
    static const int expected[] = {-1, -1, 1, -1, 1}; /* sign of strcmp(words[i], words[i + 1]) */
    int passed = 1;
    uint32_t signs = 0;
    for (int i = 0; i < 5; i++) {
        int c = strcmp(words[i], words[i + 1]);
        int sign = (c > 0) - (c < 0);
        passed &= sign == expected[i];
        signs = signs * 3 + (uint32_t)(sign + 1);
    }
    passed &= strncmp("multiboot", "multiplex", 5) == 0 && strncmp("multiboot", "multiplex", 6) < 0;
    passed &= memcmp("abc", "abd", 3) < 0 && strlen("vmi") == 3;
    report("strcmp", passed, "%u", signs);
}

/* Dense cases with different bodies so gcc emits an indirect jump through a table (a switch of
 * constants would become a lookup array instead). */
static __attribute__((noinline)) uint32_t switch_step(uint32_t op, uint32_t acc, uint32_t x)
{
    switch (op) {
    case 0: return acc + x;
    case 1: return acc - x * 3;
    case 2: return acc ^ (x << 5);
    case 3: return acc * 7 + 1;
    case 4: return (acc >> 3) | (x << 29);
    case 5: return acc + (x & 0xFF) * 11;
    case 6: return ~acc + x;
    case 7: return acc ^ 0xDEADBEEFu;
    case 8: return acc - (x >> 2);
    case 9: return (acc << 1) ^ x;
    default: return acc;
    }
}

static uint32_t switch_reference(uint32_t op, uint32_t acc, uint32_t x)
{
    if (op == 0) return acc + x;
    if (op == 1) return acc - x * 3;
    if (op == 2) return acc ^ (x << 5);
    if (op == 3) return acc * 7 + 1;
    if (op == 4) return (acc >> 3) | (x << 29);
    if (op == 5) return acc + (x & 0xFF) * 11;
    if (op == 6) return ~acc + x;
    if (op == 7) return acc ^ 0xDEADBEEFu;
    if (op == 8) return acc - (x >> 2);
    if (op == 9) return (acc << 1) ^ x;
    return acc;
}

static void switch_test(void)
{
    uint32_t acc = input(7), ref = acc;
    for (uint32_t i = 0; i < 200; i++) {
        uint32_t op = (i * 7 + (i >> 3)) % 11; /* 0-10: includes the default case */
        acc = switch_step(op, acc, i);
        ref = switch_reference(op, ref, i);
    }
    report("switch", acc == ref, "%08x", acc);
}

static uint32_t op_add(uint32_t a, uint32_t b) { return a + b; }
static uint32_t op_xor(uint32_t a, uint32_t b) { return a ^ b; }
static uint32_t op_mul(uint32_t a, uint32_t b) { return a * (b | 1); }
static uint32_t op_rol(uint32_t a, uint32_t b) { return (a << (b & 31)) | (a >> ((32 - (b & 31)) & 31)); }

static void function_pointer_test(void)
{
    static uint32_t (*const volatile ops[4])(uint32_t, uint32_t) = {op_add, op_xor, op_mul, op_rol};
    uint32_t acc = input(3), ref = acc;
    for (uint32_t i = 0; i < 64; i++) {
        acc = ops[i & 3](acc, i * 0x01010101u);
        uint32_t b = i * 0x01010101u;
        switch (i & 3) {
        case 0: ref = ref + b; break;
        case 1: ref = ref ^ b; break;
        case 2: ref = ref * (b | 1); break;
        default: ref = (ref << (b & 31)) | (ref >> ((32 - (b & 31)) & 31)); break;
        }
    }
    report("funcptr", acc == ref, "%08x", acc);
}

static __attribute__((noinline)) uint32_t fib(uint32_t n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static __attribute__((noinline)) uint32_t ackermann(uint32_t m, uint32_t n)
{
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

static void recursion_test(void)
{
    uint32_t zero = input(0) - input(0); /* two volatile reads: not foldable */
    uint32_t f = fib(20 + zero);
    uint32_t a = ackermann(2, 3 + zero) + ackermann(3, 3 + zero);
    report("recursion", f == 6765 && a == 9 + 61, "fib20=%u ack=%u", f, a);
}

uint32_t crc32(const void *data, size_t n)
{
    const uint8_t *p = data;
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int bit = 0; bit < 8; bit++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

static void crc32_test(void)
{
    static uint8_t buf[4096];
    for (uint32_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)((i * i) ^ (i >> 5) ^ input(0));
    uint32_t check = crc32("123456789", 9);
    report("crc32", check == 0xCBF43926u, "%08x", crc32(buf, sizeof(buf)));
}

static void insertion_sort(uint32_t *v, int n)
{
    for (int i = 1; i < n; i++) {
        uint32_t key = v[i];
        int j = i - 1;
        while (j >= 0 && v[j] > key) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = key;
    }
}

static void quicksort(int32_t *v, int lo, int hi)
{
    while (lo < hi) {
        int32_t pivot = v[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot) i++;
            while (v[j] > pivot) j--;
            if (i <= j) {
                int32_t t = v[i];
                v[i++] = v[j];
                v[j--] = t;
            }
        }
        /* Recurse into the smaller half, loop on the larger: bounded stack depth. */
        if (j - lo < hi - i) {
            quicksort(v, lo, j);
            lo = i;
        } else {
            quicksort(v, i, hi);
            hi = j;
        }
    }
}

static void sort_test(void)
{
    static uint32_t u[300];
    static int32_t s[1000];
    uint32_t x = input(0x55), sum_before = 0, sum_after = 0;
    for (int i = 0; i < 300; i++) {
        x = x * 1664525u + 1013904223u;
        u[i] = x >> 8;
    }
    for (int i = 0; i < 1000; i++) {
        x = x * 1664525u + 1013904223u;
        s[i] = (int32_t)x;
        sum_before += x;
    }
    insertion_sort(u, 300);
    quicksort(s, 0, 999);
    int passed = 1;
    for (int i = 1; i < 300; i++)
        passed &= u[i - 1] <= u[i];
    for (int i = 0; i < 1000; i++) {
        passed &= i == 0 || s[i - 1] <= s[i];
        sum_after += (uint32_t)s[i];
    }
    passed &= sum_before == sum_after;
    report("sort", passed, "%08x", crc32(u, sizeof(u)) ^ crc32(s, sizeof(s)));
}

void run_selftests(void)
{
    arithmetic_test();
    string_ops_test();
    strcmp_test();
    switch_test();
    function_pointer_test();
    recursion_test();
    crc32_test();
    sort_test();
}
