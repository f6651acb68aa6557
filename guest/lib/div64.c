/* 64-bit division helpers that gcc calls on i386 (printf.c's 64-bit conversions need them, and
 * the testkernel divides 64-bit values itself). libgcc is not linked (a 32-bit libgcc is not
 * guaranteed to be installed), so these are written here with shift-and-subtract; they use no
 * division themselves, so gcc cannot turn them back into calls to themselves. */
#include <stdint.h>

uint64_t __udivmoddi4(uint64_t num, uint64_t den, uint64_t *rem);
uint64_t __udivdi3(uint64_t num, uint64_t den);
uint64_t __umoddi3(uint64_t num, uint64_t den);
int64_t __divdi3(int64_t num, int64_t den);
int64_t __moddi3(int64_t num, int64_t den);
int64_t __divmoddi4(int64_t num, int64_t den, int64_t *rem);

uint64_t __udivmoddi4(uint64_t num, uint64_t den, uint64_t *rem)
{
    if (den == 0) {
        /* Match the hardware: dividing by zero faults. */
        volatile uint32_t zero = 0;
        return 1u / zero;
    }
    uint64_t quot = 0, r = 0;
    for (int bit = 63; bit >= 0; bit--) {
        r = (r << 1) | ((num >> bit) & 1);
        if (r >= den) {
            r -= den;
            quot |= (uint64_t)1 << bit;
        }
    }
    if (rem)
        *rem = r;
    return quot;
}

uint64_t __udivdi3(uint64_t num, uint64_t den) { return __udivmoddi4(num, den, 0); }

uint64_t __umoddi3(uint64_t num, uint64_t den)
{
    uint64_t r = 0;
    __udivmoddi4(num, den, &r);
    return r;
}

/* Signed versions truncate toward zero; the remainder takes the dividend's sign, as in C. */
int64_t __divdi3(int64_t num, int64_t den)
{
    uint64_t q = __udivmoddi4(num < 0 ? -(uint64_t)num : (uint64_t)num, den < 0 ? -(uint64_t)den : (uint64_t)den, 0);
    return (int64_t)((num < 0) != (den < 0) ? 0 - q : q);
}

int64_t __moddi3(int64_t num, int64_t den)
{
    uint64_t r = 0;
    __udivmoddi4(num < 0 ? -(uint64_t)num : (uint64_t)num, den < 0 ? -(uint64_t)den : (uint64_t)den, &r);
    return (int64_t)(num < 0 ? 0 - r : r);
}

/* gcc calls this when a function needs both the quotient and the remainder. */
int64_t __divmoddi4(int64_t num, int64_t den, int64_t *rem)
{
    if (rem)
        *rem = __moddi3(num, den);
    return __divdi3(num, den);
}
