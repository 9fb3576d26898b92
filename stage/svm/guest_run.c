/*
 * The guest under AMD-V: the VMCB (AMD APM Vol. 2, 15.5 and appendix B), VMRUN
 * until HLT, each #VMEXIT recorded and handled (15.6-15.13), and the trace
 * judged against the guest's ABI (bootgen/contract/guest.py).
 */
#include "boot/descriptors.h"
#include "boot/fault.h"
#include "cpu.h"
#include "generated/contract.h"
#include "generated/msr.h"
#include "generated/svm.h"
#include "generated/vectors.h"
#include "lib/string.h"
#include "out/records.h"
#include "out/report.h"
#include "probe/inject.h"
#include "svm/guest_run.h"
#include "svm/vmcb.h"
#include "x86.h"

extern char svm_guest_entry[], svm_guest_ud_entry[];
int svm_vmrun(u32 vmcb, struct svm_guest_regs *regs, struct fault_catch *catcher);

/*
 * Shared by every CPU, written once before the first VMRUN: the I/O permission
 * map (12 KiB, one bit per port; 15.10.1) with the test port's bit set, an
 * all-clear MSR permission map (8 KiB; unused: MSR_PROT is not intercepted),
 * and a nested page table that maps the low 4 GiB of guest-physical memory to
 * the same host-physical addresses with 2 MiB pages (15.25). Nested paging
 * uses the host's paging mode, PAE here (15.25.3); nested walks are user
 * accesses, so every PDE allows user access (15.25.5).
 */
static u8 iopm[3 * 4096] ALIGNED(4096);
static u8 msrpm[2 * 4096] ALIGNED(4096);
static u64 nested_pdpt[512] ALIGNED(4096);
static u64 nested_pd[4][512] ALIGNED(4096);

#define PDE_LARGE_RWX_USER 0xE7ull /* P, RW, US, A, D, PS: a 2 MiB page, WB through PAT entry 0 */
#define PDPTE_PRESENT 0x1ull        /* PAE PDPTEs have only P (the rest is reserved) */

static void prepare_shared_tables(void)
{
	static int done;
	if (done)
		return;
	iopm[GUEST_TEST_PORT / 8] |= (u8)BIT(GUEST_TEST_PORT % 8);
	for (u32 gib = 0; gib < 4; gib++) {
		for (u32 i = 0; i < 512; i++)
			nested_pd[gib][i] = (((u64)gib << 30) | ((u64)i << 21)) | PDE_LARGE_RWX_USER;
		nested_pdpt[gib] = (u32)nested_pd[gib] | PDPTE_PRESENT;
	}
	done = 1;
}

/* Segment attributes (15.5.1, the VMCB's packed format): code exec/read accessed, data read/write accessed;
 * S, P, D/B, G set; DPL 0. */
#define ATTR_CODE 0xC9B
#define ATTR_DATA 0xC93

static void write_segment(u8 *vmcb, u32 offset, u16 selector, u16 attributes)
{
	struct vmcb_segment *s = (struct vmcb_segment *)(vmcb + offset);
	s->selector = selector;
	s->attributes = attributes;
	s->limit = 0xffffffffu;
	s->base = 0;
}

#define PAT_POWER_ON 0x0007040600070406ull /* the IA32_PAT reset value (SDM Vol. 3A, 12.12.4) */
#define CR0_GUEST (CR0_PE | CR0_ET | CR0_NE)

