/*
 * The VM-exit handler (SDM Vol. 3C, 28 "VM Exits"): record every exit of the
 * guest, emulate CPUID, take the VMCALL value, skip each instruction by its
 * exit length, and end the guest at HLT. An NMI that arrives while the guest
 * runs (NMI exiting is on) is counted and the guest resumed: it is not the
 * guest's doing and not part of its trace. Then judge the trace against the
 * guest's ABI (bootgen/contract/guest.py).
 */
#include "cpu.h"
#include "generated/contract.h"
#include "out/report.h"
#include "vmx/insn.h"
#include "vmx/vmcs.h"
#include "vmx/vmcs_fields.h"
#include "x86.h"

struct guest_regs {
	u32 edi, esi, ebp, esp_unused, ebx, edx, ecx, eax; /* pushal */
};

u32 vmexit_handler(struct guest_regs *regs);

static u32 vmr(u32 field)
{
	u32 value = 0;
	vmread_safe(field, &value);
	return value;
}

static void advance_rip(struct vmx_cpu *vmx, u32 length)
{
	vmcs_write(vmx, VMCS_GUEST_RIP, vmr(VMCS_GUEST_RIP) + length);
}

/* VM-exit interruption information (SDM Vol. 3C, 25.9.2): valid, and type 2 = NMI. */
#define INTR_INFO_VALID BIT(31)
#define INTR_INFO_TYPE_SHIFT 8
#define INTR_INFO_TYPE_MASK 7u
#define INTR_TYPE_NMI 2u

static int exit_is_nmi(u32 reason)
{
	if ((reason & EXIT_REASON_BASIC_MASK) != EXIT_REASON_EXCEPTION_OR_NMI)
		return 0;
	u32 info = vmr(VMCS_EXIT_INTERRUPTION_INFO);
	return (info & INTR_INFO_VALID) && ((info >> INTR_INFO_TYPE_SHIFT) & INTR_INFO_TYPE_MASK) == INTR_TYPE_NMI;
}

/* Called from vmexit_entry with the guest's registers; nonzero resumes the guest. */
u32 vmexit_handler(struct guest_regs *regs)
{
	struct cpu *cpu = this_cpu();
	struct vmx_cpu *vmx = &cpu->vmx;
	u32 reason = vmr(VMCS_EXIT_REASON);
	/* An NMI's VM exit leaves NMIs blocked; with "virtual NMIs" 0, VM entry loads blocking by NMI from
	 * the guest interruptibility state (none), so VMRESUME unblocks them without an IRET (SDM Vol. 3C,
	 * "Updating Non-Register State" of VM exits; "Loading Guest State" of VM entries). Bounded, so that
	 * an NMI storm cannot keep the guest from ending. */
	if (!(reason & BIT(EXIT_REASON_ENTRY_FAILURE_BIT)) && exit_is_nmi(reason) && cpu->guest_nmis < GUEST_MAX_EXITS) {
		cpu->guest_nmis++;
		return 1;
	}
	struct vmx_exit_record e = {
		.reason = reason,
		.qualification = vmr(VMCS_EXIT_QUALIFICATION),
		.rip = vmr(VMCS_GUEST_RIP),
		.length = vmr(VMCS_EXIT_INSTRUCTION_LENGTH),
	};
	if (vmx->exit_count < GUEST_MAX_EXITS)
		vmx->exits[vmx->exit_count] = e;
	vmx->exit_count++;

	if (e.reason & BIT(EXIT_REASON_ENTRY_FAILURE_BIT)) {
		/* A failed VM entry (SDM Vol. 3C, 27.8): basic reason 33, 34 or 41. */
		vmx->entry_failed = 1;
		vmx->entry_failure = e;
		rec_start(REC_ENTRY_FAILURE);
		rec_dec(KEY_REASON, e.reason & EXIT_REASON_BASIC_MASK);
		rec_hex32(KEY_EXIT_REASON, e.reason);
		rec_hex32(KEY_QUALIFICATION, e.qualification);
		rec_finish();
		return 0;
	}
	rec_start(REC_EXIT);
	rec_dec(KEY_N, vmx->exit_count);
	rec_dec(KEY_REASON, e.reason & EXIT_REASON_BASIC_MASK);
	rec_hex32(KEY_QUALIFICATION, e.qualification);
	rec_hex32(KEY_RIP, e.rip);
	rec_dec(KEY_LENGTH, e.length);
	rec_finish();
	if (vmx->exit_count >= GUEST_MAX_EXITS)
		return 0;

	switch (e.reason & EXIT_REASON_BASIC_MASK) {
	case EXIT_REASON_CPUID: {
		struct cpuid_regs r = cpuid(regs->eax, regs->ecx);
		regs->eax = r.eax;
		regs->ebx = r.ebx;
		regs->ecx = r.ecx;
		regs->edx = r.edx;
		advance_rip(vmx, e.length);
		return 1;
	}
	case EXIT_REASON_IO_INSTRUCTION:
		advance_rip(vmx, e.length);
		return 1;
	case EXIT_REASON_VMCALL:
		vmx->vmcall_value = regs->eax;
		vmx->vmcall_seen = 1;
		rec_start(REC_VMCALL);
		rec_hex32(KEY_VALUE, regs->eax);
		rec_finish();
		advance_rip(vmx, e.length);
		return 1;
	case EXIT_REASON_HLT:
	default:
		return 0;
	}
}

/* The exits and the VMCALL value the guest's ABI promises (I/O qualification: SDM Vol. 3C, table 28-5). */
int vmx_trace_is_expected(const struct cpu *cpu)
{
	static const u32 expected[GUEST_EXPECTED_EXIT_COUNT] = GUEST_EXPECTED_EXITS;
	const struct vmx_cpu *vmx = &cpu->vmx;
	if (vmx->exit_count != GUEST_EXPECTED_EXIT_COUNT || !vmx->vmcall_seen || vmx->vmcall_value != GUEST_VMCALL_VALUE)
		return 0;
	u32 io_exit = GUEST_EXPECTED_EXIT_COUNT;
	for (u32 i = 0; i < GUEST_EXPECTED_EXIT_COUNT; i++) {
		if ((vmx->exits[i].reason & EXIT_REASON_BASIC_MASK) != expected[i])
			return 0;
		if (expected[i] == EXIT_REASON_IO_INSTRUCTION)
			io_exit = i;
	}
	if (io_exit == GUEST_EXPECTED_EXIT_COUNT)
		return 1;
	u32 io = vmx->exits[io_exit].qualification; /* size-1 in 2:0, direction in 3 (0 = OUT), port in 31:16 */
	return (io & 7) == 0 && !(io & BIT(3)) && (io >> 16) == GUEST_TEST_PORT;
}
