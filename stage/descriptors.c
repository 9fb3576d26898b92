/*
 * The stub's own GDT, TSS and IDT (SDM Vol. 3A, 3.4.5 segment descriptors,
 * 7.2.2 TSS descriptor, 6.11 IDT descriptors). The loader's GDT may live in
 * memory we do not own, so we install ours before anything else. A valid TR
 * is also what VM entry will need later as host state.
 */
#include "fault.h"
#include "x86.h"

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS 0x18

struct tss32 {
	u32 link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	u32 eax, ecx, edx, ebx, esp, ebp, esi, edi;
	u32 es, cs, ss, ds, fs, gs, ldt;
	u16 trap, iomap_base;
} PACKED;

struct idt_gate {
	u16 offset_low, selector;
	u8 zero, type_attr;
	u16 offset_high;
} PACKED;

struct table_register {
	u16 limit;
	u32 base;
} PACKED;

static u64 gdt[4] ALIGNED(16);
static struct tss32 tss ALIGNED(16);
static struct idt_gate idt[32] ALIGNED(16);
extern const u32 isr_table[32];

static u64 segment_descriptor(u32 base, u32 limit, u32 access, u32 flags)
{
	u64 d = limit & 0xffffu;
	d |= (u64)(base & 0xffffffu) << 16;
	d |= (u64)(access & 0xffu) << 40;
	d |= (u64)((limit >> 16) & 0xfu) << 48;
	d |= (u64)(flags & 0xfu) << 52;
	d |= (u64)((base >> 24) & 0xffu) << 56;
	return d;
}

static void load_gdt(void)
{
	gdt[0] = 0;
	gdt[1] = segment_descriptor(0, 0xfffff, 0x9a, 0xc); /* ring-0 code, 4 GiB, 32-bit */
	gdt[2] = segment_descriptor(0, 0xfffff, 0x92, 0xc); /* ring-0 data, 4 GiB, 32-bit */
	gdt[3] = segment_descriptor((u32)&tss, sizeof(tss) - 1, 0x89, 0x0); /* available 32-bit TSS */
	tss.ss0 = SEL_DATA;
	tss.iomap_base = sizeof(tss);

	struct table_register gdtr = { sizeof(gdt) - 1, (u32)gdt };
	__asm__ volatile("lgdt %0\n\t"
			 "ljmp %1, $1f\n"
			 "1:\n\t"
			 "mov %2, %%ax\n\t"
			 "mov %%ax, %%ds\n\t"
			 "mov %%ax, %%es\n\t"
			 "mov %%ax, %%fs\n\t"
			 "mov %%ax, %%gs\n\t"
			 "mov %%ax, %%ss\n\t"
			 "mov %3, %%ax\n\t"
			 "ltr %%ax"
			 :
			 : "m"(gdtr), "i"(SEL_CODE), "i"(SEL_DATA), "i"(SEL_TSS)
			 : "eax", "memory");
}

static void load_idt(void)
{
	for (int v = 0; v < 32; v++) {
		idt[v].offset_low = isr_table[v] & 0xffff;
		idt[v].offset_high = isr_table[v] >> 16;
		idt[v].selector = SEL_CODE;
		idt[v].zero = 0;
		idt[v].type_attr = 0x8e; /* present, DPL 0, 32-bit interrupt gate */
	}
	struct table_register idtr = { sizeof(idt) - 1, (u32)idt };
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

void descriptors_init(void)
{
	load_gdt();
	load_idt();
}

void idt_break(void)
{
	struct table_register idtr = { 0, 0 };
	__asm__ volatile("lidt %0" : : "m"(idtr));
}
