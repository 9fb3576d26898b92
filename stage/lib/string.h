/* The few libc functions the compiler and the stub need (freestanding). */
#ifndef BOOTGEN_STRING_H
#define BOOTGEN_STRING_H

#include "types.h"

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int str_starts(const char *s, const char *prefix);
int word_eq(const char *word, size_t len, const char *literal); /* word[0..len) == literal */
int parse_u32(const char *s, size_t len, u32 *out);             /* decimal or 0x-hex; 0 on malformed input */

#endif
