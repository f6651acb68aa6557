/* A tiny printf onto the UART: %c %s %d %i %u %x %X %p, the '0' and '-' flags, a width, and the
 * l/ll length modifiers. 64-bit conversions go through __udivdi3/__umoddi3 (div64.c), which is
 * deliberate: printing exercises them too. Every value is formatted as 64 bits, so a kernel that
 * only prints 32-bit values prints exactly what a 32-bit printf would. */
#include <stdint.h>

#include "console.h"
#include "libc.h"

static void pad(int count, char c)
{
    while (count-- > 0)
        uart_putc(c);
}

static void put_field(const char *s, int len, int width, int left, char padc)
{
    if (!left)
        pad(width - len, padc);
    for (int i = 0; i < len; i++)
        uart_putc(s[i]);
    if (left)
        pad(width - len, ' ');
}

static int format_unsigned(char *out, uint64_t value, unsigned base, int upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = digits[value % base];
        value /= base;
    } while (value != 0);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

void kvprintf(const char *fmt, va_list ap)
{
    char buf[24];
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            uart_putc(*fmt);
            continue;
        }
        fmt++;
        int left = 0;
        char padc = ' ';
        for (;; fmt++) {
            if (*fmt == '-')
                left = 1;
            else if (*fmt == '0')
                padc = '0';
            else
                break;
        }
        int width = 0;
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        int longs = 0;
        while (*fmt == 'l') {
            longs++;
            fmt++;
        }
        switch (*fmt) {
        case 'c':
            buf[0] = (char)va_arg(ap, int);
            put_field(buf, 1, width, left, ' ');
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            put_field(s, (int)strlen(s), width, left, ' ');
            break;
        }
        case 'd':
        case 'i': {
            int64_t v = longs >= 2 ? va_arg(ap, int64_t) : va_arg(ap, int32_t);
            int n = 0;
            uint64_t magnitude = (uint64_t)v;
            if (v < 0) {
                buf[n++] = '-';
                magnitude = -magnitude;
            }
            n += format_unsigned(buf + n, magnitude, 10, 0);
            put_field(buf, n, width, left, padc);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'p': {
            uint64_t v = longs >= 2 ? va_arg(ap, uint64_t) : va_arg(ap, uint32_t);
            unsigned base = *fmt == 'u' ? 10 : 16;
            int n = format_unsigned(buf, v, base, *fmt == 'X');
            put_field(buf, n, width, left, padc);
            break;
        }
        case '%':
            uart_putc('%');
            break;
        case '\0':
            return;
        default:
            uart_putc('%');
            uart_putc(*fmt);
            break;
        }
    }
}

void kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
}
