/*
 * Run-time configuration from the command line: first the one embedded in
 * the image (section .bootgen.cmdline, written by the host at build time),
 * then the multiboot command line, whose options win. Options:
 *   serial=PORT|off   UART I/O port (default 0x3f8, COM1)
 *   screen=on|off     mirror the report on the VGA text screen
 *   mode=full|vmxon   full: VMXON, a VMCS and a guest (default); vmxon: VMXON/VMXOFF only
 *   inject=NAME       test-only fault injection (see inject.c)
 * The first word of a multiboot command line is the image path; words
 * without '=' are ignored. Unknown options are reported, never fatal.
 */
#include "report.h"
#include "stub.h"

#define EMBEDDED_CMDLINE_SIZE 256
char embedded_cmdline[EMBEDDED_CMDLINE_SIZE] __attribute__((section(".bootgen.cmdline"), used));

#define MAX_UNKNOWN 4
static struct {
	const char *start;
	size_t len;
} unknown[MAX_UNKNOWN];
static int unknown_count;


static int word_eq(const char *w, size_t len, const char *lit)
{
	return strlen(lit) == len && str_starts(w, lit);
}

static void remember_unknown(const char *w, size_t len)
{
	if (unknown_count < MAX_UNKNOWN) {
		unknown[unknown_count].start = w;
		unknown[unknown_count].len = len;
		unknown_count++;
	}
}

static void apply_option(struct stub_config *cfg, const char *w, size_t len)
{
	size_t eq = 0;
	while (eq < len && w[eq] != '=')
		eq++;
	if (eq == len)
		return; /* the image path, or a bare word */
	const char *val = w + eq + 1;
	size_t vlen = len - eq - 1;
	u32 port;

	if (word_eq(w, eq, "serial")) {
		if (word_eq(val, vlen, "off"))
			cfg->serial_port = 0;
		else if (parse_u32(val, vlen, &port) && port && port <= 0xfff8)
			cfg->serial_port = (u16)port;
		else
			remember_unknown(w, len);
	} else if (word_eq(w, eq, "screen")) {
		if (word_eq(val, vlen, "on") || word_eq(val, vlen, "off"))
			cfg->screen = word_eq(val, vlen, "on");
		else
			remember_unknown(w, len);
	} else if (word_eq(w, eq, "mode")) {
		if (word_eq(val, vlen, "full") || word_eq(val, vlen, "vmxon"))
			cfg->vmxon_only = word_eq(val, vlen, "vmxon");
		else
			remember_unknown(w, len);
	} else if (word_eq(w, eq, "inject")) {
		const char *name;
		enum inject which = inject_lookup(val, vlen, &name);
		if (name) {
			cfg->inject = which;
			cfg->inject_name = name;
		} else {
			remember_unknown(w, len);
		}
	} else {
		remember_unknown(w, len);
	}
}

void config_parse(struct stub_config *cfg, const char *cmdline)
{
	if (!cmdline)
		return;
	const char *p = cmdline;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		const char *w = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (p > w)
			apply_option(cfg, w, (size_t)(p - w));
	}
}

/* Called once the report is open: say which options were ignored. */
void config_report_unknown(void)
{
	for (int i = 0; i < unknown_count; i++) {
		char word[64];
		size_t n = unknown[i].len < sizeof(word) - 1 ? unknown[i].len : sizeof(word) - 1;
		for (size_t k = 0; k < n; k++) {
			char c = unknown[i].start[k];
			word[k] = (c > ' ' && c < 127) ? c : '?';
		}
		word[n] = 0;
		rec_start("warning");
		rec_str("what", "unknown-option");
		rec_str("option", word);
		rec_finish();
	}
}
