"""Decode the VMX capability MSRs into named capabilities.

The stub dumps every capability MSR that exists (``msr index=... value=...``,
any phase); this module names their bits as the Intel SDM does:

* Vol. 3D, appendix A ("VMX Capability Reporting Facility"): which MSR reports
  what, the allowed-0 / allowed-1 encoding of the control MSRs (A.3-A.5),
  IA32_VMX_MISC (A.6), CR0/CR4 fixed bits (A.7, A.8), IA32_VMX_VMCS_ENUM (A.9),
  IA32_VMX_EPT_VPID_CAP (A.10) and IA32_VMX_VMFUNC (A.11).
* Vol. 3C, "VM-Execution Control Fields" (the pin-based, primary, secondary
  and tertiary processor-based control tables), "VM-Exit Control Fields" and
  "VM-Entry Control Fields": the name of each control bit.

For a control, "can be 1" is its allowed-1 setting (bits 63:32 of the MSR) and
"must be 1" its allowed-0 setting (bits 31:0), taken from the IA32_VMX_TRUE_*
MSR when IA32_VMX_BASIC[55] says those exist (A.2). A capability whose MSR is
absent from the report is false; the text output says "not reported".
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

from .decode import MEMORY_TYPES, VmxBasic
from .protocol import ParsedReport

# Capability MSR indices (SDM Vol. 4, table 2-2; Vol. 3D, appendix A).
IA32_VMX_BASIC = 0x480
IA32_VMX_PINBASED_CTLS = 0x481
IA32_VMX_PROCBASED_CTLS = 0x482
IA32_VMX_EXIT_CTLS = 0x483
IA32_VMX_ENTRY_CTLS = 0x484
IA32_VMX_MISC = 0x485
IA32_VMX_CR0_FIXED0 = 0x486
IA32_VMX_CR0_FIXED1 = 0x487
IA32_VMX_CR4_FIXED0 = 0x488
IA32_VMX_CR4_FIXED1 = 0x489
IA32_VMX_VMCS_ENUM = 0x48A
IA32_VMX_PROCBASED_CTLS2 = 0x48B
IA32_VMX_EPT_VPID_CAP = 0x48C
IA32_VMX_TRUE_PINBASED_CTLS = 0x48D
IA32_VMX_TRUE_PROCBASED_CTLS = 0x48E
IA32_VMX_TRUE_EXIT_CTLS = 0x48F
IA32_VMX_TRUE_ENTRY_CTLS = 0x490
IA32_VMX_VMFUNC = 0x491
IA32_VMX_PROCBASED_CTLS3 = 0x492

MSR_NAMES: dict[int, str] = {
    IA32_VMX_BASIC: "IA32_VMX_BASIC",
    IA32_VMX_PINBASED_CTLS: "IA32_VMX_PINBASED_CTLS",
    IA32_VMX_PROCBASED_CTLS: "IA32_VMX_PROCBASED_CTLS",
    IA32_VMX_EXIT_CTLS: "IA32_VMX_EXIT_CTLS",
    IA32_VMX_ENTRY_CTLS: "IA32_VMX_ENTRY_CTLS",
    IA32_VMX_MISC: "IA32_VMX_MISC",
    IA32_VMX_CR0_FIXED0: "IA32_VMX_CR0_FIXED0",
    IA32_VMX_CR0_FIXED1: "IA32_VMX_CR0_FIXED1",
    IA32_VMX_CR4_FIXED0: "IA32_VMX_CR4_FIXED0",
    IA32_VMX_CR4_FIXED1: "IA32_VMX_CR4_FIXED1",
    IA32_VMX_VMCS_ENUM: "IA32_VMX_VMCS_ENUM",
    IA32_VMX_PROCBASED_CTLS2: "IA32_VMX_PROCBASED_CTLS2",
    IA32_VMX_EPT_VPID_CAP: "IA32_VMX_EPT_VPID_CAP",
    IA32_VMX_TRUE_PINBASED_CTLS: "IA32_VMX_TRUE_PINBASED_CTLS",
    IA32_VMX_TRUE_PROCBASED_CTLS: "IA32_VMX_TRUE_PROCBASED_CTLS",
    IA32_VMX_TRUE_EXIT_CTLS: "IA32_VMX_TRUE_EXIT_CTLS",
    IA32_VMX_TRUE_ENTRY_CTLS: "IA32_VMX_TRUE_ENTRY_CTLS",
    IA32_VMX_VMFUNC: "IA32_VMX_VMFUNC",
    IA32_VMX_PROCBASED_CTLS3: "IA32_VMX_PROCBASED_CTLS3",
}


@dataclass(frozen=True)
class Bit:
    """One named bit: its position, a snake_case key and the SDM's name for it."""

    bit: int
    key: str
    name: str


