/*
 * Run-time configuration; see config.h. Words without '=' (the image path a
 * loader puts first) are ignored; an unknown option or value is reported in a
 * warning record, never fatal.
 */
#include "lib/string.h"
#include "out/report.h"
#include "probe/config.h"
#include "probe/inject.h"

char embedded_cmdline[EMBEDDED_CMDLINE_SIZE] __attribute__((section(EMBEDDED_CMDLINE_SECTION), used));

#define MAX_UNKNOWN 4
static struct {
	const char *start;
	size_t len;
} unknown[MAX_UNKNOWN];
static int unknown_count;

static void remember_unknown(const char *w, size_t len)
{
	if (unknown_count < MAX_UNKNOWN) {
		unknown[unknown_count].start = w;
		unknown[unknown_count].len = len;
		unknown_count++;
	}
}

/* Returns 0 when the value is not one the option takes. */
static int apply(struct stub_config *cfg, const char *key, size_t klen, const char *val, size_t vlen)
{
	u32 number;
	if (word_eq(key, klen, OPT_SERIAL)) {
		if (word_eq(val, vlen, SWITCH_OFF))
			cfg->serial_port = 0;
		else if (parse_u32(val, vlen, &number) && number && number <= MAX_SERIAL_PORT)
			cfg->serial_port = (u16)number;
		else
			return 0;
	} else if (word_eq(key, klen, OPT_SCREEN)) {
		if (!word_eq(val, vlen, SWITCH_ON) && !word_eq(val, vlen, SWITCH_OFF))
			return 0;
		cfg->screen = word_eq(val, vlen, SWITCH_ON);
	} else if (word_eq(key, klen, OPT_MODE)) {
		if (!word_eq(val, vlen, MODE_FULL) && !word_eq(val, vlen, MODE_VMXON))
			return 0;
		cfg->vmxon_only = word_eq(val, vlen, MODE_VMXON);
	} else if (word_eq(key, klen, OPT_CPUS)) {
		if (!word_eq(val, vlen, CPUS_ALL) && !word_eq(val, vlen, CPUS_BSP))
			return 0;
		cfg->boot_cpu_only = word_eq(val, vlen, CPUS_BSP);
	} else if (word_eq(key, klen, OPT_INJECT_CPU)) {
		if (!parse_u32(val, vlen, &number) || number >= CPU_MAX)
			return 0;
		cfg->inject_cpu = number;
	} else if (word_eq(key, klen, OPT_INJECT)) {
		enum inject which = inject_lookup(val, vlen);
		if (which == INJECT_COUNT)
			return 0;
		cfg->inject = which;
	} else {
		return 0;
	}
	return 1;
}

static void apply_word(struct stub_config *cfg, const char *w, size_t len)
{
	size_t eq = 0;
	while (eq < len && w[eq] != '=')
		eq++;
	if (eq == len)
		return; /* the image path, or a bare word */
	if (!apply(cfg, w, eq, w + eq + 1, len - eq - 1))
		remember_unknown(w, len);
}

void config_defaults(struct stub_config *cfg)
{
	cfg->serial_port = DEFAULT_SERIAL_PORT;
	cfg->screen = 1;
	cfg->inject = INJECT_NONE;
	cfg->vmxon_only = 0;
	cfg->boot_cpu_only = 0;
	cfg->inject_cpu = 0;
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
			apply_word(cfg, w, (size_t)(p - w));
	}
}

void config_report(const struct stub_config *cfg)
{
	rec_start(REC_CONFIG);
	rec_hex32(KEY_SERIAL, cfg->serial_port);
	rec_str(KEY_SCREEN, cfg->screen ? SWITCH_ON : SWITCH_OFF);
	rec_str(KEY_INJECT, inject_name(cfg->inject));
	rec_str(KEY_MODE, cfg->vmxon_only ? MODE_VMXON : MODE_FULL);
	rec_str(KEY_CPUS, cfg->boot_cpu_only ? CPUS_BSP : CPUS_ALL);
	rec_dec(KEY_INJECT_CPU, cfg->inject_cpu);
	rec_finish();

	for (int i = 0; i < unknown_count; i++) {
		char word[64];
		size_t n = unknown[i].len < sizeof(word) - 1 ? unknown[i].len : sizeof(word) - 1;
		for (size_t k = 0; k < n; k++) {
			char c = unknown[i].start[k];
			word[k] = (c > ' ' && c < 127) ? c : '?';
		}
		word[n] = 0;
		rec_start(REC_WARNING);
		rec_str(KEY_WHAT, WARN_UNKNOWN_OPTION);
		rec_str(KEY_OPTION, word);
		rec_finish();
	}
}
