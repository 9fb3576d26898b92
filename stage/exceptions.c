/*
 * Exception dispatch. Nothing fails silently: an exception that no *_safe()
 * helper expected is reported with vector, error code, EIP, the control
 * registers and the running step, and the stub then ends its report and
 * exits. An exception inside this handler itself stops the machine at once.
 */
#include "fault.h"
#include "msr.h"
#include "report.h"
#include "stub.h"
#include "x86.h"

struct fault_catch fault_catch = { 0, -1, 0 };
static int in_handler;

static const char *const vector_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS",
	"#NP", "#SS", "#GP", "#PF", "res", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
	"res", "res", "res", "res", "res", "res", "#HV", "#VC", "#SX", "res",
};

static void report_unexpected(const struct exception_frame *f)
{
	rec_interrupted();
	rec_start("exception");
	rec_dec("vector", f->vector);
	rec_str("mnemonic", vector_names[f->vector & 31]);
	rec_hex32("error_code", f->error_code);
	rec_hex32("eip", f->eip);
	rec_hex32("eflags", f->eflags);
	rec_hex32("cr0", read_cr0());
	rec_hex32("cr2", read_cr2());
	rec_hex32("cr3", read_cr3());
	rec_hex32("cr4", read_cr4());
	rec_str("step", step_current());
	rec_finish();

	rec_start("verdict");
	rec_str("name", VERDICT_FAULT);
	rec_dec("vector", f->vector);
	rec_hex32("eip", f->eip);
	rec_text("unexpected exception in the stub");
	rec_finish();
}

void exception_dispatch(struct exception_frame *frame)
{
	/* An NMI (2) or machine check (18) is not the guarded instruction's doing: report it. */
	if (fault_catch.resume_eip && frame->vector != 2 && frame->vector != 18) {
		fault_catch.vector = (int)frame->vector;
		fault_catch.error_code = frame->error_code;
		frame->eip = fault_catch.resume_eip;
		fault_catch.resume_eip = 0;
		return;
	}
	if (in_handler)
		halt_forever(); /* a fault while reporting a fault: nothing sane is left */
	in_handler = 1;
	if (report_is_open())
		report_unexpected(frame);
	stub_exit();
}

/*
 * RDMSR/WRMSR raise #GP for an MSR the CPU does not implement (SDM Vol. 2B,
 * RDMSR), so every MSR access goes through these.
 */
int rdmsr_safe(u32 index, u64 *value)
{
	u32 lo = 0, hi = 0;
	fault_catch_reset();
	__asm__ volatile("movl $1f, %[resume]\n\t"
			 "rdmsr\n"
			 "1:\n\t"
			 "movl $0, %[resume]"
			 : "+a"(lo), "+d"(hi), [resume] "=m"(fault_catch.resume_eip)
			 : "c"(index)
			 : "memory");
	*value = ((u64)hi << 32) | lo;
	return fault_catch.vector;
}

int wrmsr_safe(u32 index, u64 value)
{
	fault_catch_reset();
	__asm__ volatile("movl $1f, %[resume]\n\t"
			 "wrmsr\n"
			 "1:\n\t"
			 "movl $0, %[resume]"
			 : [resume] "=m"(fault_catch.resume_eip)
			 : "c"(index), "a"((u32)value), "d"((u32)(value >> 32))
			 : "memory");
	return fault_catch.vector;
}

/* MOV to CR0/CR4 raises #GP for a value the CPU refuses (SDM Vol. 2B, MOV-Control Registers). */
#define DEFINE_WRITE_CR_SAFE(n)                                                         \
	int write_cr##n##_safe(u32 value)                                               \
	{                                                                               \
		fault_catch_reset();                                                    \
		__asm__ volatile("movl $1f, %[resume]\n\t"                              \
				 "mov %[value], %%cr" #n "\n"                            \
				 "1:\n\t"                                                \
				 "movl $0, %[resume]"                                     \
				 : [resume] "=m"(fault_catch.resume_eip)                  \
				 : [value] "r"(value)                                     \
				 : "memory");                                             \
		return fault_catch.vector;                                              \
	}
DEFINE_WRITE_CR_SAFE(0)
DEFINE_WRITE_CR_SAFE(4)
