"""VMX control words and capability bit tables, named as the SDM names them.

SDM Vol. 3C, 25.6 "VM-Execution Control Fields" (pin-based, primary, secondary
and tertiary processor-based controls), 25.7 "VM-Exit Control Fields" and 25.8
"VM-Entry Control Fields"; SDM Vol. 3D, appendix A: which capability MSR
reports each word (A.3-A.5), the EPT/VPID capabilities (A.10) and VM functions
(A.11).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import msr
from .bits import Bit

# Pin-based VM-execution controls (Vol. 3C, "Pin-Based VM-Execution Controls" table; A.3.1).
PIN_BASED_BITS = (
    Bit(0, "external_interrupt_exiting", "External-interrupt exiting"),
    Bit(3, "nmi_exiting", "NMI exiting"),
    Bit(5, "virtual_nmis", "Virtual NMIs"),
    Bit(6, "activate_vmx_preemption_timer", "Activate VMX-preemption timer"),
    Bit(7, "process_posted_interrupts", "Process posted interrupts"),
)

# Primary processor-based VM-execution controls (Vol. 3C, "Primary Processor-Based
# VM-Execution Controls" table; A.3.2).
PRIMARY_BITS = (
    Bit(2, "interrupt_window_exiting", "Interrupt-window exiting"),
    Bit(3, "use_tsc_offsetting", "Use TSC offsetting"),
    Bit(7, "hlt_exiting", "HLT exiting"),
    Bit(9, "invlpg_exiting", "INVLPG exiting"),
    Bit(10, "mwait_exiting", "MWAIT exiting"),
    Bit(11, "rdpmc_exiting", "RDPMC exiting"),
    Bit(12, "rdtsc_exiting", "RDTSC exiting"),
    Bit(15, "cr3_load_exiting", "CR3-load exiting"),
    Bit(16, "cr3_store_exiting", "CR3-store exiting"),
    Bit(17, "activate_tertiary_controls", "Activate tertiary controls"),
    Bit(19, "cr8_load_exiting", "CR8-load exiting"),
    Bit(20, "cr8_store_exiting", "CR8-store exiting"),
    Bit(21, "use_tpr_shadow", "Use TPR shadow"),
    Bit(22, "nmi_window_exiting", "NMI-window exiting"),
    Bit(23, "mov_dr_exiting", "MOV-DR exiting"),
    Bit(24, "unconditional_io_exiting", "Unconditional I/O exiting"),
    Bit(25, "use_io_bitmaps", "Use I/O bitmaps"),
    Bit(27, "monitor_trap_flag", "Monitor trap flag"),
    Bit(28, "use_msr_bitmaps", "Use MSR bitmaps"),
    Bit(29, "monitor_exiting", "MONITOR exiting"),
    Bit(30, "pause_exiting", "PAUSE exiting"),
    Bit(31, "activate_secondary_controls", "Activate secondary controls"),
)

# Secondary processor-based VM-execution controls (Vol. 3C, "Secondary Processor-Based
# VM-Execution Controls" table; A.3.3).
SECONDARY_BITS = (
    Bit(0, "virtualize_apic_accesses", "Virtualize APIC accesses"),
    Bit(1, "enable_ept", "Enable EPT"),
    Bit(2, "descriptor_table_exiting", "Descriptor-table exiting"),
    Bit(3, "enable_rdtscp", "Enable RDTSCP"),
    Bit(4, "virtualize_x2apic_mode", "Virtualize x2APIC mode"),
    Bit(5, "enable_vpid", "Enable VPID"),
    Bit(6, "wbinvd_exiting", "WBINVD exiting"),
    Bit(7, "unrestricted_guest", "Unrestricted guest"),
    Bit(8, "apic_register_virtualization", "APIC-register virtualization"),
    Bit(9, "virtual_interrupt_delivery", "Virtual-interrupt delivery"),
    Bit(10, "pause_loop_exiting", "PAUSE-loop exiting"),
    Bit(11, "rdrand_exiting", "RDRAND exiting"),
    Bit(12, "enable_invpcid", "Enable INVPCID"),
    Bit(13, "enable_vm_functions", "Enable VM functions"),
    Bit(14, "vmcs_shadowing", "VMCS shadowing"),
    Bit(15, "enable_encls_exiting", "Enable ENCLS exiting"),
    Bit(16, "rdseed_exiting", "RDSEED exiting"),
    Bit(17, "enable_pml", "Enable PML"),
    Bit(18, "ept_violation_ve", "EPT-violation #VE"),
    Bit(19, "conceal_vmx_from_pt", "Conceal VMX from PT"),
    Bit(20, "enable_xsaves_xrstors", "Enable XSAVES/XRSTORS"),
    Bit(21, "pasid_translation", "PASID translation"),
    Bit(22, "mode_based_execute_control_for_ept", "Mode-based execute control for EPT"),
    Bit(23, "sub_page_write_permissions_for_ept", "Sub-page write permissions for EPT"),
    Bit(24, "intel_pt_uses_guest_physical_addresses", "Intel PT uses guest physical addresses"),
    Bit(25, "use_tsc_scaling", "Use TSC scaling"),
    Bit(26, "enable_user_wait_and_pause", "Enable user wait and pause"),
    Bit(27, "enable_pconfig", "Enable PCONFIG"),
    Bit(28, "enable_enclv_exiting", "Enable ENCLV exiting"),
    Bit(30, "vmm_bus_lock_detection", "VMM bus-lock detection"),
    Bit(31, "instruction_timeout", "Instruction timeout"),
)

# Tertiary processor-based VM-execution controls (Vol. 3C, "Tertiary Processor-Based
# VM-Execution Controls" table; A.3.4: IA32_VMX_PROCBASED_CTLS3 is 64 allowed-1 bits).
TERTIARY_BITS = (
    Bit(0, "loadiwkey_exiting", "LOADIWKEY exiting"),
    Bit(1, "enable_hlat", "Enable HLAT"),
    Bit(2, "ept_paging_write_control", "EPT paging-write control"),
    Bit(3, "guest_paging_verification", "Guest-paging verification"),
    Bit(4, "ipi_virtualization", "IPI virtualization"),
    Bit(6, "enable_msr_list_instructions", "Enable MSR-list instructions"),
    Bit(7, "virtualize_ia32_spec_ctrl", "Virtualize IA32_SPEC_CTRL"),
)

# Primary VM-exit controls (Vol. 3C, "Definitions of Primary VM-Exit Controls" table; A.4.1).
EXIT_BITS = (
    Bit(2, "save_debug_controls", "Save debug controls"),
    Bit(9, "host_address_space_size", "Host address-space size"),
    Bit(12, "load_ia32_perf_global_ctrl", "Load IA32_PERF_GLOBAL_CTRL"),
    Bit(15, "acknowledge_interrupt_on_exit", "Acknowledge interrupt on exit"),
    Bit(18, "save_ia32_pat", "Save IA32_PAT"),
    Bit(19, "load_ia32_pat", "Load IA32_PAT"),
    Bit(20, "save_ia32_efer", "Save IA32_EFER"),
    Bit(21, "load_ia32_efer", "Load IA32_EFER"),
    Bit(22, "save_vmx_preemption_timer_value", "Save VMX-preemption timer value"),
    Bit(23, "clear_ia32_bndcfgs", "Clear IA32_BNDCFGS"),
    Bit(24, "conceal_vmx_from_pt", "Conceal VMX from PT"),
    Bit(25, "clear_ia32_rtit_ctl", "Clear IA32_RTIT_CTL"),
    Bit(26, "clear_ia32_lbr_ctl", "Clear IA32_LBR_CTL"),
    Bit(27, "clear_uinv", "Clear UINV"),
    Bit(28, "load_cet_state", "Load CET state"),
    Bit(29, "load_pkrs", "Load PKRS"),
    Bit(30, "save_ia32_perf_global_ctl", "Save IA32_PERF_GLOBAL_CTL"),
    Bit(31, "activate_secondary_controls", "Activate secondary controls"),
)

# VM-entry controls (Vol. 3C, "Definitions of VM-Entry Controls" table; A.5).
ENTRY_BITS = (
    Bit(2, "load_debug_controls", "Load debug controls"),
    Bit(9, "ia32e_mode_guest", "IA-32e mode guest"),
    Bit(10, "entry_to_smm", "Entry to SMM"),
    Bit(11, "deactivate_dual_monitor_treatment", "Deactivate dual-monitor treatment"),
    Bit(13, "load_ia32_perf_global_ctrl", "Load IA32_PERF_GLOBAL_CTRL"),
    Bit(14, "load_ia32_pat", "Load IA32_PAT"),
    Bit(15, "load_ia32_efer", "Load IA32_EFER"),
    Bit(16, "load_ia32_bndcfgs", "Load IA32_BNDCFGS"),
    Bit(17, "conceal_vmx_from_pt", "Conceal VMX from PT"),
    Bit(18, "load_ia32_rtit_ctl", "Load IA32_RTIT_CTL"),
    Bit(19, "load_uinv", "Load UINV"),
    Bit(20, "load_cet_state", "Load CET state"),
    Bit(21, "load_guest_ia32_lbr_ctl", "Load guest IA32_LBR_CTL"),
    Bit(22, "load_pkrs", "Load PKRS"),
)

# IA32_VMX_EPT_VPID_CAP (Vol. 3D, A.10 "VPID and EPT Capabilities").
EPT_VPID_BITS = (
    Bit(0, "execute_only", "Execute-only EPT translations"),
    Bit(6, "page_walk_length_4", "Page-walk length of 4"),
    Bit(7, "page_walk_length_5", "Page-walk length of 5"),
    Bit(8, "memory_type_uc", "Uncacheable (UC) EPT paging-structure memory type"),
    Bit(14, "memory_type_wb", "Write-back (WB) EPT paging-structure memory type"),
    Bit(16, "pde_2mb_pages", "EPT PDE can map a 2-Mbyte page"),
    Bit(17, "pdpte_1gb_pages", "EPT PDPTE can map a 1-Gbyte page"),
    Bit(20, "invept", "INVEPT supported"),
    Bit(21, "accessed_dirty_flags", "Accessed and dirty flags for EPT"),
    Bit(22, "advanced_ept_violation_info", "Advanced VM-exit information for EPT violations"),
    Bit(23, "supervisor_shadow_stack_control", "Supervisor shadow-stack control"),
    Bit(25, "invept_single_context", "Single-context INVEPT"),
    Bit(26, "invept_all_context", "All-context INVEPT"),
    Bit(32, "invvpid", "INVVPID supported"),
    Bit(40, "invvpid_individual_address", "Individual-address INVVPID"),
    Bit(41, "invvpid_single_context", "Single-context INVVPID"),
    Bit(42, "invvpid_all_context", "All-context INVVPID"),
    Bit(43, "invvpid_single_context_retaining_globals", "Single-context-retaining-globals INVVPID"),
)

# IA32_VMX_VMFUNC (Vol. 3D, A.11): bit X set means VM function X may be enabled.
VMFUNC_BITS = (
    Bit(0, "eptp_switching", "EPTP switching"),
)


@dataclass(frozen=True)
class ControlWord:
    """One VM-execution, VM-exit or VM-entry control word and the MSRs that report it."""

    key: str                    # snake_case, the JSON key
    title: str
    c_prefix: str               # prefix of the stub's names for its bits
    msr: int
    true_msr: int | None        # the IA32_VMX_TRUE_* MSR (A.2), if there is one
    bits: tuple[Bit, ...]
    allowed1_only: bool = False  # IA32_VMX_PROCBASED_CTLS3: all 64 bits are allowed-1 (A.3.4)


CONTROL_WORDS = (
    ControlWord("pin_based", "pin-based VM-execution controls", "PIN", msr.IA32_VMX_PINBASED_CTLS,
                msr.IA32_VMX_TRUE_PINBASED_CTLS, PIN_BASED_BITS),
    ControlWord("primary_processor_based", "primary processor-based VM-execution controls", "PRIMARY",
                msr.IA32_VMX_PROCBASED_CTLS, msr.IA32_VMX_TRUE_PROCBASED_CTLS, PRIMARY_BITS),
    ControlWord("secondary_processor_based", "secondary processor-based VM-execution controls", "SECONDARY",
                msr.IA32_VMX_PROCBASED_CTLS2, None, SECONDARY_BITS),
    ControlWord("tertiary_processor_based", "tertiary processor-based VM-execution controls", "TERTIARY",
                msr.IA32_VMX_PROCBASED_CTLS3, None, TERTIARY_BITS, allowed1_only=True),
    ControlWord("vm_exit", "VM-exit controls", "EXIT_CTL", msr.IA32_VMX_EXIT_CTLS, msr.IA32_VMX_TRUE_EXIT_CTLS,
                EXIT_BITS),
    ControlWord("vm_entry", "VM-entry controls", "ENTRY_CTL", msr.IA32_VMX_ENTRY_CTLS,
                msr.IA32_VMX_TRUE_ENTRY_CTLS, ENTRY_BITS),
)
