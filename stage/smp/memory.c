/*
 * Memory for the APs, free by the loader's memory map and clear of the
 * loader's information: the page below 1 MiB where they start (the start-up
 * IPI's vector names a 4 KiB page, SDM Vol. 3A, 11.6.1 "Interrupt Command
 * Register"), below the EBDA; and their per-CPU structures, above the image.
 */
#include "smp/memory.h"

#define PAGE 0x1000u
#define LOWEST 0x1000u          /* page 0 holds the real-mode IVT and the BIOS data area */
#define HIGHEST_END 0x9f000u    /* below the EBDA, which the BIOS keeps at the top of conventional memory */
#define MMAP_AVAILABLE 1

struct mmap_v1_entry {
	u32 size; /* of the rest of the entry */
	u64 base, length;
	u32 type;
} PACKED;

struct mmap_v2_entry {
	u64 base, length;
	u32 type, reserved;
} PACKED;

#define MEM_UPPER_BASE 0x100000u

/* Calls range(base, length) for each available range of the map (or the one mem_upper describes); stops at 1. */
static int each_available(const struct smp_setup *s, int (*range)(u64 base, u64 length, void *ctx), void *ctx)
{
	if (!s->mmap || !s->mmap_size)
		return s->mem_upper_kib && range(MEM_UPPER_BASE, (u64)s->mem_upper_kib * 1024u, ctx);
	u32 entry_size = s->mmap_v1 ? 0 : *(const u32 *)(s->mmap - 8); /* multiboot2: entry_size precedes them */
	if (!s->mmap_v1 && entry_size < sizeof(struct mmap_v2_entry))
		return 0;
	for (u32 at = s->mmap; at < s->mmap + s->mmap_size;) {
		u64 base, length;
		u32 type;
		if (s->mmap_v1) {
			const struct mmap_v1_entry *e = (const struct mmap_v1_entry *)at;
			base = e->base, length = e->length, type = e->type;
			at += e->size + 4;
		} else {
			const struct mmap_v2_entry *e = (const struct mmap_v2_entry *)at;
			base = e->base, length = e->length, type = e->type;
			at += entry_size;
		}
		if (type == MMAP_AVAILABLE && range(base, length, ctx))
			return 1;
	}
	return 0;
}

struct span {
	u32 start, size;
};

static int holds(u64 base, u64 length, void *ctx)
{
	const struct span *want = ctx;
	return base <= want->start && (u64)want->start + want->size <= base + length;
}

static int available(const struct smp_setup *s, u32 start, u32 size)
{
	struct span want = { start, size };
	if (s->mmap && s->mmap_size)
		return each_available(s, holds, &want);
	/* No map: mem_lower KiB of conventional memory from 0 (else up to the EBDA), mem_upper KiB from 1 MiB. */
	u64 end = (u64)start + size;
	if (end <= MEM_UPPER_BASE)
		return end <= (s->mem_lower_kib ? s->mem_lower_kib * 1024u : HIGHEST_END);
	return start >= MEM_UPPER_BASE && end <= MEM_UPPER_BASE + (u64)s->mem_upper_kib * 1024u;
}

/* The first loader range [start, start + size) overlaps, or NULL. */
static const struct range *overlap(const struct smp_setup *s, u32 start, u32 size)
{
	for (u32 i = 0; i < s->avoid_count; i++) {
		const struct range *r = &s->avoid[i];
		if (r->size && r->start < start + size && start < r->start + r->size)
			return r;
	}
	return NULL;
}

u32 low_memory_page(const struct smp_setup *s, u32 size)
{
	if (size > PAGE)
		return 0;
	for (u32 page = HIGHEST_END - PAGE; page >= LOWEST; page -= PAGE)
		if (available(s, page, PAGE) && !overlap(s, page, PAGE))
			return page;
	return 0;
}

static u32 align_up(u64 v) { return (u32)((v + PAGE - 1) & ~(u64)(PAGE - 1)); }

struct fit {
	const struct smp_setup *s;
	u32 from, size, limit, found;
};

/* First fit within one available range: from its start (or the image's end), past every loader range. */
static int fit_in(u64 base, u64 length, void *ctx)
{
	struct fit *f = ctx;
	u64 end = base + length < f->limit ? base + length : f->limit;
	u64 at = align_up(base > f->from ? base : f->from);
	while (at + f->size <= end) {
		const struct range *r = overlap(f->s, (u32)at, f->size);
		if (!r) {
			if (!f->found || at < f->found)
				f->found = (u32)at;
			return 0; /* keep looking: a lower fit may lie in a range listed later */
		}
		at = align_up((u64)r->start + r->size);
	}
	return 0;
}

u32 free_memory_above(const struct smp_setup *s, u32 image_end, u32 size, u32 limit)
{
	struct fit f = { s, image_end, size, limit, 0 };
	if (!size || (u64)image_end + size > limit)
		return 0;
	each_available(s, fit_in, &f);
	return f.found;
}
