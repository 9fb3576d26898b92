/*
 * A CPU's verdict: whoever decides it fills it in (a name from
 * generated/contract.h, detail fields, a line of text), and verdict_write() is
 * the one place that writes the verdict record. A later verdict_set() replaces
 * an earlier one (an unexpected exception overrides what was being decided).
 */
#ifndef BOOTGEN_VERDICT_H
#define BOOTGEN_VERDICT_H

#include "types.h"

#define VERDICT_MAX_DETAIL 12

enum verdict_format { VERDICT_DEC, VERDICT_HEX32, VERDICT_STR };

struct verdict_detail {
	const char *key;
	enum verdict_format format;
	u32 value;
	const char *str;
};

struct verdict {
	const char *name;   /* NULL: no verdict yet */
	const char *text;
	u32 details;
	struct verdict_detail detail[VERDICT_MAX_DETAIL];
	int written;
};

void verdict_set(const char *name, const char *text);
void verdict_dec(const char *key, u32 value);
void verdict_hex32(const char *key, u32 value);
void verdict_str(const char *key, const char *value);
int verdict_decided(void);
void verdict_write(void);

/* "fault": an MSR the checks need raised an exception. */
void verdict_msr_fault(u32 index, int vector);

#endif
