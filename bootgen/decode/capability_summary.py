"""The headline VMX capabilities, as a table: JSON key, label for people, and where each comes from.

Each entry's source says how its value is read from the decoded capability
MSRs (``capabilities.VmxCapabilities``) and when it counts as reported: a
control bit is reported when its control word is known; an EPT/VPID detail
when IA32_VMX_EPT_VPID_CAP was read or EPT (VPID) is ruled out; a MISC, BASIC,
VMCS_ENUM or CR fixed-bit value when that MSR was read. The keys are the JSON
``capabilities`` keys (docs/protocol.md); new keys may be added, existing ones
keep their meaning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .capabilities import VmxCapabilities

Value = bool | int | list | None


@dataclass(frozen=True)
class Capability:
    """One headline capability, as the JSON ``capabilities`` object and the text show it."""

    key: str
    label: str
    value: Value
    reported: bool


@dataclass(frozen=True)
class CapabilityGroup:
    title: str
    items: tuple[Capability, ...]


@dataclass(frozen=True)
class Source:
    """How to read one capability: its value and whether the report says anything about it."""

    value: Callable[["VmxCapabilities"], Value]
    reported: Callable[["VmxCapabilities"], bool]


def control(word: str, bit: str) -> Source:
    """A control that can be 1 (its allowed-1 setting)."""
    return Source(lambda c: c.groups[word].can_be_1(bit), lambda c: c.groups[word].known)


def controls(word: str, *bits: str) -> Source:
    """Several controls of one word that can all be 1."""
    return Source(lambda c: all(c.groups[word].can_be_1(b) for b in bits), lambda c: c.groups[word].known)


def entry_and_exit(bit: str) -> Source:
    """A "load" control that both the VM-entry and the VM-exit controls offer."""
    return Source(lambda c: c.groups["vm_entry"].can_be_1(bit) and c.groups["vm_exit"].can_be_1(bit),
                  lambda c: c.groups["vm_entry"].known and c.groups["vm_exit"].known)


def ept(bit: str) -> Source:
    return Source(lambda c: c.ept_bit(bit), lambda c: c.ept_known)


def vpid(bit: str) -> Source:
    return Source(lambda c: c.vpid_bit(bit), lambda c: c.vpid_known)


def derived(attribute: str, known: str) -> Source:
    """A property of VmxCapabilities, reported when its ``known`` property (or MSR attribute) holds."""
    def reported(c: "VmxCapabilities") -> bool:
        value: Any = getattr(c, known)
        return value if isinstance(value, bool) else value is not None
    return Source(lambda c: getattr(c, attribute), reported)


def msr_field(msr: str, attribute: str, absent: Value) -> Source:
    """A field of a decoded MSR (``misc``, ``basic``), or ``absent`` when the MSR was not read."""
    return Source(lambda c: getattr(getattr(c, msr), attribute) if getattr(c, msr) is not None else absent,
                  lambda c: getattr(c, msr) is not None)


S2, PIN, PRIMARY, TERTIARY = "secondary_processor_based", "pin_based", "primary_processor_based", \
    "tertiary_processor_based"

TABLE: tuple[tuple[str, tuple[tuple[str, str, Source], ...]], ...] = (
    ("memory virtualization", (
        ("ept", "EPT", control(S2, "enable_ept")),
        ("ept_page_walk_lengths", "EPT page-walk lengths", derived("ept_page_walk_lengths", "ept_known")),
        ("ept_memory_types", "EPT memory types", derived("ept_memory_types", "ept_known")),
        ("ept_execute_only", "execute-only pages", ept("execute_only")),
        ("ept_2m_pages", "2M pages", ept("pde_2mb_pages")),
        ("ept_1g_pages", "1G pages", ept("pdpte_1gb_pages")),
        ("ept_accessed_dirty", "accessed/dirty flags", ept("accessed_dirty_flags")),
        ("ept_advanced_exit_info", "advanced EPT-violation exit information", ept("advanced_ept_violation_info")),
        ("invept", "INVEPT", ept("invept")),
        ("invept_types", "INVEPT types", derived("invept_types", "ept_known")),
        ("vpid", "VPID", control(S2, "enable_vpid")),
        ("invvpid", "INVVPID", vpid("invvpid")),
        ("invvpid_types", "INVVPID types", derived("invvpid_types", "vpid_known")),
        ("unrestricted_guest", "unrestricted guest", control(S2, "unrestricted_guest")),
        ("pml", "page-modification logging (PML)", control(S2, "enable_pml")),
        ("ept_violation_ve", "EPT-violation #VE", control(S2, "ept_violation_ve")),
        ("mode_based_execute_control", "mode-based execute control",
         control(S2, "mode_based_execute_control_for_ept")),
        ("sub_page_write_permissions", "sub-page write permissions",
         control(S2, "sub_page_write_permissions_for_ept")),
        ("hlat", "HLAT", control(TERTIARY, "enable_hlat")),
    )),
    ("interrupts and APIC", (
        ("external_interrupt_exiting", "external-interrupt exiting", control(PIN, "external_interrupt_exiting")),
        ("nmi_exiting", "NMI exiting", control(PIN, "nmi_exiting")),
        ("virtual_nmis", "virtual NMIs", control(PIN, "virtual_nmis")),
        ("posted_interrupts", "posted interrupts", control(PIN, "process_posted_interrupts")),
        ("tpr_shadow", "TPR shadow", control(PRIMARY, "use_tpr_shadow")),
        ("apic_access_virtualization", "virtualize APIC accesses", control(S2, "virtualize_apic_accesses")),
        ("x2apic_virtualization", "virtualize x2APIC mode", control(S2, "virtualize_x2apic_mode")),
        ("apic_register_virtualization", "APIC-register virtualization",
         control(S2, "apic_register_virtualization")),
        ("virtual_interrupt_delivery", "virtual-interrupt delivery", control(S2, "virtual_interrupt_delivery")),
        ("apic_virtualization", "APICv (APIC-register virtualization and virtual-interrupt delivery)",
         controls(S2, "apic_register_virtualization", "virtual_interrupt_delivery")),
        ("ipi_virtualization", "IPI virtualization", control(TERTIARY, "ipi_virtualization")),
    )),
    ("timers and TSC", (
        ("preemption_timer", "VMX-preemption timer", control(PIN, "activate_vmx_preemption_timer")),
        ("preemption_timer_rate", "preemption-timer rate", derived("preemption_timer_rate", "misc")),
        ("save_preemption_timer", "save preemption-timer value on exit",
         control("vm_exit", "save_vmx_preemption_timer_value")),
        ("tsc_offsetting", "TSC offsetting", control(PRIMARY, "use_tsc_offsetting")),
        ("tsc_scaling", "TSC scaling", control(S2, "use_tsc_scaling")),
        ("rdtscp", "RDTSCP", control(S2, "enable_rdtscp")),
    )),
    ("nesting", (
        ("vmcs_shadowing", "VMCS shadowing", control(S2, "vmcs_shadowing")),
        ("vm_functions", "VM functions", control(S2, "enable_vm_functions")),
        ("eptp_switching", "EPTP switching", Source(lambda c: 0 in c.vm_functions, lambda c: c.vmfunc_known)),
        ("vmcs_highest_index", "highest VMCS field index", derived("vmcs_highest_index", "vmcs_enum")),
        ("true_controls", "TRUE control MSRs", msr_field("basic", "true_controls", False)),
        ("dual_monitor_smm", "dual-monitor treatment of SMM", msr_field("basic", "dual_monitor", False)),
        ("smm_monitor_ctl_bit2", "IA32_SMM_MONITOR_CTL bit 2 settable (VMXOFF then leaves SMIs blocked)",
         msr_field("misc", "smm_monitor_ctl_bit2", False)),
        ("mseg_revision", "MSEG revision identifier", msr_field("misc", "mseg_revision", None)),
    )),
    ("execution, entry and exit", (
        ("secondary_controls", "secondary controls", control(PRIMARY, "activate_secondary_controls")),
        ("tertiary_controls", "tertiary controls", control(PRIMARY, "activate_tertiary_controls")),
        ("io_bitmaps", "I/O bitmaps", control(PRIMARY, "use_io_bitmaps")),
        ("msr_bitmaps", "MSR bitmaps", control(PRIMARY, "use_msr_bitmaps")),
        ("monitor_trap_flag", "monitor trap flag", control(PRIMARY, "monitor_trap_flag")),
        ("pause_loop_exiting", "PAUSE-loop exiting", control(S2, "pause_loop_exiting")),
        ("descriptor_table_exiting", "descriptor-table exiting", control(S2, "descriptor_table_exiting")),
        ("invpcid", "INVPCID", control(S2, "enable_invpcid")),
        ("xsaves", "XSAVES/XRSTORS", control(S2, "enable_xsaves_xrstors")),
        ("user_wait_pause", "user wait and pause", control(S2, "enable_user_wait_and_pause")),
        ("bus_lock_detection", "VMM bus-lock detection", control(S2, "vmm_bus_lock_detection")),
        ("instruction_timeout", "instruction timeout", control(S2, "instruction_timeout")),
        ("ia32e_mode_guest", "64-bit (IA-32e mode) guests", control("vm_entry", "ia32e_mode_guest")),
        ("host_address_space_size", "64-bit host", control("vm_exit", "host_address_space_size")),
        ("load_ia32_efer", "load IA32_EFER on entry and exit", entry_and_exit("load_ia32_efer")),
        ("load_ia32_pat", "load IA32_PAT on entry and exit", entry_and_exit("load_ia32_pat")),
        ("load_cet_state", "load CET state on entry and exit", entry_and_exit("load_cet_state")),
        ("stores_lma_on_exit", "VM exits store EFER.LMA in the IA-32e mode guest control",
         msr_field("misc", "stores_lma_on_exit", False)),
    )),
    ("limits and fixed bits", (
        ("activity_states", "activity states", msr_field("misc", "activity_states", [])),
        ("cr3_target_count", "CR3-target values", msr_field("misc", "cr3_target_count", None)),
        ("max_msr_list_size", "MSR load/store list entries", msr_field("misc", "max_msr_list_size", None)),
        ("vmwrite_exit_information_fields", "VMWRITE to VM-exit information fields",
         msr_field("misc", "vmwrite_exit_information_fields", False)),
        ("zero_length_injection", "inject events with instruction length 0",
         msr_field("misc", "zero_length_injection", False)),
        ("intel_pt_in_vmx", "Intel PT in VMX operation", msr_field("misc", "intel_pt_in_vmx", False)),
        ("rdmsr_smbase_in_smm", "RDMSR of IA32_SMBASE in SMM", msr_field("misc", "rdmsr_smbase_in_smm", False)),
        ("cr0_must_be_1", "CR0 bits that must be 1", msr_field("cr0", "must_be_1", [])),
        ("cr4_must_be_1", "CR4 bits that must be 1", msr_field("cr4", "must_be_1", [])),
        ("cr4_must_be_0", "CR4 bits that must be 0", msr_field("cr4", "must_be_0", [])),
    )),
)

#: Every headline key, in table order.
KEYS: tuple[str, ...] = tuple(key for _, items in TABLE for key, _, _ in items)


def summarize(caps: "VmxCapabilities") -> tuple[CapabilityGroup, ...]:
    """The table evaluated for one CPU's capabilities."""
    return tuple(CapabilityGroup(title, tuple(Capability(key, label, source.value(caps), source.reported(caps))
                                               for key, label, source in items))
                 for title, items in TABLE)