# --------------------------------------------------------------------------- control tables

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

# CR0 and CR4 bits (Vol. 3A, "Control Registers"), to name IA32_VMX_CR0/CR4_FIXED0/1 (A.7, A.8).
CR0_BITS = (
    Bit(0, "pe", "PE"), Bit(1, "mp", "MP"), Bit(2, "em", "EM"), Bit(3, "ts", "TS"), Bit(4, "et", "ET"),
    Bit(5, "ne", "NE"), Bit(16, "wp", "WP"), Bit(18, "am", "AM"), Bit(29, "nw", "NW"), Bit(30, "cd", "CD"),
    Bit(31, "pg", "PG"),
)
CR4_BITS = (
    Bit(0, "vme", "VME"), Bit(1, "pvi", "PVI"), Bit(2, "tsd", "TSD"), Bit(3, "de", "DE"), Bit(4, "pse", "PSE"),
    Bit(5, "pae", "PAE"), Bit(6, "mce", "MCE"), Bit(7, "pge", "PGE"), Bit(8, "pce", "PCE"),
    Bit(9, "osfxsr", "OSFXSR"), Bit(10, "osxmmexcpt", "OSXMMEXCPT"), Bit(11, "umip", "UMIP"),
    Bit(12, "la57", "LA57"), Bit(13, "vmxe", "VMXE"), Bit(14, "smxe", "SMXE"), Bit(16, "fsgsbase", "FSGSBASE"),
    Bit(17, "pcide", "PCIDE"), Bit(18, "osxsave", "OSXSAVE"), Bit(19, "kl", "KL"), Bit(20, "smep", "SMEP"),
    Bit(21, "smap", "SMAP"), Bit(22, "pke", "PKE"), Bit(23, "cet", "CET"), Bit(24, "pks", "PKS"),
    Bit(25, "uintr", "UINTR"),
)


@dataclass(frozen=True)
class ControlGroupSpec:
    """One VM-execution, VM-exit or VM-entry control word and the MSRs that report it."""

    key: str
    title: str
    msr: int
    true_msr: int | None        # the IA32_VMX_TRUE_* MSR (A.2), if there is one
    bits: tuple[Bit, ...]
    allowed1_only: bool = False  # IA32_VMX_PROCBASED_CTLS3: all 64 bits are allowed-1 (A.3.4)


CONTROL_GROUPS = (
    ControlGroupSpec("pin_based", "pin-based VM-execution controls", IA32_VMX_PINBASED_CTLS,
                     IA32_VMX_TRUE_PINBASED_CTLS, PIN_BASED_BITS),
    ControlGroupSpec("primary_processor_based", "primary processor-based VM-execution controls",
                     IA32_VMX_PROCBASED_CTLS, IA32_VMX_TRUE_PROCBASED_CTLS, PRIMARY_BITS),
    ControlGroupSpec("secondary_processor_based", "secondary processor-based VM-execution controls",
                     IA32_VMX_PROCBASED_CTLS2, None, SECONDARY_BITS),
    ControlGroupSpec("tertiary_processor_based", "tertiary processor-based VM-execution controls",
                     IA32_VMX_PROCBASED_CTLS3, None, TERTIARY_BITS, allowed1_only=True),
    ControlGroupSpec("vm_exit", "VM-exit controls", IA32_VMX_EXIT_CTLS, IA32_VMX_TRUE_EXIT_CTLS, EXIT_BITS),
    ControlGroupSpec("vm_entry", "VM-entry controls", IA32_VMX_ENTRY_CTLS, IA32_VMX_TRUE_ENTRY_CTLS, ENTRY_BITS),
)


# --------------------------------------------------------------------------- decoded values


def _set_bits(value: int, width: int = 64) -> list[int]:
    return [b for b in range(width) if value >> b & 1]


@dataclass(frozen=True)
class Control:
    """One control bit: may it be 1 (allowed-1), must it be 1 (allowed-0 setting is 1)."""

    bit: int
    key: str
    name: str
    can_be_1: bool
    must_be_1: bool


