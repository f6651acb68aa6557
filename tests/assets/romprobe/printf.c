/* A tiny printf: %c %s %d %u %x %X, the '0' and '-' flags and a width. Everything the probe
 * prints fits in 32 bits, so there are no 64-bit conversions (and no libgcc division helpers). */
#include "probe.h"

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

static int format_unsigned(char *out, uint32_t value, unsigned base, int upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[12];
    int n = 0;
    do {
        tmp[n++] = digits[value % base];
        value /= base;
    } while (value != 0);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static void kvprintf(const char *fmt, va_list ap)
{
    char buf[12];
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
        case 'd': {
            int32_t v = va_arg(ap, int32_t);
            int n = 0;
            uint32_t magnitude = (uint32_t)v;
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
        case 'X': {
            uint32_t v = va_arg(ap, uint32_t);
            int n = format_unsigned(buf, v, *fmt == 'u' ? 10 : 16, *fmt == 'X');
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