void svm_vmcb_prepare(struct cpu *cpu, int nested_paging)
{
	u8 *vmcb = cpu->vmcb;
	prepare_shared_tables();
	memset(vmcb, 0, VMCB_SIZE);
	/* Intercepts (15.9-15.13): VMRUN must be intercepted (15.5.1); NMIs and shutdown keep the host in charge. */
	u32 misc1 = INTERCEPT_CPUID | INTERCEPT_HLT | INTERCEPT_IOIO_PROT | INTERCEPT_NMI | INTERCEPT_SHUTDOWN;
	u32 misc2 = INTERCEPT_VMRUN | INTERCEPT_VMMCALL;
	if (injecting(INJECT_VMRUN_INTERCEPT_CLEAR))
		misc2 &= ~INTERCEPT_VMRUN;
	vmcb_write32(vmcb, VMCB_INTERCEPT_MISC1, misc1);
	vmcb_write32(vmcb, VMCB_INTERCEPT_MISC2, misc2);
	if (injecting(INJECT_UNEXPECTED_VMEXIT))
		vmcb_write32(vmcb, VMCB_INTERCEPT_EXCEPTIONS, BIT(VECTOR_UD));
	vmcb_write64(vmcb, VMCB_IOPM_BASE, (u32)iopm);
	vmcb_write64(vmcb, VMCB_MSRPM_BASE, (u32)msrpm);
	vmcb_write32(vmcb, VMCB_GUEST_ASID, injecting(INJECT_ASID_ZERO) ? 0 : 1); /* ASID 0 is the host's */
	vmcb_write32(vmcb, VMCB_TLB_CONTROL, 1);
	if (nested_paging) {
		vmcb_write64(vmcb, VMCB_NP_ENABLE, 1);
		vmcb_write64(vmcb, VMCB_N_CR3, (u32)nested_pdpt);
	}

	/* Guest state: flat 32-bit protected mode, paging off, the host's GDT; an empty IDT, so that any exception
	 * in the guest is a shutdown, which is intercepted. */
	struct table_register gdtr;
	__asm__ volatile("sgdt %0" : "=m"(gdtr));
	write_segment(vmcb, VMCB_CS, SEL_CODE, ATTR_CODE);
	write_segment(vmcb, VMCB_DS, SEL_DATA, ATTR_DATA);
	write_segment(vmcb, VMCB_ES, SEL_DATA, ATTR_DATA);
	write_segment(vmcb, VMCB_SS, SEL_DATA, ATTR_DATA);
	vmcb_write32(vmcb, VMCB_GDTR + 4, gdtr.limit);
	vmcb_write64(vmcb, VMCB_GDTR + 8, gdtr.base);
	vmcb_write32(vmcb, VMCB_IDTR + 4, 0);
	vmcb_write8(vmcb, VMCB_CPL, 0);
	vmcb_write64(vmcb, VMCB_EFER, injecting(INJECT_GUEST_SVME_CLEAR) ? 0 : EFER_SVME); /* 15.5.1 */
	vmcb_write64(vmcb, VMCB_CR0, CR0_GUEST);
	vmcb_write64(vmcb, VMCB_CR3, 0);
	vmcb_write64(vmcb, VMCB_CR4, 0);
	vmcb_write64(vmcb, VMCB_DR6, 0xffff0ff0u);
	vmcb_write64(vmcb, VMCB_DR7, 0x400);
	vmcb_write64(vmcb, VMCB_RFLAGS, EFLAGS_RESERVED1);
	char *entry = injecting(INJECT_UNEXPECTED_VMEXIT) ? svm_guest_ud_entry : svm_guest_entry;
	vmcb_write64(vmcb, VMCB_RIP, (u32)entry);
	vmcb_write64(vmcb, VMCB_RSP, (u32)(cpu->guest_stack + sizeof(cpu->guest_stack)));
	vmcb_write64(vmcb, VMCB_RAX, 0);
	vmcb_write64(vmcb, VMCB_G_PAT, PAT_POWER_ON);

	cpu->svm.nested_paging = nested_paging;
	rec_start(REC_VMCB);
	rec_hex32(KEY_ADDRESS, (u32)vmcb);
	rec_hex32(KEY_HSAVE, (u32)cpu->hsave);
	rec_dec(KEY_ASID, vmcb_read32(vmcb, VMCB_GUEST_ASID));
	rec_hex64(KEY_INTERCEPTS, ((u64)misc2 << 32) | misc1);
	rec_hex64(KEY_EFER, vmcb_read64(vmcb, VMCB_EFER));
	rec_hex32(KEY_CR0, CR0_GUEST);
	rec_str(KEY_NESTED_PAGING, nested_paging ? ANSWER_YES : ANSWER_NO);
	rec_str(KEY_NRIP_SAVE, cpu->svm.nrip_save ? ANSWER_YES : ANSWER_NO);
	rec_finish();
	rec_start(REC_GUEST);
	rec_hex32(KEY_ENTRY, (u32)entry);
	rec_hex32(KEY_STACK, (u32)(cpu->guest_stack + sizeof(cpu->guest_stack)));
	rec_finish();
}

