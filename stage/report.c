/*
 * The report writer (protocol in report.h). Records are counted and their
 * bytes fed to a CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) so
 * that the end line lets the host prove the report arrived whole.
 */
#include "console.h"
#include "report.h"
#include "stub.h"

static int open_;
static u32 records;
static u32 crc;
static const char *current_step = "entry";
static int in_record; /* a record has been started and not finished */

static void crc_byte(u8 b)
{
	crc ^= b;
	for (int i = 0; i < 8; i++)
		crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
}

static void emit(char c)
{
	crc_byte((u8)c);
	console_putc(c);
}

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

static void raw_dec(u32 v)
{
	char buf[11];
	int n = 0;
	do {
		buf[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		console_putc(buf[--n]);
}

void report_begin(void)
{
	console_puts("\n#BOOTGEN begin proto=");
	raw_dec(REPORT_PROTOCOL_VERSION);
	console_puts(" stub=" STUB_VERSION "\n");
	open_ = 1;
	records = 0;
	crc = 0xffffffffu;
}

void report_end(void)
{
	if (!open_)
		return;
	open_ = 0;
	console_puts("#BOOTGEN end records=");
	raw_dec(records);
	console_puts(" crc32=");
	raw_hex32(~crc);
	console_putc('\n');
}

int report_is_open(void) { return open_; }

void rec_start(const char *type)
{
	in_record = 1;
	emit_str(type);
}

/* An exception arrived in the middle of a record: end that line, marked, so the next one parses. */
void rec_interrupted(void)
{
	if (!in_record)
		return;
	rec_text("interrupted by an exception");
	rec_finish();
}

void rec_str(const char *key, const char *value)
{
	emit(' ');
	emit_str(key);
	emit('=');
	emit_str(value);
}

void rec_hex32(const char *key, u32 value)
{
	emit(' ');
	emit_str(key);
	emit('=');
	emit_hex(value, 8);
}

void rec_hex64(const char *key, u64 value)
{
	emit(' ');
	emit_str(key);
	emit('=');
	emit_hex(value, 16);
}

void rec_dec(const char *key, u32 value)
{
	char buf[11];
	int n = 0;
	do {
		buf[n++] = (char)('0' + value % 10);
		value /= 10;
	} while (value);
	emit(' ');
	emit_str(key);
	emit('=');
	while (n)
		emit(buf[--n]);
}

void rec_text(const char *text)
{
	emit_str(" -- ");
	emit_str(text);
}

void rec_finish(void)
{
	emit('\n');
	records++;
	in_record = 0;
}

static void step_record(const char *state)
{
	rec_start("step");
	rec_str("name", current_step);
	rec_str("state", state);
	rec_finish();
}

void step_begin(const char *name)
{
	current_step = name;
	step_record("begin");
}

void step_ok(void) { step_record("ok"); }
void step_fail(void) { step_record("fail"); }
const char *step_current(void) { return current_step; }