@dataclass(frozen=True)
class ControlGroup:
    """A control word's settings as the capability MSRs report them."""

    spec: ControlGroupSpec
    source: int | None     # MSR the allowed-1 settings came from; None: not reported
    allowed0: int = 0      # bit set: the control must be 1
    allowed1: int = 0      # bit set: the control may be 1
    active: bool = True    # False when the control word itself cannot be activated

    @property
    def reported(self) -> bool:
        return self.source is not None

    @property
    def known(self) -> bool:
        """Its settings are known: reported, or ruled out because the word cannot be activated."""
        return self.reported or not self.active

    @property
    def controls(self) -> tuple[Control, ...]:
        return tuple(Control(b.bit, b.key, b.name, self.can_be_1(b.key), self.must_be_1(b.key))
                     for b in self.spec.bits)

    def _bit(self, key: str) -> int:
        for b in self.spec.bits:
            if b.key == key:
                return b.bit
        raise KeyError(f"{self.spec.key} has no control {key!r}")

    def can_be_1(self, key: str) -> bool:
        return self.reported and self.active and bool(self.allowed1 >> self._bit(key) & 1)

    def must_be_1(self, key: str) -> bool:
        return self.reported and self.active and bool(self.allowed0 >> self._bit(key) & 1)

    def unnamed_can_be_1(self) -> list[int]:
        """Optional bits (allowed-1, not must-be-1) this table does not name: controls newer than it."""
        named = {b.bit for b in self.spec.bits}
        width = 64 if self.spec.allowed1_only else 32
        return [b for b in _set_bits(self.allowed1, width) if b not in named and not self.allowed0 >> b & 1]

    def as_dict(self) -> dict:
        width = 16 if self.spec.allowed1_only else 8
        return {
            "title": self.spec.title,
            "reported": self.reported,
            "msr": f"0x{self.source:08x}" if self.source is not None else None,
            "active": self.active,
            "allowed0": f"0x{self.allowed0:0{width}x}" if self.reported else None,
            "allowed1": f"0x{self.allowed1:0{width}x}" if self.reported else None,
            "controls": {c.key: {"bit": c.bit, "name": c.name, "can_be_1": c.can_be_1, "must_be_1": c.must_be_1}
                         for c in self.controls},
            "unnamed_can_be_1": self.unnamed_can_be_1() if self.reported else [],
        }


@dataclass(frozen=True)
class VmxMisc:
    """IA32_VMX_MISC (Vol. 3D, A.6 "Miscellaneous Data")."""

    value: int

    @property
    def preemption_timer_rate(self) -> int:
        """Bits 4:0 = X: the VMX-preemption timer counts down by 1 each time TSC bit X changes."""
        return self.value & 0x1F

    @property
    def stores_lma_on_exit(self) -> bool:
        """Bit 5: VM exits store EFER.LMA into the "IA-32e mode guest" VM-entry control."""
        return bool(self.value >> 5 & 1)

    @property
    def activity_states(self) -> list[str]:
        """Bits 8:6: activity states HLT, shutdown, wait-for-SIPI (active is always supported)."""
        names = ("hlt", "shutdown", "wait-for-sipi")
        return [name for i, name in enumerate(names) if self.value >> (6 + i) & 1]

    @property
    def intel_pt_in_vmx(self) -> bool:
        """Bit 14: Intel PT can be used in VMX operation."""
        return bool(self.value >> 14 & 1)

    @property
    def rdmsr_smbase_in_smm(self) -> bool:
        """Bit 15: RDMSR can read IA32_SMBASE in SMM."""
        return bool(self.value >> 15 & 1)

    @property
    def cr3_target_count(self) -> int:
        """Bits 24:16: how many CR3-target values the VMCS holds."""
        return self.value >> 16 & 0x1FF

    @property
    def max_msr_list_size(self) -> int:
        """Bits 27:25 = N: each MSR load/store list holds at most 512 * (N + 1) entries."""
        return 512 * ((self.value >> 25 & 0x7) + 1)

    @property
    def smm_monitor_ctl_bit2(self) -> bool:
        """Bit 28: IA32_SMM_MONITOR_CTL bit 2 can be set (VMXOFF unblocks SMIs)."""
        return bool(self.value >> 28 & 1)

    @property
    def vmwrite_exit_information_fields(self) -> bool:
        """Bit 29: VMWRITE can write any supported field, VM-exit information fields included."""
        return bool(self.value >> 29 & 1)

    @property
    def zero_length_injection(self) -> bool:
        """Bit 30: VM entry may inject a software interrupt or exception with instruction length 0."""
        return bool(self.value >> 30 & 1)

    @property
    def mseg_revision(self) -> int:
        """Bits 63:32: the MSEG revision identifier (dual-monitor treatment of SMM)."""
        return self.value >> 32 & 0xFFFFFFFF


