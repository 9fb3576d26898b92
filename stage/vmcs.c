/*
 * Part 2: a VMCS and a tiny guest (SDM Vol. 3C, 25 "VMCS", 26 "VMX Non-Root
 * Operation", 27 "VM Entries", 28 "VM Exits"). In SDM order: prepare the VMCS
 * region, VMCLEAR, VMPTRLD; compute the controls from the capability MSRs;
 * fill host state from the running CPU and guest state for a flat 32-bit
 * protected-mode guest; VMLAUNCH; handle exits until HLT; VMCLEAR.
 */
#include "fault.h"
#include "guest_abi.h"
#include "msr.h"
#include "report.h"
#include "stub.h"
#include "vmx.h"
#include "x86.h"

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS 0x18
#define MAX_EXITS 16

/* Pin-based controls (SDM Vol. 3C, table 25-5). */
#define PIN_NMI_EXITING BIT(3)

/* Primary processor-based controls (SDM Vol. 3C, table 25-6). */
#define PROC_HLT_EXITING BIT(7)
#define PROC_UNCONDITIONAL_IO_EXITING BIT(24)
#define PROC_ACTIVATE_SECONDARY BIT(31)

/* Access rights (SDM Vol. 3C, table 25-2): type, S, DPL, P, D/B, G; bit 16 = unusable. */
#define AR_CODE 0xc09bu
#define AR_DATA 0xc093u
#define AR_TSS_BUSY 0x008bu
#define AR_UNUSABLE 0x10000u

struct guest_regs {
	u32 edi, esi, ebp, esp_unused, ebx, edx, ecx, eax; /* pushal */
};

struct exit_record {
	u32 reason, qualification, rip, length;
};

static u8 vmcs_region[4096] __attribute__((section(".bss.vmx"), aligned(4096)));
static u8 guest_stack[4096] __attribute__((aligned(16)));
static u8 exit_stack[8192] __attribute__((aligned(16)));
static struct exit_record exits[MAX_EXITS];
static u32 exit_count;
static u32 vmcall_value;
static struct exit_record entry_failure; /* the failed VM entry, when there was one */
static int vmcall_seen;
static int entry_failed;

static u32 launch_insn_error; /* read when VMLAUNCH/VMRESUME fails, while the VMCS is still current */
static int vmwrite_error;
static u32 vmwrite_failed_field;

extern void guest_entry(void);
extern void vmexit_entry(void);
extern int vmx_launch_guest(void);
extern u32 guest_fail_eflags;
u32 vmexit_handler(struct guest_regs *regs);

struct table_register {
	u16 limit;
	u32 base;
} PACKED;

static void vmw(u32 field, u32 value)
{
	if (vmwrite_error)
		return;
	int r = vmwrite_safe(field, value);
	if (r) {
		vmwrite_error = r;
		vmwrite_failed_field = field;
	}
}

static u32 vmr(u32 field)
{
	u32 value = 0;
	vmread_safe(field, &value);
	return value;
}

static int outcome_ok(const struct vmx_outcome *o)
{
	return o->vector < 0 && !vmx_outcome_cf(o) && !vmx_outcome_zf(o);
}

/*
 * A control word from its capability MSR (SDM Vol. 3D, A.3-A.5): bits 31:0
 * are the allowed 0-settings (a 1 there must be 1), bits 63:32 the allowed
 * 1-settings (a 0 there must be 0): value = (wanted | allowed0) & allowed1.
 */
static u32 adjust_controls(const char *name, u32 msr, u32 wanted, u32 *allowed1_out)
{
	u64 cap = 0;
	int vector = rdmsr_safe(msr, &cap);
	u32 allowed0 = (u32)cap, allowed1 = (u32)(cap >> 32);
	u32 value = (wanted | allowed0) & allowed1;
	rec_start("controls");
	rec_str("name", name);
	rec_hex32("msr", msr);
	if (vector >= 0)
		rec_dec("fault", (u32)vector);
	rec_hex32("wanted", wanted);
	rec_hex32("allowed0", allowed0);
	rec_hex32("allowed1", allowed1);
	rec_hex32("value", value);
	rec_hex32("refused", wanted & ~allowed1);
	rec_finish();
	if (allowed1_out)
		*allowed1_out = allowed1;
	return value;
}

