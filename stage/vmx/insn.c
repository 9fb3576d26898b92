/*
 * VMX instructions with their outcome captured; see insn.h. CF and ZF are set
 * to 1 before each instruction and read back after it, so that "succeeded" is
 * proven by the instruction clearing them rather than assumed; a #UD or #GP is
 * caught and returned as a vector.
 */
#include "boot/fault.h"
#include "generated/contract.h"
#include "out/report.h"
#include "vmx/insn.h"
#include "vmx/vmcs_fields.h"
#include "x86.h"

#define PRESET_FLAGS (EFLAGS_CF | EFLAGS_ZF)

int vmx_outcome_cf(const struct vmx_outcome *o) { return o->vector < 0 && (o->eflags & EFLAGS_CF) != 0; }
int vmx_outcome_zf(const struct vmx_outcome *o) { return o->vector < 0 && (o->eflags & EFLAGS_ZF) != 0; }
int vmx_outcome_failed(const struct vmx_outcome *o) { return o->vector >= 0 || vmx_outcome_cf(o) || vmx_outcome_zf(o); }

const char *vmx_outcome_name(const struct vmx_outcome *o)
{
	if (o->vector >= 0)
		return OUTCOME_FAULT;
	if (o->eflags & EFLAGS_CF)
		return OUTCOME_FAIL_INVALID;
	if (o->eflags & EFLAGS_ZF)
		return OUTCOME_FAIL_VALID;
	return OUTCOME_SUCCESS;
}

/* VMfailValid leaves an error number in the current VMCS (SDM Vol. 3C, 31.4). */
static void read_insn_error(struct vmx_outcome *o)
{
	o->insn_error = 0;
	if (vmx_outcome_zf(o) && !vmx_outcome_cf(o)) {
		u32 err;
		if (vmread_safe(VMCS_VM_INSTRUCTION_ERROR, &err) == 0)
			o->insn_error = err;
	}
}

struct vmx_outcome vmx_outcome_of_eflags(u32 eflags)
{
	struct vmx_outcome o = { .vector = -1, .eflags = eflags };
	read_insn_error(&o);
	return o;
}

static void finish(struct vmx_outcome *o, const struct fault_catch *catcher, u32 eflags)
{
	o->vector = catcher->vector;
	o->error_code = catcher->error_code;
	o->eflags = eflags;
	read_insn_error(o);
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
#define VMX_MEM_INSN_SAFE(name, mnemonic)                                                  \
	struct vmx_outcome name(u64 region_pa)                                             \
	{                                                                                  \
		struct vmx_outcome o;                                                      \
		u64 operand = region_pa;                                                   \
		u32 eflags;                                                                \
		struct fault_catch *catcher = fault_catch_arm();                           \
		__asm__ volatile(GUARDED_VMX(mnemonic " %[operand]")                       \
				 : [eflags] "=r"(eflags), [resume] "=m"(catcher->resume_eip) \
				 : [operand] "m"(operand), [preset] "i"(PRESET_FLAGS)        \
				 : "cc", "memory");                                          \
		finish(&o, catcher, eflags);                                               \
		return o;                                                                  \
	}

VMX_MEM_INSN_SAFE(vmxon_safe, "vmxon")
VMX_MEM_INSN_SAFE(vmclear_safe, "vmclear")
VMX_MEM_INSN_SAFE(vmptrld_safe, "vmptrld")

struct vmx_outcome vmxoff_safe(void)
{
	struct vmx_outcome o;
	u32 eflags;
	struct fault_catch *catcher = fault_catch_arm();
	__asm__ volatile(GUARDED_VMX("vmxoff")
			 : [eflags] "=r"(eflags), [resume] "=m"(catcher->resume_eip)
			 : [preset] "i"(PRESET_FLAGS)
			 : "cc", "memory");
	finish(&o, catcher, eflags);
	return o;
}

int vmread_safe(u32 field, u32 *value)
{
	u32 eflags, v = 0;
	struct fault_catch *catcher = fault_catch_arm();
	__asm__ volatile(GUARDED_VMX("vmread %[field], %[value]")
			 : [eflags] "=r"(eflags), [value] "+r"(v), [resume] "=m"(catcher->resume_eip)
			 : [field] "r"(field), [preset] "i"(PRESET_FLAGS)
			 : "cc", "memory");
	if (catcher->vector >= 0)
		return catcher->vector + 2;
	if (eflags & PRESET_FLAGS)
		return 1;
	*value = v;
	return 0;
}

int vmwrite_safe(u32 field, u32 value)
{
	u32 eflags;
	struct fault_catch *catcher = fault_catch_arm();
	__asm__ volatile(GUARDED_VMX("vmwrite %[value], %[field]")
			 : [eflags] "=r"(eflags), [resume] "=m"(catcher->resume_eip)
			 : [field] "r"(field), [value] "r"(value), [preset] "i"(PRESET_FLAGS)
			 : "cc", "memory");
	if (catcher->vector >= 0)
		return catcher->vector + 2;
	return (eflags & PRESET_FLAGS) ? 1 : 0;
}

/* One "vmx" record: what the instruction did (docs/protocol.md). */
void rec_vmx_outcome(const char *insn, const struct vmx_outcome *o)
{
	rec_start(REC_VMX);
	rec_str(KEY_INSN, insn);
	rec_str(KEY_OUTCOME, vmx_outcome_name(o));
	rec_dec(KEY_CF, (u32)vmx_outcome_cf(o));
	rec_dec(KEY_ZF, (u32)vmx_outcome_zf(o));
	if (o->vector >= 0) {
		rec_dec(KEY_VECTOR, (u32)o->vector);
		rec_hex32(KEY_ERROR_CODE, o->error_code);
	}
	if (vmx_outcome_zf(o) && !vmx_outcome_cf(o))
		rec_dec(KEY_INSN_ERROR, o->insn_error);
	rec_hex32(KEY_EFLAGS, o->eflags);
	rec_finish();
}
