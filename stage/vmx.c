/*
 * VMX instructions with their outcome captured (SDM Vol. 3C, 31.2 and
 * 31.3). CF and ZF are set to 1 before each instruction and read back
 * after it, so that "succeeded" is proven by the instruction clearing them
 * rather than assumed; a #UD or #GP is caught and returned as a vector.
 */
#include "fault.h"
#include "report.h"
#include "vmx.h"
#include "x86.h"

#define PRESET_FLAGS (EFLAGS_CF | EFLAGS_ZF)

int vmx_outcome_cf(const struct vmx_outcome *o) { return o->vector < 0 && (o->eflags & EFLAGS_CF) != 0; }
int vmx_outcome_zf(const struct vmx_outcome *o) { return o->vector < 0 && (o->eflags & EFLAGS_ZF) != 0; }

/* The names the protocol uses for the four possible outcomes. */
const char *vmx_outcome_name(const struct vmx_outcome *o)
{
	if (o->vector >= 0)
		return "fault";
	if (o->eflags & EFLAGS_CF)
		return "fail-invalid";
	if (o->eflags & EFLAGS_ZF)
		return "fail-valid";
	return "success";
}

static void finish(struct vmx_outcome *o, u32 eflags)
{
	o->vector = fault_catch.vector;
	o->error_code = fault_catch.error_code;
	o->eflags = eflags;
	o->insn_error = 0;
	if (vmx_outcome_zf(o) && !vmx_outcome_cf(o)) {
		u32 err;
		if (vmread_safe(VMCS_VM_INSTRUCTION_ERROR, &err) == 0)
			o->insn_error = err;
	}
}

/*
 * The asm shared by every guarded VMX instruction: arm the fault catcher with the
 * resume label, preset CF and ZF, run the instruction, read RFLAGS back, disarm.
 * It expects the operands %[resume], %[preset] and %[eflags].
 */
#define GUARDED_VMX(insn)                    \
	"movl $1f, %[resume]\n\t"            \
	"pushfl\n\t"                         \
	"orl %[preset], (%%esp)\n\t"         \
	"popfl\n\t" insn "\n"                \
	"1:\n\t"                             \
	"pushfl\n\t"                         \
	"popl %[eflags]\n\t"                 \
	"movl $0, %[resume]"

/* VMXON, VMCLEAR and VMPTRLD take a 64-bit physical address in memory. */
#define VMX_MEM_INSN_SAFE(name, mnemonic)                                                     \
	struct vmx_outcome name(u64 region_pa)                                                \
	{                                                                                     \
		struct vmx_outcome o;                                                         \
		u64 operand = region_pa;                                                      \
		u32 eflags;                                                                   \
		fault_catch_reset();                                                          \
		__asm__ volatile(GUARDED_VMX(mnemonic " %[operand]")                          \
				 : [eflags] "=r"(eflags), [resume] "=m"(fault_catch.resume_eip) \
				 : [operand] "m"(operand), [preset] "i"(PRESET_FLAGS)           \
				 : "cc", "memory");                                             \
		finish(&o, eflags);                                                           \
		return o;                                                                     \
	}

VMX_MEM_INSN_SAFE(vmxon_safe, "vmxon")
VMX_MEM_INSN_SAFE(vmclear_safe, "vmclear")
VMX_MEM_INSN_SAFE(vmptrld_safe, "vmptrld")

struct vmx_outcome vmxoff_safe(void)
{
	struct vmx_outcome o;
	u32 eflags;
	fault_catch_reset();
	__asm__ volatile(GUARDED_VMX("vmxoff")
			 : [eflags] "=r"(eflags), [resume] "=m"(fault_catch.resume_eip)
			 : [preset] "i"(PRESET_FLAGS)
			 : "cc", "memory");
	finish(&o, eflags);
	return o;
}

/*
 * VMREAD of the current VMCS. Returns 0 when it succeeded, 1 on VMfail,
 * or the exception vector + 2 (a VMREAD outside VMX operation is #UD).
 */
int vmread_safe(u32 field, u32 *value)
{
	u32 eflags, v = 0;
	fault_catch_reset();
	__asm__ volatile(GUARDED_VMX("vmread %[field], %[value]")
			 : [eflags] "=r"(eflags), [value] "+r"(v), [resume] "=m"(fault_catch.resume_eip)
			 : [field] "r"(field), [preset] "i"(PRESET_FLAGS)
			 : "cc", "memory");
	if (fault_catch.vector >= 0)
		return fault_catch.vector + 2;
	if (eflags & PRESET_FLAGS)
		return 1;
	*value = v;
	return 0;
}

int vmwrite_safe(u32 field, u32 value)
{
	u32 eflags;
	fault_catch_reset();
	__asm__ volatile(GUARDED_VMX("vmwrite %[value], %[field]")
			 : [eflags] "=r"(eflags), [resume] "=m"(fault_catch.resume_eip)
			 : [field] "r"(field), [value] "r"(value), [preset] "i"(PRESET_FLAGS)
			 : "cc", "memory");
	if (fault_catch.vector >= 0)
		return fault_catch.vector + 2;
	return (eflags & PRESET_FLAGS) ? 1 : 0;
}

/* One "vmx" record: what the instruction did (docs/protocol.md). */
void rec_vmx_outcome(const char *insn, const struct vmx_outcome *o)
{
	rec_start("vmx");
	rec_str("insn", insn);
	rec_str("outcome", vmx_outcome_name(o));
	rec_dec("cf", (u32)vmx_outcome_cf(o));
	rec_dec("zf", (u32)vmx_outcome_zf(o));
	if (o->vector >= 0) {
		rec_dec("vector", (u32)o->vector);
		rec_hex32("error_code", o->error_code);
	}
	if (vmx_outcome_zf(o) && !vmx_outcome_cf(o))
		rec_dec("insn_error", o->insn_error);
	rec_hex32("eflags", o->eflags);
	rec_finish();
}
