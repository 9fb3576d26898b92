/* Model-specific registers used by the stub, named as in SDM Vol. 4, chapter 2. */
#ifndef BOOTGEN_MSR_H
#define BOOTGEN_MSR_H

#define IA32_EFER 0xc0000080
#define EFER_LME BIT64(8)
#define EFER_LMA BIT64(10)

#define IA32_FEATURE_CONTROL 0x0000003a
#define FEATURE_CONTROL_LOCK BIT64(0)
#define FEATURE_CONTROL_VMX_INSIDE_SMX BIT64(1)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX BIT64(2)

/* VMX capability MSRs (SDM Vol. 3D, appendix A). */
#define IA32_VMX_BASIC 0x00000480
#define IA32_VMX_CR0_FIXED0 0x00000486
#define IA32_VMX_CR0_FIXED1 0x00000487
#define IA32_VMX_CR4_FIXED0 0x00000488
#define IA32_VMX_CR4_FIXED1 0x00000489

/* IA32_VMX_BASIC fields (SDM Vol. 3D, A.1 "Basic VMX Information"). */
#define VMX_BASIC_REVISION(v) ((u32)((v) & 0x7fffffffu))
#define VMX_BASIC_REGION_SIZE(v) ((u32)(((v) >> 32) & 0x1fffu))
#define VMX_BASIC_ADDR32 BIT64(48)
#define VMX_BASIC_MEMTYPE(v) ((u32)(((v) >> 50) & 0xfu))
#define VMX_BASIC_TRUE_CTLS BIT64(55)
#define MEMTYPE_WB 6

#endif
