/* The C library subset the kernels use. gcc may emit calls to memcpy/memset/memmove/memcmp even
 * with -ffreestanding, so libc.c must define those names whether or not a kernel calls them. */
#ifndef GUEST_LIB_LIBC_H
#define GUEST_LIB_LIBC_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

#endif