static void write_controls(u64 vmx_basic)
{
	int use_true = (vmx_basic & VMX_BASIC_TRUE_CTLS) != 0; /* SDM Vol. 3D, A.2 */
	u32 primary_allowed1;
	/* NMIs and every exception in the guest exit to us: the guest shares our IDT, whose
	 * handlers must never run in VMX non-root operation. */
	u32 pin = adjust_controls("pin-based", use_true ? IA32_VMX_TRUE_PINBASED_CTLS : IA32_VMX_PINBASED_CTLS,
				  PIN_NMI_EXITING, NULL);
	u32 probe = adjust_controls("primary-processor-based",
				    use_true ? IA32_VMX_TRUE_PROCBASED_CTLS : IA32_VMX_PROCBASED_CTLS,
				    PROC_HLT_EXITING | PROC_UNCONDITIONAL_IO_EXITING, &primary_allowed1);
	u32 primary = probe;
	if (primary_allowed1 & PROC_ACTIVATE_SECONDARY) {
		primary |= PROC_ACTIVATE_SECONDARY;
		u32 secondary = adjust_controls("secondary-processor-based", IA32_VMX_PROCBASED_CTLS2, 0, NULL);
		vmw(VMCS_SECONDARY_PROC_CONTROLS, secondary);
	}
	/* A 32-bit host: "host address-space size" (exit control 9) stays 0; no IA-32e guest (entry control 9). */
	u32 exit = adjust_controls("vm-exit", use_true ? IA32_VMX_TRUE_EXIT_CTLS : IA32_VMX_EXIT_CTLS, 0, NULL);
	u32 entry = adjust_controls("vm-entry", use_true ? IA32_VMX_TRUE_ENTRY_CTLS : IA32_VMX_ENTRY_CTLS, 0, NULL);
	vmw(VMCS_PIN_BASED_CONTROLS, pin);
	vmw(VMCS_PRIMARY_PROC_CONTROLS, primary);
	vmw(VMCS_EXIT_CONTROLS, exit);
	vmw(VMCS_ENTRY_CONTROLS, entry);
	vmw(VMCS_EXCEPTION_BITMAP, 0xffffffffu);
	vmw(VMCS_CR3_TARGET_COUNT, 0);
	vmw(VMCS_EXIT_MSR_STORE_COUNT, 0);
	vmw(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	vmw(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	vmw(VMCS_ENTRY_INTERRUPTION_INFO, 0);
	vmw(VMCS_CR0_GUEST_HOST_MASK, 0);
	vmw(VMCS_CR4_GUEST_HOST_MASK, 0);
	vmw(VMCS_CR0_READ_SHADOW, read_cr0());
	vmw(VMCS_CR4_READ_SHADOW, read_cr4());
}

static u32 tss_base(const struct table_register *gdtr)
{
	const u64 d = ((const u64 *)gdtr->base)[SEL_TSS >> 3];
	return (u32)((d >> 16) & 0xffffff) | (u32)(((d >> 56) & 0xff) << 24);
}

/* Host-state area (SDM Vol. 3C, 25.5; checks in 27.2.2-27.2.4): the running CPU, RPL/TI clear. */
static void write_host_state(const struct table_register *gdtr, const struct table_register *idtr)
{
	vmw(VMCS_HOST_CR0, read_cr0());
	vmw(VMCS_HOST_CR3, read_cr3());
	vmw(VMCS_HOST_CR4, read_cr4());
	vmw(VMCS_HOST_CS_SELECTOR, SEL_CODE);
	vmw(VMCS_HOST_SS_SELECTOR, SEL_DATA);
	vmw(VMCS_HOST_DS_SELECTOR, SEL_DATA);
	vmw(VMCS_HOST_ES_SELECTOR, SEL_DATA);
	vmw(VMCS_HOST_FS_SELECTOR, SEL_DATA);
	vmw(VMCS_HOST_GS_SELECTOR, SEL_DATA);
	vmw(VMCS_HOST_TR_SELECTOR, SEL_TSS);
	vmw(VMCS_HOST_FS_BASE, 0);
	vmw(VMCS_HOST_GS_BASE, 0);
	vmw(VMCS_HOST_TR_BASE, tss_base(gdtr));
	vmw(VMCS_HOST_GDTR_BASE, gdtr->base);
	vmw(VMCS_HOST_IDTR_BASE, idtr->base);
	vmw(VMCS_HOST_SYSENTER_CS, 0);
	vmw(VMCS_HOST_SYSENTER_ESP, 0);
	vmw(VMCS_HOST_SYSENTER_EIP, 0);
	vmw(VMCS_HOST_RSP, (u32)(exit_stack + sizeof(exit_stack)));
	vmw(VMCS_HOST_RIP, (u32)vmexit_entry);
}

static void write_guest_segment(u32 selector_field, u16 selector, u32 access)
{
	/* Selector, base, limit and access-rights fields are laid out in parallel (appendix B). */
	u32 index = (selector_field - VMCS_GUEST_ES_SELECTOR) / 2;
	vmw(selector_field, selector);
	vmw(VMCS_GUEST_ES_BASE + index * 2, 0);
	vmw(VMCS_GUEST_ES_LIMIT + index * 2, 0xffffffffu);
	vmw(VMCS_GUEST_ES_ACCESS + index * 2, access);
}

/* Guest-state area (SDM Vol. 3C, 25.4; checks in 27.3.1): flat protected mode, paging as the host. */
static void write_guest_state(const struct table_register *gdtr, const struct table_register *idtr)
{
	vmw(VMCS_GUEST_CR0, read_cr0());
	vmw(VMCS_GUEST_CR3, read_cr3());
	vmw(VMCS_GUEST_CR4, read_cr4());
	vmw(VMCS_GUEST_DR7, 0x400);
	write_guest_segment(VMCS_GUEST_ES_SELECTOR, SEL_DATA, AR_DATA);
	write_guest_segment(VMCS_GUEST_CS_SELECTOR, SEL_CODE, AR_CODE);
	write_guest_segment(VMCS_GUEST_SS_SELECTOR, SEL_DATA, AR_DATA);
	write_guest_segment(VMCS_GUEST_DS_SELECTOR, SEL_DATA, AR_DATA);
	write_guest_segment(VMCS_GUEST_FS_SELECTOR, SEL_DATA, AR_DATA);
	write_guest_segment(VMCS_GUEST_GS_SELECTOR, SEL_DATA, AR_DATA);
	vmw(VMCS_GUEST_LDTR_SELECTOR, 0);
	vmw(VMCS_GUEST_LDTR_BASE, 0);
	vmw(VMCS_GUEST_LDTR_LIMIT, 0);
	vmw(VMCS_GUEST_LDTR_ACCESS, AR_UNUSABLE);
	vmw(VMCS_GUEST_TR_SELECTOR, SEL_TSS);
	vmw(VMCS_GUEST_TR_BASE, tss_base(gdtr));
	vmw(VMCS_GUEST_TR_LIMIT, 0x67);
	vmw(VMCS_GUEST_TR_ACCESS, AR_TSS_BUSY);
	vmw(VMCS_GUEST_GDTR_BASE, gdtr->base);
	vmw(VMCS_GUEST_GDTR_LIMIT, gdtr->limit);
	vmw(VMCS_GUEST_IDTR_BASE, idtr->base);
	vmw(VMCS_GUEST_IDTR_LIMIT, idtr->limit);
	vmw(VMCS_GUEST_RSP, (u32)(guest_stack + sizeof(guest_stack)));
	vmw(VMCS_GUEST_RIP, (u32)guest_entry);
	vmw(VMCS_GUEST_RFLAGS, 0x2); /* bit 1 is reserved as 1 */
	vmw(VMCS_GUEST_PENDING_DBG, 0);
	vmw(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmw(VMCS_GUEST_ACTIVITY_STATE, 0); /* active */
	vmw(VMCS_GUEST_SYSENTER_CS, 0);
	vmw(VMCS_GUEST_SYSENTER_ESP, 0);
	vmw(VMCS_GUEST_SYSENTER_EIP, 0);
	vmw(VMCS_GUEST_IA32_DEBUGCTL, 0);
	vmw(VMCS_GUEST_IA32_DEBUGCTL + 1, 0);
	vmw(VMCS_VMCS_LINK_POINTER, 0xffffffffu); /* no shadow VMCS: all ones (27.3.1.5) */
	vmw(VMCS_VMCS_LINK_POINTER + 1, 0xffffffffu);
}

static void advance_rip(u32 length)
{
	vmw(VMCS_GUEST_RIP, vmr(VMCS_GUEST_RIP) + length);
}

/* Called from vmexit_entry with the guest's registers; nonzero resumes the guest. */
u32 vmexit_handler(struct guest_regs *regs)
{
	struct exit_record e = {
		.reason = vmr(VMCS_EXIT_REASON),
		.qualification = vmr(VMCS_EXIT_QUALIFICATION),
		.rip = vmr(VMCS_GUEST_RIP),
		.length = vmr(VMCS_EXIT_INSTRUCTION_LENGTH),
	};
	if (exit_count < MAX_EXITS)
		exits[exit_count] = e;
	exit_count++;

	if (e.reason & EXIT_REASON_ENTRY_FAILURE) {
		/* A failed VM entry (SDM Vol. 3C, 27.8): basic reason 33, 34 or 41. */
		entry_failed = 1;
		entry_failure = e;
		rec_start("entry-failure");
		rec_dec("reason", e.reason & 0xffff);
		rec_hex32("exit_reason", e.reason);
		rec_hex32("qualification", e.qualification);
		rec_finish();
		return 0;
	}
	rec_start("exit");
	rec_dec("n", exit_count);
	rec_dec("reason", e.reason & 0xffff);
	rec_hex32("qualification", e.qualification);
	rec_hex32("rip", e.rip);
	rec_dec("length", e.length);
	rec_finish();
	if (exit_count >= MAX_EXITS)
		return 0;

	switch (e.reason & 0xffff) {
	case EXIT_REASON_CPUID: {
		struct cpuid_regs r = cpuid(regs->eax, regs->ecx);
		regs->eax = r.eax;
		regs->ebx = r.ebx;
		regs->ecx = r.ecx;
		regs->edx = r.edx;
		advance_rip(e.length);
		return 1;
	}
	case EXIT_REASON_IO:
		advance_rip(e.length);
		return 1;
	case EXIT_REASON_VMCALL:
		vmcall_value = regs->eax;
		vmcall_seen = 1;
		rec_start("vmcall");
		rec_hex32("value", regs->eax);
		rec_finish();
		advance_rip(e.length);
		return 1;
	case EXIT_REASON_HLT:
	default:
		return 0;
	}
}

static int trace_is_expected(void)
{
	static const u32 expected[] = { EXIT_REASON_CPUID, EXIT_REASON_IO, EXIT_REASON_VMCALL, EXIT_REASON_HLT };
	if (exit_count != 4 || !vmcall_seen || vmcall_value != GUEST_VMCALL_VALUE)
		return 0;
	for (u32 i = 0; i < 4; i++)
		if ((exits[i].reason & 0xffff) != expected[i])
			return 0;
	u32 io = exits[1].qualification; /* SDM Vol. 3C, table 28-5: size-1, direction, port */
	return (io & 7) == 0 && !(io & BIT(3)) && (io >> 16) == GUEST_TEST_PORT;
}

static void rec_launch_failure(const char *insn)
{
	struct vmx_outcome o = { .vector = -1, .eflags = guest_fail_eflags };
	if (vmx_outcome_zf(&o) && !vmx_outcome_cf(&o))
		vmread_safe(VMCS_VM_INSTRUCTION_ERROR, &o.insn_error);
	launch_insn_error = o.insn_error;
	rec_vmx_outcome(insn, &o);
}

/* Appends the failure detail to an open verdict record (JSON keys: see docs/protocol.md). */
void guest_verdict_detail(void)
{
	if (entry_failed) {
		rec_dec("entry_failure_reason", entry_failure.reason & 0xffff);
		rec_hex32("qualification", entry_failure.qualification);
	} else if (guest_fail_eflags) {
		struct vmx_outcome o = { .vector = -1, .eflags = guest_fail_eflags };
		rec_dec("cf", (u32)vmx_outcome_cf(&o));
		rec_dec("zf", (u32)vmx_outcome_zf(&o));
		if (vmx_outcome_zf(&o) && !vmx_outcome_cf(&o))
			rec_dec("insn_error", launch_insn_error);
	} else if (vmwrite_error) {
		rec_hex32("field", vmwrite_failed_field);
	}
	rec_dec("exits", exit_count);
}

/*
 * Test-only: make the VMCS invalid in one documented way just before
 * VMLAUNCH (SDM Vol. 3C, 27.2.1 controls -> VMfailValid 7, 27.2.3 host state
 * -> VMfailValid 8, 27.3.1 guest state -> VM-entry failure, exit reason 33).
 */
static void inject_vmcs_error(u64 vmx_basic)
{
	if (injecting(INJECT_BAD_CONTROL)) {
		int use_true = (vmx_basic & VMX_BASIC_TRUE_CTLS) != 0;
		u64 cap = 0;
		rdmsr_safe(use_true ? IA32_VMX_TRUE_PINBASED_CTLS : IA32_VMX_PINBASED_CTLS, &cap);
		u32 allowed0 = (u32)cap, allowed1 = (u32)(cap >> 32);
		u32 pin = vmr(VMCS_PIN_BASED_CONTROLS);
		if (allowed0)
			vmw(VMCS_PIN_BASED_CONTROLS, pin & ~allowed0); /* a must-be-1 bit cleared */
		else if (~allowed1)
			vmw(VMCS_PIN_BASED_CONTROLS, pin | (~allowed1 & -~allowed1)); /* a must-be-0 bit set */
		else
			inject_not_applicable("the pin-based controls have no fixed bit to violate");
	}
	if (injecting(INJECT_BAD_HOST_STATE))
		vmw(VMCS_HOST_TR_SELECTOR, 0); /* "the selector fields for CS and TR cannot be 0000H" */
	if (injecting(INJECT_BAD_GUEST_STATE))
		vmw(VMCS_GUEST_RFLAGS, 0); /* RFLAGS bit 1 is reserved and must be 1 */
}

enum guest_result vmx_guest_run(u32 revision, u64 vmx_basic, u32 vmxon_region, struct vmx_outcome *second_vmxon)
{
	enum guest_result result;
	struct table_register gdtr, idtr;
	__asm__ volatile("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));

	step_begin("vmcs");
	memset(vmcs_region, 0, sizeof(vmcs_region));
	*(volatile u32 *)vmcs_region = revision; /* SDM Vol. 3C, 25.2: revision in bits 30:0, bit 31 clear */
	rec_start("vmcs-region");
	rec_hex32("address", (u32)vmcs_region);
	rec_hex32("revision", revision);
	rec_finish();
	struct vmx_outcome clear = vmclear_safe((u32)vmcs_region);
	rec_vmx_outcome("vmclear", &clear);
	struct vmx_outcome load = outcome_ok(&clear) ? vmptrld_safe((u32)vmcs_region) : clear;
	if (outcome_ok(&clear))
		rec_vmx_outcome("vmptrld", &load);
	if (!outcome_ok(&load)) {
		step_fail();
		return GUEST_SETUP_FAILED;
	}
	if (injecting(INJECT_DOUBLE_VMXON_VMCS)) {
		/* In VMX root operation with a current VMCS: VMfailValid, error 15 (SDM Vol. 3C, 31.3 VMXON). */
		*second_vmxon = vmxon_safe(vmxon_region);
		rec_vmx_outcome("vmxon", second_vmxon);
		struct vmx_outcome undo = vmclear_safe((u32)vmcs_region);
		rec_vmx_outcome("vmclear", &undo);
		step_fail();
		return GUEST_SECOND_VMXON;
	}

	write_controls(vmx_basic);
	write_host_state(&gdtr, &idtr);
	write_guest_state(&gdtr, &idtr);
	inject_vmcs_error(vmx_basic);
	if (vmwrite_error) {
		u32 err = 0;
		if (vmwrite_error == 1)
			vmread_safe(VMCS_VM_INSTRUCTION_ERROR, &err);
		rec_start("vmx");
		rec_str("insn", "vmwrite");
		rec_str("outcome", vmwrite_error == 1 ? "fail-valid" : "fault");
		rec_hex32("field", vmwrite_failed_field);
		rec_dec("insn_error", err);
		rec_finish();
		step_fail();
		return GUEST_SETUP_FAILED;
	}
	step_ok();

	step_begin("vmlaunch");
	rec_start("guest");
	rec_hex32("entry", (u32)guest_entry);
	rec_hex32("stack", (u32)(guest_stack + sizeof(guest_stack)));
	rec_hex32("host_rip", (u32)vmexit_entry);
	rec_finish();
	int launched = vmx_launch_guest();
	if (launched == 1) {
		rec_launch_failure("vmlaunch");
		result = GUEST_ENTRY_FAILED;
	} else if (launched == 2) {
		rec_launch_failure("vmresume");
		result = GUEST_ENTRY_FAILED;
	} else if (entry_failed) {
		result = GUEST_ENTRY_FAILED;
	} else {
		result = trace_is_expected() ? GUEST_OK : GUEST_BAD_TRACE;
	}
	rec_start("guest-trace");
	rec_dec("exits", exit_count);
	rec_str("expected", result == GUEST_OK ? "yes" : "no");
	if (vmcall_seen)
		rec_hex32("vmcall_value", vmcall_value);
	rec_finish();
	if (result == GUEST_OK)
		step_ok();
	else
		step_fail();

	step_begin("vmclear");
	struct vmx_outcome final_clear = vmclear_safe((u32)vmcs_region);
	rec_vmx_outcome("vmclear", &final_clear);
	step_ok();
	return result;
}