@dataclass(frozen=True)
class CrFixed:
    """IA32_VMX_CRn_FIXED0/FIXED1 (Vol. 3D, A.7, A.8): a bit set in FIXED0 must be 1,
    a bit clear in FIXED1 must be 0, in VMX operation."""

    fixed0: int
    fixed1: int
    bits: tuple[Bit, ...]

    @property
    def must_be_1(self) -> list[str]:
        return [b.name for b in self.bits if self.fixed0 >> b.bit & 1]

    @property
    def must_be_0(self) -> list[str]:
        return [b.name for b in self.bits if not self.fixed1 >> b.bit & 1]


@dataclass(frozen=True)
class CapabilityMsrs:
    """The capability MSR values and faults a report holds."""

    values: dict[int, int] = field(default_factory=dict)
    faults: dict[int, int] = field(default_factory=dict)   # index -> exception vector

    @classmethod
    def from_report(cls, report: ParsedReport) -> "CapabilityMsrs":
        """Every ``msr`` record with an index in 0x480-0x492, whatever its phase (first one wins).

        A ``controls`` record carries allowed0/allowed1 of its capability MSR; it stands
        in for that MSR when no ``msr`` record has it (reports from older stubs).
        """
        values: dict[int, int] = {}
        faults: dict[int, int] = {}
        for record in report.of_type("msr"):
            index = record.int("index")
            if index is None or index not in MSR_NAMES or index in values or index in faults:
                continue
            value = record.int("value")
            if value is not None:
                values[index] = value
            elif (vector := record.int("fault")) is not None:
                faults[index] = vector
        for record in report.of_type("controls"):
            index, low, high = record.int("msr"), record.int("allowed0"), record.int("allowed1")
            if index in MSR_NAMES and index not in values and index not in faults \
                    and low is not None and high is not None:
                values[index] = (high & 0xFFFFFFFF) << 32 | (low & 0xFFFFFFFF)
        return cls(values, faults)

    def get(self, index: int) -> int | None:
        return self.values.get(index)

    def as_dict(self) -> dict:
        out: dict = {}
        for index in sorted(set(self.values) | set(self.faults)):
            entry: dict = {"name": MSR_NAMES[index]}
            if index in self.values:
                entry["value"] = f"0x{self.values[index]:016x}"
            else:
                entry["fault"] = self.faults[index]
            out[f"0x{index:08x}"] = entry
        return out


def _bitfield(value: int | None, bits: tuple[Bit, ...]) -> dict[str, bool]:
    return {b.key: value is not None and bool(value >> b.bit & 1) for b in bits}


def _control_group(spec: ControlGroupSpec, msrs: CapabilityMsrs, true_controls: bool) -> ControlGroup:
    """Settings per A.2-A.5: allowed-0 from the TRUE MSR when IA32_VMX_BASIC[55] is set
    (a VMM may then clear some default-1 controls), allowed-1 from either (they agree)."""
    plain = msrs.get(spec.msr)
    true = msrs.get(spec.true_msr) if spec.true_msr is not None and true_controls else None
    if spec.allowed1_only:
        if plain is None:
            return ControlGroup(spec, None)
        return ControlGroup(spec, spec.msr, 0, plain)
    if plain is None and true is None:
        return ControlGroup(spec, None)
    allowed0 = (true if true is not None else plain) & 0xFFFFFFFF  # type: ignore[operator]
    source = spec.msr if plain is not None else spec.true_msr
    allowed1 = ((plain if plain is not None else true) >> 32) & 0xFFFFFFFF  # type: ignore[operator]
    return ControlGroup(spec, source, allowed0, allowed1)


# --------------------------------------------------------------------------- the whole picture


