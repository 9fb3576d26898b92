/*
 * Exception dispatch. Nothing fails silently: an exception that no *_safe()
 * helper expected is reported with vector, error code, EIP, the control
 * registers and the running step, becomes the verdict "fault", and the stub
 * then ends its report and exits. An exception inside this handler itself
 * stops the machine at once.
 */
#include "boot/fault.h"
#include "cpu.h"
#include "generated/contract.h"
#include "generated/vectors.h"
#include "out/report.h"
#include "probe/verdict.h"
#include "stub.h"
#include "x86.h"

static const char *const vector_mnemonics[VECTOR_COUNT] = VECTOR_MNEMONICS;

static void report_unexpected(const struct exception_frame *f)
{
	const char *mnemonic = f->vector < VECTOR_COUNT ? vector_mnemonics[f->vector] : "int";
	rec_interrupted();
	rec_start(REC_EXCEPTION);
	rec_dec(KEY_VECTOR, f->vector);
	rec_str(KEY_MNEMONIC, mnemonic);
	rec_hex32(KEY_ERROR_CODE, f->error_code);
	rec_hex32(KEY_EIP, f->eip);
	rec_hex32(KEY_EFLAGS, f->eflags);
	rec_hex32(KEY_CR0, read_cr0());
	rec_hex32(KEY_CR2, read_cr2());
	rec_hex32(KEY_CR3, read_cr3());
	rec_hex32(KEY_CR4, read_cr4());
	rec_str(KEY_STEP, step_current());
	rec_finish();

	/* CR4.MCE is set (main.c), so a machine check arrives here instead of shutting the CPU down. */
	verdict_set(VERDICT_FAULT, f->vector == VECTOR_MC ? "a machine check (hardware error) in the stub"
							  : "unexpected exception in the stub");
	verdict_dec(KEY_VECTOR, f->vector);
	verdict_hex32(KEY_EIP, f->eip);
	if (f->vector == VECTOR_MC)
		verdict_str(KEY_CAUSE, CAUSE_MACHINE_CHECK);
}

void exception_dispatch(struct exception_frame *frame)
{
	struct cpu *cpu = this_cpu();
	struct fault_catch *catcher = &cpu->fault_catch;
	/* An NMI is not an error: count it and go on (IRET re-enables NMIs). The report says how many. */
	if (frame->vector == VECTOR_NMI) {
		cpu->host_nmis++;
		return;
	}
	/* A machine check or an interrupt is not the guarded instruction's doing: report it. */
	if (catcher->resume_eip && frame->vector != VECTOR_MC && frame->vector < VECTOR_COUNT) {
		catcher->vector = (int)frame->vector;
		catcher->error_code = frame->error_code;
		frame->eip = catcher->resume_eip;
		catcher->resume_eip = 0;
		return;
	}
	if (catcher->reporting)
		halt_forever(); /* a fault while reporting a fault: nothing sane is left */
	catcher->reporting = 1;
	if (report_is_open())
		report_unexpected(frame);
	stub_finish();
}

struct fault_catch *fault_catch_arm(void)
{
	struct fault_catch *catcher = &this_cpu()->fault_catch;
	catcher->vector = -1;
	catcher->error_code = 0;
	return catcher;
}

/*
 * RDMSR/WRMSR raise #GP for an MSR the CPU does not implement (SDM Vol. 2B,
 * RDMSR), so every MSR access goes through these.
 */
int rdmsr_safe(u32 index, u64 *value)
{
	u32 lo = 0, hi = 0;
	struct fault_catch *catcher = fault_catch_arm();
	__asm__ volatile("movl $1f, %[resume]\n\t"
			 "rdmsr\n"
			 "1:\n\t"
			 "movl $0, %[resume]"
			 : "+a"(lo), "+d"(hi), [resume] "=m"(catcher->resume_eip)
			 : "c"(index)
			 : "memory");
	*value = ((u64)hi << 32) | lo;
	return catcher->vector;
}

int wrmsr_safe(u32 index, u64 value)
{
	struct fault_catch *catcher = fault_catch_arm();
	__asm__ volatile("movl $1f, %[resume]\n\t"
			 "wrmsr\n"
			 "1:\n\t"
			 "movl $0, %[resume]"
			 : [resume] "=m"(catcher->resume_eip)
			 : "c"(index), "a"((u32)value), "d"((u32)(value >> 32))
			 : "memory");
	return catcher->vector;
}

/* MOV to CR0/CR4 raises #GP for a value the CPU refuses (SDM Vol. 2B, MOV-Control Registers). */
#define DEFINE_WRITE_CR_SAFE(n)                                                         \
	int write_cr##n##_safe(u32 value)                                               \
	{                                                                               \
		struct fault_catch *catcher = fault_catch_arm();                        \
		__asm__ volatile("movl $1f, %[resume]\n\t"                              \
				 "mov %[value], %%cr" #n "\n"                            \
				 "1:\n\t"                                                \
				 "movl $0, %[resume]"                                     \
				 : [resume] "=m"(catcher->resume_eip)                     \
				 : [value] "r"(value)                                     \
				 : "memory");                                             \
		return catcher->vector;                                                 \
	}
DEFINE_WRITE_CR_SAFE(0)
DEFINE_WRITE_CR_SAFE(4)
