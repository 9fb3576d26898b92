/* Thin wrappers around x86 instructions (SDM Vol. 2); register bits come from generated/registers.h. */
#ifndef BOOTGEN_X86_H
#define BOOTGEN_X86_H

#include "generated/registers.h"
#include "types.h"

static inline void outb(u16 port, u8 value) { __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port)); }
static inline void outl(u16 port, u32 value) { __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port)); }
static inline u8 inb(u16 port)
{
	u8 value;
	__asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
	return value;
}

#define DEFINE_CR_ACCESS(n)                                                            \
	static inline u32 read_cr##n(void)                                             \
	{                                                                              \
		u32 v;                                                                 \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                    \
		return v;                                                              \
	}                                                                              \
	static inline void write_cr##n(u32 v) { __asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory"); }
DEFINE_CR_ACCESS(0)
DEFINE_CR_ACCESS(2)
DEFINE_CR_ACCESS(3)
DEFINE_CR_ACCESS(4)

struct cpuid_regs {
	u32 eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(u32 leaf, u32 subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
	return r;
}

static inline u32 read_eflags(void)
{
	u32 v;
	__asm__ volatile("pushfl; popl %0" : "=r"(v));
	return v;
}

struct table_register {
	u16 limit;
	u32 base;
} PACKED;

/*
 * Before halting: a locked instruction drains the write-combining buffers (SDM
 * Vol. 3A, 12.3.1 "Buffering of Write Combining Memory Locations"), so the
 * last glyphs drawn into a WC framebuffer reach it; HLT alone does not.
 */
static inline NORETURN void halt_forever(void)
{
	__asm__ volatile("lock orl $0, (%%esp)" : : : "memory");
	for (;;)
		__asm__ volatile("cli; hlt");
}

#endif