@dataclass(frozen=True)
class Capability:
    """One headline capability, as the JSON ``capabilities`` object and the text show it."""

    key: str
    label: str
    value: bool | int | list | None
    reported: bool


@dataclass(frozen=True)
class CapabilityGroup:
    title: str
    items: tuple[Capability, ...]


@dataclass(frozen=True)
class VmxCapabilities:
    msrs: CapabilityMsrs
    basic: VmxBasic | None
    groups: dict[str, ControlGroup]
    misc: VmxMisc | None
    ept_vpid: int | None          # IA32_VMX_EPT_VPID_CAP, when the CPU has it
    vmfunc: int | None            # IA32_VMX_VMFUNC
    vmcs_enum: int | None         # IA32_VMX_VMCS_ENUM
    cr0: CrFixed | None
    cr4: CrFixed | None

    @property
    def reported(self) -> bool:
        """Whether the report holds any capability MSR at all."""
        return bool(self.msrs.values)

    def control(self, group: str, key: str) -> bool:
        return self.groups[group].can_be_1(key)

    # EPT/VPID capability bits count only when EPT (for EPT bits) or VPID (for INVVPID
    # bits) can be enabled at all (A.10: the MSR exists when either can).
    def _ept_bit(self, key: str) -> bool:
        return self.control("secondary_processor_based", "enable_ept") \
            and _bitfield(self.ept_vpid, EPT_VPID_BITS)[key]

    def _vpid_bit(self, key: str) -> bool:
        return self.control("secondary_processor_based", "enable_vpid") \
            and _bitfield(self.ept_vpid, EPT_VPID_BITS)[key]

    @property
    def ept_page_walk_lengths(self) -> list[int]:
        return [n for n, key in ((4, "page_walk_length_4"), (5, "page_walk_length_5")) if self._ept_bit(key)]

    @property
    def ept_memory_types(self) -> list[str]:
        return [MEMORY_TYPES[t] for t, key in ((0, "memory_type_uc"), (6, "memory_type_wb")) if self._ept_bit(key)]

    @property
    def invept_types(self) -> list[str]:
        if not self._ept_bit("invept"):
            return []
        return [name for name, key in (("single-context", "invept_single_context"),
                                       ("all-context", "invept_all_context")) if self._ept_bit(key)]

    @property
    def invvpid_types(self) -> list[str]:
        if not self._vpid_bit("invvpid"):
            return []
        return [name for name, key in (("individual-address", "invvpid_individual_address"),
                                       ("single-context", "invvpid_single_context"),
                                       ("all-context", "invvpid_all_context"),
                                       ("single-context-retaining-globals",
                                        "invvpid_single_context_retaining_globals"))
                if self._vpid_bit(key)]

    @property
    def vm_functions(self) -> list[int]:
        if not self.control("secondary_processor_based", "enable_vm_functions") or self.vmfunc is None:
            return []
        return _set_bits(self.vmfunc)

    def summary(self) -> tuple[CapabilityGroup, ...]:
        """The headline capabilities, grouped for people; keys are the JSON ``capabilities`` keys."""
        pin = self.groups["pin_based"]
        primary = self.groups["primary_processor_based"]
        secondary = self.groups["secondary_processor_based"]
        tertiary = self.groups["tertiary_processor_based"]
        exit_, entry = self.groups["vm_exit"], self.groups["vm_entry"]
        # What the EPT/VPID capability bits say is known when the MSR was read, or when
        # the secondary controls already rule EPT (VPID) out.
        ept_known = self.ept_vpid is not None or (secondary.known and not secondary.can_be_1("enable_ept"))
        vpid_known = self.ept_vpid is not None or (secondary.known and not secondary.can_be_1("enable_vpid"))
        vmfunc_known = self.vmfunc is not None or (secondary.known and not secondary.can_be_1("enable_vm_functions"))
        timer = pin.can_be_1("activate_vmx_preemption_timer")
        misc = self.misc

        def ctl(group: ControlGroup, key: str, label: str, control: str) -> Capability:
            return Capability(key, label, group.can_be_1(control), group.known)

        def ept(key: str, label: str, bit_key: str) -> Capability:
            return Capability(key, label, self._ept_bit(bit_key), ept_known)

        memory = (
            ctl(secondary, "ept", "EPT", "enable_ept"),
            Capability("ept_page_walk_lengths", "EPT page-walk lengths", self.ept_page_walk_lengths, ept_known),
            Capability("ept_memory_types", "EPT memory types", self.ept_memory_types, ept_known),
            ept("ept_execute_only", "execute-only pages", "execute_only"),
            ept("ept_2m_pages", "2M pages", "pde_2mb_pages"),
            ept("ept_1g_pages", "1G pages", "pdpte_1gb_pages"),
            ept("ept_accessed_dirty", "accessed/dirty flags", "accessed_dirty_flags"),
            ept("ept_advanced_exit_info", "advanced EPT-violation exit information", "advanced_ept_violation_info"),
            ept("invept", "INVEPT", "invept"),
            Capability("invept_types", "INVEPT types", self.invept_types, ept_known),
            ctl(secondary, "vpid", "VPID", "enable_vpid"),
            Capability("invvpid", "INVVPID", self._vpid_bit("invvpid"), vpid_known),
            Capability("invvpid_types", "INVVPID types", self.invvpid_types, vpid_known),
            ctl(secondary, "unrestricted_guest", "unrestricted guest", "unrestricted_guest"),
            ctl(secondary, "pml", "page-modification logging (PML)", "enable_pml"),
            ctl(secondary, "ept_violation_ve", "EPT-violation #VE", "ept_violation_ve"),
            ctl(secondary, "mode_based_execute_control", "mode-based execute control",
                "mode_based_execute_control_for_ept"),
            ctl(secondary, "sub_page_write_permissions", "sub-page write permissions",
                "sub_page_write_permissions_for_ept"),
            ctl(tertiary, "hlat", "HLAT", "enable_hlat"),
        )
        apic_virtualization = secondary.can_be_1("apic_register_virtualization") \
            and secondary.can_be_1("virtual_interrupt_delivery")
        interrupts = (
            ctl(pin, "external_interrupt_exiting", "external-interrupt exiting", "external_interrupt_exiting"),
            ctl(pin, "nmi_exiting", "NMI exiting", "nmi_exiting"),
            ctl(pin, "virtual_nmis", "virtual NMIs", "virtual_nmis"),
            ctl(pin, "posted_interrupts", "posted interrupts", "process_posted_interrupts"),
            ctl(primary, "tpr_shadow", "TPR shadow", "use_tpr_shadow"),
            ctl(secondary, "apic_access_virtualization", "virtualize APIC accesses", "virtualize_apic_accesses"),
            ctl(secondary, "x2apic_virtualization", "virtualize x2APIC mode", "virtualize_x2apic_mode"),
            ctl(secondary, "apic_register_virtualization", "APIC-register virtualization",
                "apic_register_virtualization"),
            ctl(secondary, "virtual_interrupt_delivery", "virtual-interrupt delivery", "virtual_interrupt_delivery"),
            Capability("apic_virtualization", "APICv (APIC-register virtualization and "
                       "virtual-interrupt delivery)", apic_virtualization, secondary.known),
            ctl(tertiary, "ipi_virtualization", "IPI virtualization", "ipi_virtualization"),
        )
        timers = (
            ctl(pin, "preemption_timer", "VMX-preemption timer", "activate_vmx_preemption_timer"),
            # A.6: bits 4:0 give the rate when the timer is supported; None otherwise.
            Capability("preemption_timer_rate", "preemption-timer rate",
                       misc.preemption_timer_rate if misc and timer else None, misc is not None),
            ctl(exit_, "save_preemption_timer", "save preemption-timer value on exit",
                "save_vmx_preemption_timer_value"),
            ctl(primary, "tsc_offsetting", "TSC offsetting", "use_tsc_offsetting"),
            ctl(secondary, "tsc_scaling", "TSC scaling", "use_tsc_scaling"),
            ctl(secondary, "rdtscp", "RDTSCP", "enable_rdtscp"),
        )
        nesting = (
            ctl(secondary, "vmcs_shadowing", "VMCS shadowing", "vmcs_shadowing"),
            ctl(secondary, "vm_functions", "VM functions", "enable_vm_functions"),
            Capability("eptp_switching", "EPTP switching", 0 in self.vm_functions, vmfunc_known),
            Capability("vmcs_highest_index", "highest VMCS field index",
                       self.vmcs_enum >> 1 & 0x1FF if self.vmcs_enum is not None else None,
                       self.vmcs_enum is not None),
            Capability("true_controls", "TRUE control MSRs", bool(self.basic and self.basic.true_controls),
                       self.basic is not None),
            Capability("dual_monitor_smm", "dual-monitor treatment of SMM", bool(self.basic and self.basic.dual_monitor),
                       self.basic is not None),
        )
        execution = (
            ctl(primary, "secondary_controls", "secondary controls", "activate_secondary_controls"),
            ctl(primary, "tertiary_controls", "tertiary controls", "activate_tertiary_controls"),
            ctl(primary, "io_bitmaps", "I/O bitmaps", "use_io_bitmaps"),
            ctl(primary, "msr_bitmaps", "MSR bitmaps", "use_msr_bitmaps"),
            ctl(primary, "monitor_trap_flag", "monitor trap flag", "monitor_trap_flag"),
            ctl(secondary, "pause_loop_exiting", "PAUSE-loop exiting", "pause_loop_exiting"),
            ctl(secondary, "descriptor_table_exiting", "descriptor-table exiting", "descriptor_table_exiting"),
            ctl(secondary, "invpcid", "INVPCID", "enable_invpcid"),
            ctl(secondary, "xsaves", "XSAVES/XRSTORS", "enable_xsaves_xrstors"),
            ctl(secondary, "user_wait_pause", "user wait and pause", "enable_user_wait_and_pause"),
            ctl(secondary, "bus_lock_detection", "VMM bus-lock detection", "vmm_bus_lock_detection"),
            ctl(secondary, "instruction_timeout", "instruction timeout", "instruction_timeout"),
            ctl(entry, "ia32e_mode_guest", "64-bit (IA-32e mode) guests", "ia32e_mode_guest"),
            ctl(exit_, "host_address_space_size", "64-bit host", "host_address_space_size"),
            Capability("load_ia32_efer", "load IA32_EFER on entry and exit",
                       entry.can_be_1("load_ia32_efer") and exit_.can_be_1("load_ia32_efer"),
                       entry.known and exit_.known),
            Capability("load_ia32_pat", "load IA32_PAT on entry and exit",
                       entry.can_be_1("load_ia32_pat") and exit_.can_be_1("load_ia32_pat"),
                       entry.known and exit_.known),
            Capability("load_cet_state", "load CET state on entry and exit",
                       entry.can_be_1("load_cet_state") and exit_.can_be_1("load_cet_state"),
                       entry.known and exit_.known),
        )
        limits = (
            Capability("activity_states", "activity states", misc.activity_states if misc else [],
                       misc is not None),
            Capability("cr3_target_count", "CR3-target values", misc.cr3_target_count if misc else None,
                       misc is not None),
            Capability("max_msr_list_size", "MSR load/store list entries",
                       misc.max_msr_list_size if misc else None, misc is not None),
            Capability("vmwrite_exit_information_fields", "VMWRITE to VM-exit information fields",
                       bool(misc and misc.vmwrite_exit_information_fields), misc is not None),
            Capability("zero_length_injection", "inject events with instruction length 0",
                       bool(misc and misc.zero_length_injection), misc is not None),
            Capability("intel_pt_in_vmx", "Intel PT in VMX operation", bool(misc and misc.intel_pt_in_vmx),
                       misc is not None),
            Capability("cr0_must_be_1", "CR0 bits that must be 1", self.cr0.must_be_1 if self.cr0 else [],
                       self.cr0 is not None),
            Capability("cr4_must_be_1", "CR4 bits that must be 1", self.cr4.must_be_1 if self.cr4 else [],
                       self.cr4 is not None),
            Capability("cr4_must_be_0", "CR4 bits that must be 0", self.cr4.must_be_0 if self.cr4 else [],
                       self.cr4 is not None),
        )
        return (
            CapabilityGroup("memory virtualization", memory),
            CapabilityGroup("interrupts and APIC", interrupts),
            CapabilityGroup("timers and TSC", timers),
            CapabilityGroup("nesting", nesting),
            CapabilityGroup("execution, entry and exit", execution),
            CapabilityGroup("limits and fixed bits", limits),
        )

    def flat(self) -> dict:
        """The JSON ``capabilities`` object: snake_case key -> bool, number, list (or null)."""
        return {item.key: item.value for group in self.summary() for item in group.items}

    def controls_dict(self) -> dict:
        """The JSON ``vmx_controls`` object: every named control bit of every control word."""
        return {key: group.as_dict() for key, group in self.groups.items()}


