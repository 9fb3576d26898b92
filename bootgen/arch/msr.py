"""Model-specific registers bootgen reads or writes, and their fields.

Indices: SDM Vol. 4, "Model-Specific Registers (MSRs)", table 2-2
("IA-32 Architectural MSRs"); VMX capability MSRs: SDM Vol. 3D, appendix A
("VMX Capability Reporting Facility").
"""

from __future__ import annotations

from .bits import Bit

IA32_APIC_BASE = 0x0000001B
IA32_FEATURE_CONTROL = 0x0000003A
# The microcode update signature: write 0, run CPUID leaf 1, read bits 63:32 (SDM Vol. 3A, 10.11.7.1).
IA32_BIOS_SIGN_ID = 0x0000008B
IA32_PAT = 0x00000277
IA32_EFER = 0xC0000080
# x2APIC registers (SDM Vol. 3A, 11.12.1.2 "x2APIC Register Address Space").
IA32_X2APIC_APICID = 0x00000802
IA32_X2APIC_ICR = 0x00000830

# VMX capability MSRs (SDM Vol. 3D, appendix A).
IA32_VMX_BASIC = 0x00000480
IA32_VMX_PINBASED_CTLS = 0x00000481
IA32_VMX_PROCBASED_CTLS = 0x00000482
IA32_VMX_EXIT_CTLS = 0x00000483
IA32_VMX_ENTRY_CTLS = 0x00000484
IA32_VMX_MISC = 0x00000485
IA32_VMX_CR0_FIXED0 = 0x00000486
IA32_VMX_CR0_FIXED1 = 0x00000487
IA32_VMX_CR4_FIXED0 = 0x00000488
IA32_VMX_CR4_FIXED1 = 0x00000489
IA32_VMX_VMCS_ENUM = 0x0000048A
IA32_VMX_PROCBASED_CTLS2 = 0x0000048B
IA32_VMX_EPT_VPID_CAP = 0x0000048C
IA32_VMX_TRUE_PINBASED_CTLS = 0x0000048D
IA32_VMX_TRUE_PROCBASED_CTLS = 0x0000048E
IA32_VMX_TRUE_EXIT_CTLS = 0x0000048F
IA32_VMX_TRUE_ENTRY_CTLS = 0x00000490
IA32_VMX_VMFUNC = 0x00000491
IA32_VMX_PROCBASED_CTLS3 = 0x00000492

#: index -> the SDM's name, for every MSR above.
NAMES: dict[int, str] = {value: name for name, value in dict(globals()).items() if name.startswith("IA32_")}

#: The VMX capability MSRs, in index order.
VMX_CAPABILITY_MSRS: tuple[int, ...] = tuple(sorted(
    i for i in NAMES if IA32_VMX_BASIC <= i <= IA32_VMX_PROCBASED_CTLS3))

# IA32_FEATURE_CONTROL (SDM Vol. 3C, 24.7 "Enabling and Entering VMX Operation").
FEATURE_CONTROL_BITS = (
    Bit(0, "lock", "Lock"),
    Bit(1, "vmx_inside_smx", "Enable VMX inside SMX operation"),
    Bit(2, "vmx_outside_smx", "Enable VMX outside SMX operation"),
)

# IA32_APIC_BASE (SDM Vol. 3A, 11.4.4 "Local APIC Status and Location").
APIC_BASE_FIELDS = (
    Bit(8, "bsp", "Processor is the boot processor"),
    Bit(10, "x2apic", "x2APIC mode enabled"),
    Bit(11, "enable", "APIC global enable"),
    Bit(12, "base", "APIC base (physical page number)", width=40),
)

# IA32_EFER (SDM Vol. 3A, 2.2.1 "Extended Feature Enable Register").
EFER_BITS = (
    Bit(0, "sce", "SYSCALL enable"),
    Bit(8, "lme", "IA-32e mode enable"),
    Bit(10, "lma", "IA-32e mode active"),
    Bit(11, "nxe", "Execute-disable bit enable"),
    Bit(12, "svme", "Secure virtual machine enable (AMD APM Vol. 2, 15.4)"),
)

# IA32_VMX_BASIC (SDM Vol. 3D, A.1 "Basic VMX Information").
VMX_BASIC_FIELDS = (
    Bit(0, "revision", "VMCS revision identifier", width=31),
    Bit(32, "region_size", "VMXON/VMCS region size in bytes", width=13),
    Bit(48, "addr32", "Physical addresses limited to 32 bits"),
    Bit(49, "dual_monitor", "Dual-monitor treatment of SMIs and SMM"),
    Bit(50, "memory_type", "Memory type for the VMCS and the structures it references", width=4),
    Bit(54, "ins_outs_info", "VM exits for INS/OUTS report instruction information"),
    Bit(55, "true_controls", "IA32_VMX_TRUE_*_CTLS MSRs exist"),
    Bit(56, "no_error_code_requirement", "Hardware exceptions may be injected without an error code"),
)

# IA32_VMX_MISC (SDM Vol. 3D, A.6 "Miscellaneous Data").
VMX_MISC_FIELDS = (
    Bit(0, "preemption_timer_rate", "VMX-preemption timer counts down when TSC bit N changes", width=5),
    Bit(5, "stores_lma_on_exit", "VM exits store EFER.LMA into the IA-32e mode guest entry control"),
    Bit(6, "activity_hlt", "Activity state HLT"),
    Bit(7, "activity_shutdown", "Activity state shutdown"),
    Bit(8, "activity_wait_for_sipi", "Activity state wait-for-SIPI"),
    Bit(14, "intel_pt_in_vmx", "Intel PT can be used in VMX operation"),
    Bit(15, "rdmsr_smbase_in_smm", "RDMSR can read IA32_SMBASE in SMM"),
    Bit(16, "cr3_target_count", "Number of CR3-target values", width=9),
    Bit(25, "msr_list_size", "MSR list size N: at most 512 * (N + 1) entries", width=3),
    Bit(28, "smm_monitor_ctl_bit2", "IA32_SMM_MONITOR_CTL bit 2 can be set"),
    Bit(29, "vmwrite_exit_information_fields", "VMWRITE can write the VM-exit information fields"),
    Bit(30, "zero_length_injection", "Event injection with instruction length 0"),
    Bit(32, "mseg_revision", "MSEG revision identifier", width=32),
)

# IA32_VMX_VMCS_ENUM (SDM Vol. 3D, A.9 "VMCS Enumeration").
VMCS_ENUM_FIELDS = (
    Bit(1, "highest_index", "Highest index value of any VMCS field encoding", width=9),
)
