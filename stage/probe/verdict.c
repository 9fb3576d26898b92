/* The verdict of the running CPU and the one writer of verdict records; see verdict.h. */
#include "cpu.h"
#include "generated/contract.h"
#include "out/report.h"
#include "probe/verdict.h"

void verdict_set(const char *name, const char *text)
{
	struct verdict *v = &this_cpu()->verdict;
	v->name = name;
	v->text = text;
	v->details = 0;
	v->written = 0;
}

static void add(const char *key, enum verdict_format format, u32 value, const char *str)
{
	struct verdict *v = &this_cpu()->verdict;
	if (v->details < VERDICT_MAX_DETAIL)
		v->detail[v->details++] = (struct verdict_detail){ key, format, value, str };
}

void verdict_dec(const char *key, u32 value) { add(key, VERDICT_DEC, value, NULL); }
void verdict_hex32(const char *key, u32 value) { add(key, VERDICT_HEX32, value, NULL); }
void verdict_str(const char *key, const char *value) { add(key, VERDICT_STR, 0, value); }
int verdict_decided(void) { return this_cpu()->verdict.name != NULL; }

void verdict_write(void)
{
	struct verdict *v = &this_cpu()->verdict;
	if (!v->name || v->written)
		return;
	v->written = 1;
	rec_start(REC_VERDICT);
	rec_str(KEY_NAME, v->name);
	for (u32 i = 0; i < v->details; i++) {
		const struct verdict_detail *d = &v->detail[i];
		if (d->format == VERDICT_STR)
			rec_str(d->key, d->str);
		else if (d->format == VERDICT_HEX32)
			rec_hex32(d->key, d->value);
		else
			rec_dec(d->key, d->value);
	}
	if (v->text)
		rec_text(v->text);
	rec_finish();
}

void verdict_msr_fault(u32 index, int vector)
{
	verdict_set(VERDICT_FAULT, "reading or writing a VMX MSR raised an exception");
	verdict_dec(KEY_VECTOR, (u32)vector);
	verdict_hex32(KEY_MSR, index);
}