def from_msrs(msrs: CapabilityMsrs) -> VmxCapabilities:
    """Decode capability MSR values (SDM Vol. 3D, appendix A)."""
    basic_value = msrs.get(IA32_VMX_BASIC)
    basic = VmxBasic.decode(basic_value) if basic_value is not None else None
    true_controls = bool(basic and basic.true_controls)
    groups = {spec.key: _control_group(spec, msrs, true_controls) for spec in CONTROL_GROUPS}
    primary = groups["primary_processor_based"]
    # The secondary and tertiary controls count only when the primary controls may
    # activate them (A.3.3, A.3.4).
    for key, activator in (("secondary_processor_based", "activate_secondary_controls"),
                           ("tertiary_processor_based", "activate_tertiary_controls")):
        group = groups[key]
        if primary.reported and not primary.can_be_1(activator):
            groups[key] = ControlGroup(group.spec, group.source, group.allowed0, group.allowed1, active=False)
    misc_value = msrs.get(IA32_VMX_MISC)
    cr0 = cr4 = None
    if (f0 := msrs.get(IA32_VMX_CR0_FIXED0)) is not None and (f1 := msrs.get(IA32_VMX_CR0_FIXED1)) is not None:
        cr0 = CrFixed(f0 & 0xFFFFFFFF, f1 & 0xFFFFFFFF, CR0_BITS)
    if (f0 := msrs.get(IA32_VMX_CR4_FIXED0)) is not None and (f1 := msrs.get(IA32_VMX_CR4_FIXED1)) is not None:
        cr4 = CrFixed(f0 & 0xFFFFFFFF, f1 & 0xFFFFFFFF, CR4_BITS)
    return VmxCapabilities(
        msrs=msrs, basic=basic, groups=groups,
        misc=VmxMisc(misc_value) if misc_value is not None else None,
        ept_vpid=msrs.get(IA32_VMX_EPT_VPID_CAP), vmfunc=msrs.get(IA32_VMX_VMFUNC),
        vmcs_enum=msrs.get(IA32_VMX_VMCS_ENUM), cr0=cr0, cr4=cr4,
    )


