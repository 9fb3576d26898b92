/* Fixed-width integer types and attributes for the freestanding stub (no libc). */
#ifndef BOOTGEN_TYPES_H
#define BOOTGEN_TYPES_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef int s32;
typedef long long s64;
typedef unsigned int size_t;

#define NULL ((void *)0)
#define BIT(n) (1u << (n))
#define BIT64(n) (1ull << (n))
#define ALIGNED(n) __attribute__((aligned(n)))
#define NORETURN __attribute__((noreturn))
#define PACKED __attribute__((packed))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define OFFSET_OF(type, member) __builtin_offsetof(type, member)

#endif
