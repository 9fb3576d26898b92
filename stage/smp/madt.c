/* The MADT's processor entries; see madt.h. */
#include "lib/string.h"
#include "smp/madt.h"

#define RSDP_SIGNATURE "RSD PTR "
#define RSDP_V1_LENGTH 20
#define BDA_EBDA_SEGMENT 0x40e  /* the EBDA's segment, in the BIOS data area (5.2.5.1) */
#define EBDA_SEARCH 1024
#define BIOS_AREA_START 0xe0000u
#define BIOS_AREA_END 0x100000u
#define TABLE_HEADER 36         /* the system description table header (5.2.6) */
#define MADT_ENTRIES 44         /* after the header, the local APIC address and the flags */
#define MADT_TYPE_LAPIC 0
#define MADT_TYPE_X2APIC 9
#define MAX_TABLE_LENGTH (1u << 20)

struct rsdp {
	char signature[8];
	u8 checksum;
	char oem[6];
	u8 revision;
	u32 rsdt;
	u32 length;     /* revision 2 and later */
	u64 xsdt;
	u8 extended_checksum;
	u8 reserved[3];
} PACKED;

struct table_header {
	char signature[4];
	u32 length;
	u8 revision, checksum;
} PACKED;

/* A physical address as a pointer, hidden from the compiler's bounds analysis (firmware tables are not objects). */
static const void *phys(u32 address)
{
	__asm__("" : "+r"(address));
	return (const void *)address;
}

static u8 sum(const u8 *p, u32 n)
{
	u8 s = 0;
	while (n--)
		s = (u8)(s + *p++);
	return s;
}

static const struct rsdp *rsdp_at(u32 address)
{
	const struct rsdp *r = phys(address);
	if (memcmp(r->signature, RSDP_SIGNATURE, 8) != 0 || sum((const u8 *)r, RSDP_V1_LENGTH) != 0)
		return NULL;
	return r;
}

/* 5.2.5.1: the first KiB of the EBDA, then 0xE0000-0xFFFFF, on 16-byte boundaries. */
static const struct rsdp *rsdp_search(void)
{
	u32 ebda = (u32)*(const u16 *)phys(BDA_EBDA_SEGMENT) << 4;
	if (ebda >= 0x80000 && ebda < 0xa0000)
		for (u32 a = ebda; a < ebda + EBDA_SEARCH; a += 16)
			if (rsdp_at(a))
				return rsdp_at(a);
	for (u32 a = BIOS_AREA_START; a < BIOS_AREA_END; a += 16)
		if (rsdp_at(a))
			return rsdp_at(a);
	return NULL;
}

static const struct table_header *table_at(u64 address, const char *signature)
{
	if (!address || address >> 32)
		return NULL; /* above 4 GiB: out of reach with paging off */
	const struct table_header *t = phys((u32)address);
	if (signature && memcmp(t->signature, signature, 4) != 0)
		return NULL;
	if (t->length < TABLE_HEADER || t->length > MAX_TABLE_LENGTH || (u64)(u32)address + t->length > (1ull << 32) ||
	    sum((const u8 *)t, t->length) != 0)
		return NULL;
	return t;
}

/* The MADT from the XSDT (ACPI 2.0+) or the RSDT: 8- or 4-byte entries after the header. */
#define RSDP_MAX_LENGTH 256

static const struct table_header *find_madt(const struct rsdp *r, const char **why)
{
	const struct table_header *root = NULL;
	u32 entry = 4;
	/* ACPI 6.5, 5.2.5.3: the RSDP is 36 bytes from revision 2 on; a wild length is no RSDP to sum over. */
	if (r->revision >= 2 && r->length >= sizeof(*r) && r->length <= RSDP_MAX_LENGTH &&
	    sum((const u8 *)r, r->length) == 0)
		root = table_at(r->xsdt, "XSDT"), entry = 8;
	if (!root)
		root = table_at(r->rsdt, "RSDT"), entry = 4;
	if (!root) {
		*why = "the RSDP names no valid RSDT or XSDT";
		return NULL;
	}
	for (u32 at = TABLE_HEADER; at + entry <= root->length; at += entry) {
		const u8 *p = (const u8 *)root + at;
		u64 address = entry == 8 ? *(const u64 *)p : *(const u32 *)p;
		const struct table_header *t = table_at(address, "APIC");
		if (t)
			return t;
	}
	*why = "the ACPI tables hold no valid MADT";
	return NULL;
}

u32 madt_processors(u32 rsdp_hint, void (*found)(const struct madt_processor *p, void *ctx), void *ctx,
		    const char **why)
{
	const struct rsdp *r = rsdp_hint ? rsdp_at(rsdp_hint) : NULL;
	if (!r)
		r = rsdp_search();
	if (!r) {
		*why = "no ACPI RSDP: neither the loader nor the BIOS areas hold one";
		return 0;
	}
	const struct table_header *madt = find_madt(r, why);
	if (!madt)
		return 0;
	const u8 *base = (const u8 *)madt;
	for (u32 at = MADT_ENTRIES; at + 2 <= madt->length;) {
		u8 type = base[at], length = base[at + 1];
		if (length < 2 || at + length > madt->length)
			break;
		struct madt_processor p = { 0 };
		if (type == MADT_TYPE_LAPIC && length >= 8) {
			p.uid = base[at + 2];
			p.apic_id = base[at + 3];
			memcpy(&p.flags, base + at + 4, 4);
			found(&p, ctx);
		} else if (type == MADT_TYPE_X2APIC && length >= 16) {
			memcpy(&p.apic_id, base + at + 4, 4);
			memcpy(&p.flags, base + at + 8, 4);
			memcpy(&p.uid, base + at + 12, 4);
			p.x2apic = 1;
			found(&p, ctx);
		}
		at += length;
	}
	return (u32)madt;
}