static void rec_exit(u32 n, const struct svm_exit_record *e, int nrip_save)
{
	rec_start(REC_SVM_EXIT);
	rec_dec(KEY_N, n);
	rec_hex32(KEY_CODE, e->code);
	rec_hex64(KEY_INFO1, e->info1);
	rec_hex64(KEY_INFO2, e->info2);
	rec_hex32(KEY_RIP, e->rip);
	if (nrip_save)
		rec_hex32(KEY_NEXT_RIP, e->next_rip);
	rec_finish();
}

/* The next RIP: saved by the CPU with NRIP save (15.7.1), else the guest's known instruction length. */
static void advance(u8 *vmcb, const struct svm_exit_record *e, int nrip_save, u32 length)
{
	vmcb_write64(vmcb, VMCB_RIP, nrip_save ? e->next_rip : e->rip + length);
}

/* One #VMEXIT: recorded and handled; nonzero resumes the guest. */
static int handle_exit(struct cpu *cpu)
{
	struct svm_cpu *svm = &cpu->svm;
	u8 *vmcb = cpu->vmcb;
	struct svm_exit_record e = {
		.code = (u32)vmcb_read64(vmcb, VMCB_EXIT_CODE),
		.info1 = vmcb_read64(vmcb, VMCB_EXIT_INFO1),
		.info2 = vmcb_read64(vmcb, VMCB_EXIT_INFO2),
		.rip = (u32)vmcb_read64(vmcb, VMCB_RIP),
		.next_rip = (u32)vmcb_read64(vmcb, VMCB_NEXT_RIP),
	};
	/* A physical NMI while the guest ran: it stays pending and the host takes it after STGI (15.17);
	 * not the guest's doing and not part of its trace. Bounded, as for VT-x. */
	if (e.code == SVM_EXIT_NMI && cpu->guest_nmis < GUEST_MAX_EXITS) {
		cpu->guest_nmis++;
		/* The intercepted NMI is still pending: take it in the host now (GIF = 1 for a moment), or the
		 * next VMRUN, which sets GIF, exits for it again at once (15.17; KVM does the same). */
		__asm__ volatile("stgi; clgi" ::: "memory");
		return 1;
	}
	if (svm->exit_count < GUEST_MAX_EXITS)
		svm->exits[svm->exit_count] = e;
	svm->exit_count++;
	rec_exit(svm->exit_count, &e, svm->nrip_save);
	if (svm->exit_count >= GUEST_MAX_EXITS)
		return 0;
	switch (e.code) {
	case SVM_EXIT_CPUID: {
		struct cpuid_regs r = cpuid((u32)vmcb_read64(vmcb, VMCB_RAX), svm->regs.ecx);
		vmcb_write64(vmcb, VMCB_RAX, r.eax);
		svm->regs.ebx = r.ebx;
		svm->regs.ecx = r.ecx;
		svm->regs.edx = r.edx;
		advance(vmcb, &e, svm->nrip_save, GUEST_SVM_LENGTH_CPUID);
		return 1;
	}
	case SVM_EXIT_IOIO:
		advance(vmcb, &e, svm->nrip_save, GUEST_SVM_LENGTH_IOIO);
		return 1;
	case SVM_EXIT_VMMCALL:
		svm->vmcall_value = (u32)vmcb_read64(vmcb, VMCB_RAX);
		svm->vmcall_seen = 1;
		rec_start(REC_VMCALL);
		rec_hex32(KEY_VALUE, svm->vmcall_value);
		rec_finish();
		advance(vmcb, &e, svm->nrip_save, GUEST_SVM_LENGTH_VMMCALL);
		return 1;
	default: /* HLT ends the guest; anything else (VMEXIT_INVALID, shutdown, NPF, an exception) too */
		return 0;
	}
}

