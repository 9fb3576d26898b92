/*
 * The report writer (protocol in report.h). Records are counted and their
 * bytes fed to a CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) so
 * that the end line lets the host prove the report arrived whole. The report
 * is one for the machine; the position in it (step, open record) is per CPU.
 */
#include "cpu.h"
#include "generated/contract.h"
#include "out/console.h"
#include "lib/string.h"
#include "out/report.h"

static int open_;
static u32 records;
static u32 crc;
static int serial_only; /* the APs' sections: the screen shows one line per CPU instead (smp/collect.c) */

static void crc_byte(u8 b)
{
	crc ^= b;
	for (int i = 0; i < 8; i++)
		crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
}

static void emit(char c)
{
	struct report_cursor *cursor = &this_cpu()->report;
	if (cursor->buffer) {
		if (cursor->length < cursor->size)
			cursor->buffer[cursor->length++] = c;
		else
			cursor->overflow = 1;
		return;
	}
	crc_byte((u8)c);
	if (!serial_only) {
		console_putc(c);
		return;
	}
	if (c == '\n')
		serial_putc('\r');
	serial_putc(c);
}

void report_on_screen(int on) { serial_only = !on; }

static void emit_str(const char *s)
{
	while (*s)
		emit(*s++);
}

static void emit_hex(u64 v, int digits)
{
	static const char hex[] = "0123456789abcdef";
	emit('0');
	emit('x');
	for (int i = digits - 1; i >= 0; i--)
		emit(hex[(v >> (i * 4)) & 0xf]);
}

static void raw_hex32(u32 v)
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 7; i >= 0; i--)
		console_putc(hex[(v >> (i * 4)) & 0xf]);
}

static int dec_digits(u32 v, char buf[10])
{
	int n = 0;
	do {
		buf[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return n;
}

static void raw_dec(u32 v)
{
	char buf[10];
	for (int n = dec_digits(v, buf); n;)
		console_putc(buf[--n]);
}

void report_begin(void)
{
	console_puts("\n" REPORT_BEGIN_MARK " " REPORT_BEGIN_PROTOCOL "=");
	raw_dec(REPORT_PROTOCOL_VERSION);
	console_puts(" " REPORT_BEGIN_STUB_VERSION "=" STUB_VERSION "\n");
	open_ = 1;
	records = 0;
	crc = 0xffffffffu;
}

void report_end(void)
{
	if (!open_)
		return;
	open_ = 0;
	console_puts(REPORT_END_MARK " " REPORT_END_RECORDS "=");
	raw_dec(records);
	console_puts(" " REPORT_END_CRC "=");
	raw_hex32(~crc);
	console_putc('\n');
}

int report_is_open(void) { return open_; }

void report_to_buffer(char *buffer, u32 size)
{
	struct report_cursor *cursor = &this_cpu()->report;
	cursor->length = cursor->committed = 0;
	cursor->overflow = 0;
	cursor->size = size;
	cursor->buffer = buffer;
}

u32 report_write_buffer(const struct report_cursor *cursor, const char *type)
{
	u32 committed = cursor->committed; /* read once: an AP given up on may still be writing after it */
	__asm__ volatile("" ::: "memory");
	u32 n = (u32)strlen(type), found = 0;
	int line_start = 1;
	for (u32 i = 0; i < committed; i++) {
		const char *at = &cursor->buffer[i];
		if (line_start && i + n < committed && !memcmp(at, type, n) && (at[n] == ' ' || at[n] == '\n'))
			found++;
		emit(*at);
		line_start = *at == '\n';
		if (*at == '\n')
			records++;
	}
	return found;
}

void rec_start(const char *type)
{
	this_cpu()->report.in_record = 1;
	emit_str(type);
}

void rec_interrupted(void)
{
	if (!this_cpu()->report.in_record)
		return;
	rec_text("interrupted by an exception");
	rec_finish();
}

static void key(const char *k)
{
	emit(' ');
	emit_str(k);
	emit('=');
}

void rec_str(const char *k, const char *value)
{
	key(k);
	emit_str(value);
}

void rec_hex32(const char *k, u32 value)
{
	key(k);
	emit_hex(value, 8);
}

void rec_hex64(const char *k, u64 value)
{
	key(k);
	emit_hex(value, 16);
}

void rec_dec(const char *k, u32 value)
{
	char buf[10];
	key(k);
	for (int n = dec_digits(value, buf); n;)
		emit(buf[--n]);
}

void rec_text(const char *text)
{
	emit_str(REPORT_TEXT_SEPARATOR);
	emit_str(text);
}

void rec_finish(void)
{
	struct report_cursor *cursor = &this_cpu()->report;
	emit('\n');
	cursor->in_record = 0;
	if (!cursor->buffer) {
		records++;
		return;
	}
	if (cursor->overflow)
		return; /* a record cut short is never committed; nothing after it either */
	__asm__ volatile("" ::: "memory"); /* the bytes before the length (x86 keeps stores in order) */
	cursor->committed = cursor->length;
}

static void step_record(const char *state)
{
	rec_start(REC_STEP);
	rec_str(KEY_NAME, step_current());
	rec_str(KEY_STATE, state);
	rec_finish();
}

void step_begin(const char *name)
{
	this_cpu()->report.step = name;
	step_record(STEP_STATE_BEGIN);
}

void step_ok(void) { step_record(STEP_STATE_OK); }
void step_fail(void) { step_record(STEP_STATE_FAIL); }

const char *step_current(void)
{
	const char *step = this_cpu()->report.step;
	return step ? step : STEP_ENTRY;
}
