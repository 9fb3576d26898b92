/* The few libc functions the compiler and the stub need (freestanding). */
#include "lib/string.h"

void *memset(void *dst, int c, size_t n)
{
	u8 *d = dst;
	while (n--)
		*d++ = (u8)c;
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	u8 *d = dst;
	const u8 *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int str_starts(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return 0;
	return 1;
}

int word_eq(const char *word, size_t len, const char *literal)
{
	return strlen(literal) == len && str_starts(word, literal);
}

/* Decimal or 0x-prefixed hexadecimal; returns 0 on malformed input. */
int parse_u32(const char *s, size_t len, u32 *out)
{
	u32 v = 0;
	size_t i = 0;
	int base = 10;
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len)
		return 0;
	for (; i < len; i++) {
		char c = s[i];
		u32 d;
		if (c >= '0' && c <= '9')
			d = (u32)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (u32)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (u32)(c - 'A' + 10);
		else
			return 0;
		if (d >= (u32)base || v > (0xffffffffu - d) / (u32)base)
			return 0; /* not a digit of this base, or the value would not fit in 32 bits */
		v = v * (u32)base + d;
	}
	*out = v;
	return 1;
}