/* The exits and the VMMCALL value the guest's ABI promises (IOIO EXITINFO1: 15.10.2). */
static int trace_is_expected(const struct svm_cpu *svm)
{
	static const u32 expected[GUEST_EXPECTED_EXIT_COUNT] = GUEST_EXPECTED_SVM_EXITS;
	if (svm->exit_count != GUEST_EXPECTED_EXIT_COUNT || !svm->vmcall_seen || svm->vmcall_value != GUEST_VMCALL_VALUE)
		return 0;
	for (u32 i = 0; i < GUEST_EXPECTED_EXIT_COUNT; i++) {
		if (svm->exits[i].code != expected[i])
			return 0;
		if (expected[i] == SVM_EXIT_IOIO) {
			u32 io = (u32)svm->exits[i].info1;
			if ((io & SVM_IOIO_TYPE_IN) || !(io & SVM_IOIO_SIZE8) || (io >> SVM_IOIO_PORT_SHIFT) != GUEST_TEST_PORT)
				return 0;
		}
	}
	return 1;
}

static u32 vmrun_operand(const struct cpu *cpu)
{
	return (u32)cpu->vmcb + (injecting(INJECT_UNALIGNED_VMCB) ? 0x10 : 0);
}

enum svm_guest_result svm_guest_run(struct cpu *cpu)
{
	struct svm_cpu *svm = &cpu->svm;
	memset(&svm->regs, 0, sizeof(svm->regs));
	svm->vmrun_vector = -1;
	u64 efer;
	int svme = 1; /* CLGI and STGI raise #UD without EFER.SVME (15.17) */
	if (injecting(INJECT_SVME_CLEAR) && rdmsr_safe(IA32_EFER, &efer) < 0 &&
	    wrmsr_safe(IA32_EFER, efer & ~EFER_SVME) < 0)
		svme = 0; /* VMRUN with EFER.SVME = 0: #UD (15.4) */
	/* GIF = 0 around the guest's runs: the host takes NMIs only after STGI (15.17). */
	if (svme)
		__asm__ volatile("clgi" ::: "memory");
	int resume;
	do {
		int vector = svm_vmrun(vmrun_operand(cpu), &svm->regs, fault_catch_arm());
		if (vector >= 0) {
			svm->vmrun_vector = vector;
			svm->vmrun_error_code = cpu->fault_catch.error_code;
			rec_start(REC_SVM);
			rec_str(KEY_INSN, INSN_VMRUN);
			rec_str(KEY_OUTCOME, OUTCOME_FAULT);
			rec_dec(KEY_VECTOR, (u32)vector);
			rec_hex32(KEY_ERROR_CODE, svm->vmrun_error_code);
			rec_finish();
			break;
		}
		resume = handle_exit(cpu);
	} while (resume);
	if (svme)
		__asm__ volatile("stgi" ::: "memory");

	int expected = trace_is_expected(svm);
	rec_start(REC_GUEST_TRACE);
	rec_dec(KEY_EXITS, svm->exit_count);
	rec_str(KEY_EXPECTED, expected ? ANSWER_YES : ANSWER_NO);
	rec_hex32(KEY_VMCALL_VALUE, svm->vmcall_value);
	rec_finish();
	if (svm->vmrun_vector >= 0)
		return SVM_GUEST_VMRUN_FAULT;
	if (svm->exit_count && svm->exits[0].code == SVM_EXIT_INVALID)
		return SVM_GUEST_INVALID;
	return expected ? SVM_GUEST_OK : SVM_GUEST_BAD_TRACE;
}

u32 svm_unexpected_code(const struct cpu *cpu)
{
	static const u32 expected[GUEST_EXPECTED_EXIT_COUNT] = GUEST_EXPECTED_SVM_EXITS;
	const struct svm_cpu *svm = &cpu->svm;
	u32 recorded = svm->exit_count < GUEST_MAX_EXITS ? svm->exit_count : GUEST_MAX_EXITS;
	for (u32 i = 0; i < recorded && i < GUEST_EXPECTED_EXIT_COUNT; i++)
		if (svm->exits[i].code != expected[i])
			return svm->exits[i].code;
	return recorded ? svm->exits[recorded - 1].code : 0;
}
