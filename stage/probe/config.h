/*
 * Run-time configuration from the command line: first the one embedded in the
 * image (section .bootgen.cmdline, written by the host at build time), then the
 * multiboot command line, whose options win. The options and their grammar are
 * defined in bootgen/contract/options.py (docs/protocol.md, "Stub command line").
 */
#ifndef BOOTGEN_CONFIG_H
#define BOOTGEN_CONFIG_H

#include "generated/contract.h"
#include "types.h"

struct stub_config {
	u16 serial_port;      /* 0: serial off */
	int screen;           /* mirror the report on the screen */
	enum inject inject;
	int vmxon_only;       /* mode=vmxon: stop after VMXON/VMXOFF */
	int boot_cpu_only;    /* cpus=bsp: no APs are started */
	u32 inject_cpu;       /* inject_cpu=N: the CPU the injection acts on */
};

extern char embedded_cmdline[EMBEDDED_CMDLINE_SIZE];

void config_defaults(struct stub_config *cfg);
void config_parse(struct stub_config *cfg, const char *cmdline); /* later calls override earlier ones */
void config_report(const struct stub_config *cfg);               /* the config record, then warnings */

#endif
