/* The stub's own GDT, TSSs and IDT; see descriptors.h. The loader's GDT may live in memory we do not own. */
#include "boot/descriptors.h"
#include "cpu.h"
#include "generated/vectors.h"
#include "x86.h"

#define GDT_ENTRIES (GDT_FIRST_CPU_ENTRY + 2 * CPU_MAX)

struct idt_gate {
	u16 offset_low, selector;
	u8 zero, type_attr;
	u16 offset_high;
} PACKED;

static u64 gdt[GDT_ENTRIES] ALIGNED(16);
static struct idt_gate idt[IDT_VECTORS] ALIGNED(16);
extern const u32 isr_table[IDT_VECTORS];

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

static void load_gdt(struct cpu *cpu)
{
	gdt[0] = 0;
	gdt[SEL_CODE >> 3] = segment_descriptor(0, 0xfffff, 0x9a, 0xc); /* ring-0 code, 4 GiB, 32-bit */
	gdt[SEL_DATA >> 3] = segment_descriptor(0, 0xfffff, 0x92, 0xc); /* ring-0 data, 4 GiB, 32-bit */
	/* Available 32-bit TSS (type 9), and a data segment that covers exactly this CPU's structure. */
	gdt[SEL_TSS(cpu->index) >> 3] = segment_descriptor((u32)&cpu->tss, sizeof(cpu->tss) - 1, 0x89, 0x0);
	gdt[SEL_PERCPU(cpu->index) >> 3] = segment_descriptor((u32)cpu, sizeof(*cpu) - 1, 0x92, 0x4);
	cpu->tss.ss0 = SEL_DATA;
	cpu->tss.iomap_base = sizeof(cpu->tss);

	struct table_register gdtr = { sizeof(gdt) - 1, (u32)gdt };
	__asm__ volatile("lgdt %0\n\t"
			 "ljmp %1, $1f\n"
			 "1:\n\t"
			 "mov %2, %%ax\n\t"
			 "mov %%ax, %%ds\n\t"
			 "mov %%ax, %%es\n\t"
			 "mov %%ax, %%gs\n\t"
			 "mov %%ax, %%ss\n\t"
			 "mov %3, %%ax\n\t"
			 "mov %%ax, %%fs\n\t"
			 "mov %4, %%ax\n\t"
			 "ltr %%ax"
			 :
			 : "m"(gdtr), "i"(SEL_CODE), "i"(SEL_DATA), "r"((u16)SEL_PERCPU(cpu->index)),
			   "r"((u16)SEL_TSS(cpu->index))
			 : "eax", "memory");
}

static void load_idt(void)
{
	for (int v = 0; v < IDT_VECTORS; v++) {
		idt[v].offset_low = isr_table[v] & 0xffff;
		idt[v].offset_high = isr_table[v] >> 16;
		idt[v].selector = SEL_CODE;
		idt[v].zero = 0;
		idt[v].type_attr = 0x8e; /* present, DPL 0, 32-bit interrupt gate */
	}
	struct table_register idtr = { sizeof(idt) - 1, (u32)idt };
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

void descriptors_init(struct cpu *cpu)
{
	cpu->self = cpu;
	load_gdt(cpu);
	load_idt();
}

void idt_break(void)
{
	struct table_register idtr = { 0, 0 };
	__asm__ volatile("lidt %0" : : "m"(idtr));
}
