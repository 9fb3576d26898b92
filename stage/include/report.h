/*
 * The report protocol (version 1): one record per line on the console.
 *   #BOOTGEN begin proto=1 stub=VERSION
 *   <record> key=value ... [-- free text]
 *   #BOOTGEN end records=N crc32=XXXXXXXX
 * The end line counts the records and carries the CRC-32 of their bytes
 * (each line plus "\n") so that the host can detect truncation.
 */
#ifndef BOOTGEN_REPORT_H
#define BOOTGEN_REPORT_H

#include "types.h"

#define REPORT_PROTOCOL_VERSION 1

void report_begin(void);
void report_end(void);
int report_is_open(void);

void rec_start(const char *type);
void rec_str(const char *key, const char *value);
void rec_hex32(const char *key, u32 value);
void rec_hex64(const char *key, u64 value);
void rec_dec(const char *key, u32 value);
void rec_text(const char *text); /* free text after " -- " */
void rec_finish(void);
void rec_interrupted(void);

/* Steps: "step name=X state=begin|ok|fail"; the exception report names the current one. */
void step_begin(const char *name);
void step_ok(void);
void step_fail(void);
const char *step_current(void);

#endif
