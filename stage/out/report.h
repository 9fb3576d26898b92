/*
 * The report writer (docs/protocol.md): one record per line on the console,
 *   #BOOTGEN begin proto=N stub=VERSION
 *   <record> key=value ... [-- free text]
 *   #BOOTGEN end records=N crc32=XXXXXXXX
 * The end line counts the records and carries the CRC-32 of their bytes (each
 * line plus "\n") so that the host can detect truncation. Record types, keys
 * and value names come from generated/contract.h.
 */
#ifndef BOOTGEN_REPORT_H
#define BOOTGEN_REPORT_H

#include "types.h"

/*
 * Where one CPU is in the report: the step it runs, and whether a record is
 * open. An AP's records go to its own buffer (buffer != NULL): its first
 * `committed` bytes are whole records, which the boot CPU writes out
 * (report_write_buffer) once the AP is done or has been given up on.
 */
struct report_cursor {
	const char *step;
	int in_record;
	char *buffer;
	u32 size, length;
	volatile u32 committed;
	volatile int overflow;
};

void report_begin(void);
void report_end(void);
int report_is_open(void);
void report_on_screen(int on);                               /* 0: records go to the serial port only */
void report_to_buffer(char *buffer, u32 size);               /* the running CPU's records go there from now on */
/* The boot CPU: an AP's whole records, in order; how many of them are `type` records. */
u32 report_write_buffer(const struct report_cursor *cursor, const char *type);

void rec_start(const char *type);
void rec_str(const char *key, const char *value);
void rec_hex32(const char *key, u32 value);
void rec_hex64(const char *key, u64 value);
void rec_dec(const char *key, u32 value);
void rec_text(const char *text); /* free text after " -- " */
void rec_finish(void);
void rec_interrupted(void); /* an exception came in the middle of a record: close it */

/* Steps: "step name=X state=begin|ok|fail"; the exception report names the current one. */
void step_begin(const char *name);
void step_ok(void);
void step_fail(void);
const char *step_current(void);

#endif
