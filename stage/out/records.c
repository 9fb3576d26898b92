/* Writers for shared record types; see records.h. */
#include "generated/contract.h"
#include "out/records.h"
#include "out/report.h"

void rec_cpuid(u32 leaf, u32 subleaf, struct cpuid_regs r)
{
	rec_start(REC_CPUID);
	rec_hex32(KEY_LEAF, leaf);
	rec_hex32(KEY_SUBLEAF, subleaf);
	rec_hex32(KEY_EAX, r.eax);
	rec_hex32(KEY_EBX, r.ebx);
	rec_hex32(KEY_ECX, r.ecx);
	rec_hex32(KEY_EDX, r.edx);
	rec_finish();
}

void rec_msr(u32 index, u64 value, const char *phase)
{
	rec_start(REC_MSR);
	rec_hex32(KEY_INDEX, index);
	rec_hex64(KEY_VALUE, value);
	rec_str(KEY_PHASE, phase);
	rec_finish();
}

void rec_msr_fault(u32 index, int vector, const char *phase)
{
	rec_start(REC_MSR);
	rec_hex32(KEY_INDEX, index);
	rec_dec(KEY_FAULT, (u32)vector);
	rec_str(KEY_PHASE, phase);
	rec_finish();
}

void rec_msr_write(u32 index, u64 value, int vector)
{
	rec_start(REC_MSR_WRITE);
	rec_hex32(KEY_INDEX, index);
	rec_hex64(KEY_VALUE, value);
	if (vector >= 0)
		rec_dec(KEY_FAULT, (u32)vector);
	rec_finish();
}

void rec_cr(const char *phase)
{
	rec_start(REC_CR);
	rec_str(KEY_PHASE, phase);
	rec_hex32(KEY_CR0, read_cr0());
	rec_hex32(KEY_CR3, read_cr3());
	rec_hex32(KEY_CR4, read_cr4());
	rec_finish();
}

void rec_check(const char *name, const char *result, const char *text)
{
	rec_start(REC_CHECK);
	rec_str(KEY_NAME, name);
	rec_str(KEY_RESULT, result);
	if (text)
		rec_text(text);
	rec_finish();
}

void rec_warning(const char *what, const char *text)
{
	rec_start(REC_WARNING);
	rec_str(KEY_WHAT, what);
	if (text)
		rec_text(text);
	rec_finish();
}

void rec_nmis(u32 host, u32 guest)
{
	if (!host && !guest)
		return;
	rec_start(REC_NMI);
	rec_dec(KEY_HOST, host);
	rec_dec(KEY_GUEST, guest);
	rec_finish();
}