def decode_capabilities(report: ParsedReport) -> VmxCapabilities:
    """Every capability MSR in the report, decoded."""
    return from_msrs(CapabilityMsrs.from_report(report))


# --------------------------------------------------------------------------- text


def format_value(item: Capability) -> str:
    """A capability's value for people ("yes", "no", "not reported", "TSC >> 5", ...)."""
    if not item.reported:
        return "not reported"
    value = item.value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) if value else "none"
    if value is None:
        return "n/a"
    if item.key == "preemption_timer_rate":
        return f"TSC >> {value}"
    if item.key == "vmcs_highest_index":
        return f"{value:#x}"
    return str(value)


def _wrapped(head: str, text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width=width, initial_indent=head, subsequent_indent=" " * len(head),
                         break_on_hyphens=False, break_long_words=False)


def to_text_lines(caps: VmxCapabilities, width: int = 100, bold: str = "", reset: str = "") -> list[str]:
    """The grouped capabilities for people: per group, what is available, what is not, the values."""
    if not caps.reported:
        return ["VMX capabilities: not reported (the report holds no VMX capability MSRs)"]
    lines = ["VMX capabilities (IA32_VMX_* MSRs, SDM Vol. 3D appendix A):"]
    for group in caps.summary():
        lines.append(f"  {bold}{group.title}{reset}")
        flags = [item for item in group.items if isinstance(item.value, bool)]
        values = [item for item in group.items if not isinstance(item.value, bool) and item.reported]
        for head, chosen in (("yes", [i for i in flags if i.reported and i.value]),
                             ("no", [i for i in flags if i.reported and not i.value]),
                             ("not reported", [i for i in flags if not i.reported])):
            if chosen:
                lines.extend(_wrapped(f"    {head + ':':<14}", ", ".join(i.label for i in chosen), width))
        if values:
            lines.extend(_wrapped(f"    {'values:':<14}",
                                  "; ".join(f"{i.label} {format_value(i)}" for i in values), width))
    if caps.msrs.faults:
        faults = ", ".join(f"{MSR_NAMES[i]} (vector {v})" for i, v in sorted(caps.msrs.faults.items()))
        lines.append(f"  reading faulted: {faults}")
    return lines
