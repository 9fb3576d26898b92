/*
 * The VMCB (AMD APM Vol. 2, appendix B "Layout of VMCB"): a 4 KiB page, the
 * control area at 0 (table B-1) and the state-save area at 0x400 (table B-2).
 * Offsets only: the stub reads and writes fields by offset, as the tables list
 * them. The intercept words' bits come from generated/svm.h.
 */
#ifndef BOOTGEN_VMCB_H
#define BOOTGEN_VMCB_H

#include "types.h"

/* Control area (table B-1). */
#define VMCB_INTERCEPT_EXCEPTIONS 0x008 /* bit N: exception vector N */
#define VMCB_IOPM_BASE 0x040
#define VMCB_MSRPM_BASE 0x048
#define VMCB_GUEST_ASID 0x058
#define VMCB_TLB_CONTROL 0x05C          /* 1: flush the whole TLB on VMRUN */
#define VMCB_EXIT_CODE 0x070
#define VMCB_EXIT_INFO1 0x078
#define VMCB_EXIT_INFO2 0x080
#define VMCB_NP_ENABLE 0x090            /* bit 0: nested paging */
#define VMCB_N_CR3 0x0B0
#define VMCB_CLEAN_BITS 0x0C0
#define VMCB_NEXT_RIP 0x0C8

/* State-save area (table B-2, offsets within it): segments are {selector, attributes, limit, base} (16 bytes). */
#define VMCB_SAVE 0x400
#define VMCB_ES (VMCB_SAVE + 0x000)
#define VMCB_CS (VMCB_SAVE + 0x010)
#define VMCB_SS (VMCB_SAVE + 0x020)
#define VMCB_DS (VMCB_SAVE + 0x030)
#define VMCB_GDTR (VMCB_SAVE + 0x060)
#define VMCB_IDTR (VMCB_SAVE + 0x080)
#define VMCB_CPL (VMCB_SAVE + 0x0CB)
#define VMCB_EFER (VMCB_SAVE + 0x0D0)
#define VMCB_CR4 (VMCB_SAVE + 0x148)
#define VMCB_CR3 (VMCB_SAVE + 0x150)
#define VMCB_CR0 (VMCB_SAVE + 0x158)
#define VMCB_DR7 (VMCB_SAVE + 0x160)
#define VMCB_DR6 (VMCB_SAVE + 0x168)
#define VMCB_RFLAGS (VMCB_SAVE + 0x170)
#define VMCB_RIP (VMCB_SAVE + 0x178)
#define VMCB_RSP (VMCB_SAVE + 0x1D8)
#define VMCB_RAX (VMCB_SAVE + 0x1F8)
#define VMCB_G_PAT (VMCB_SAVE + 0x268)

#define VMCB_SIZE 4096

struct vmcb_segment {
	u16 selector;
	u16 attributes; /* type[3:0], S, DPL[6:5], P, AVL, L, D/B, G (APM Vol. 2, 15.5.1) */
	u32 limit;
	u64 base;
} PACKED;

static inline u32 vmcb_read32(const u8 *vmcb, u32 offset) { return *(const volatile u32 *)(vmcb + offset); }
static inline u64 vmcb_read64(const u8 *vmcb, u32 offset) { return *(const volatile u64 *)(vmcb + offset); }
static inline void vmcb_write32(u8 *vmcb, u32 offset, u32 value) { *(volatile u32 *)(vmcb + offset) = value; }
static inline void vmcb_write64(u8 *vmcb, u32 offset, u64 value) { *(volatile u64 *)(vmcb + offset) = value; }
static inline void vmcb_write8(u8 *vmcb, u32 offset, u8 value) { *(volatile u8 *)(vmcb + offset) = value; }

#endif
