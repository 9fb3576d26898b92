"""VMX exit reasons and VM-instruction errors, as the SDM numbers and names them.

Basic exit reasons: SDM Vol. 3D, appendix C ("VMX Basic Exit Reasons");
the exit-reason field: SDM Vol. 3C, 25.9.1 "Basic VM-Exit Information" (bits
15:0 the basic reason, bit 31 "VM-entry failure"). VM-instruction errors:
SDM Vol. 3C, 31.4 "VM Instruction Error Numbers", table 31-1.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExitReason:
    number: int
    key: str      # snake_case; the stub's EXIT_REASON_<KEY>
    name: str     # the SDM's name


EXIT_REASONS: tuple[ExitReason, ...] = tuple(ExitReason(n, k, s) for n, k, s in (
    (0, "exception_or_nmi", "exception or NMI"), (1, "external_interrupt", "external interrupt"),
    (2, "triple_fault", "triple fault"), (3, "init_signal", "INIT signal"), (4, "sipi", "start-up IPI"),
    (5, "io_smi", "I/O SMI"), (6, "other_smi", "other SMI"), (7, "interrupt_window", "interrupt window"),
    (8, "nmi_window", "NMI window"), (9, "task_switch", "task switch"), (10, "cpuid", "CPUID"),
    (11, "getsec", "GETSEC"), (12, "hlt", "HLT"), (13, "invd", "INVD"), (14, "invlpg", "INVLPG"),
    (15, "rdpmc", "RDPMC"), (16, "rdtsc", "RDTSC"), (17, "rsm", "RSM"), (18, "vmcall", "VMCALL"),
    (19, "vmclear", "VMCLEAR"), (20, "vmlaunch", "VMLAUNCH"), (21, "vmptrld", "VMPTRLD"),
    (22, "vmptrst", "VMPTRST"), (23, "vmread", "VMREAD"), (24, "vmresume", "VMRESUME"),
    (25, "vmwrite", "VMWRITE"), (26, "vmxoff", "VMXOFF"), (27, "vmxon", "VMXON"),
    (28, "cr_access", "control-register access"), (29, "dr_access", "MOV DR"),
    (30, "io_instruction", "I/O instruction"), (31, "rdmsr", "RDMSR"), (32, "wrmsr", "WRMSR"),
    (33, "entry_failure_guest_state", "VM-entry failure due to invalid guest state"),
    (34, "entry_failure_msr_loading", "VM-entry failure due to MSR loading"), (36, "mwait", "MWAIT"),
    (37, "monitor_trap_flag", "monitor trap flag"), (39, "monitor", "MONITOR"), (40, "pause", "PAUSE"),
    (41, "entry_failure_machine_check", "VM-entry failure due to machine-check event"),
    (43, "tpr_below_threshold", "TPR below threshold"), (44, "apic_access", "APIC access"),
    (45, "virtualized_eoi", "virtualized EOI"), (46, "gdtr_idtr_access", "access to GDTR or IDTR"),
    (47, "ldtr_tr_access", "access to LDTR or TR"), (48, "ept_violation", "EPT violation"),
    (49, "ept_misconfiguration", "EPT misconfiguration"), (50, "invept", "INVEPT"), (51, "rdtscp", "RDTSCP"),
    (52, "preemption_timer", "VMX-preemption timer expired"), (53, "invvpid", "INVVPID"),
    (54, "wbinvd", "WBINVD or WBNOINVD"), (55, "xsetbv", "XSETBV"), (56, "apic_write", "APIC write"),
    (57, "rdrand", "RDRAND"), (58, "invpcid", "INVPCID"), (59, "vmfunc", "VMFUNC"), (60, "encls", "ENCLS"),
    (61, "rdseed", "RDSEED"), (62, "pml_full", "page-modification log full"), (63, "xsaves", "XSAVES"),
    (64, "xrstors", "XRSTORS"), (65, "pconfig", "PCONFIG"), (66, "spp_event", "SPP-related event"),
    (67, "umwait", "UMWAIT"), (68, "tpause", "TPAUSE"), (69, "loadiwkey", "LOADIWKEY"), (70, "enclv", "ENCLV"),
    (72, "enqcmd_pasid_failure", "ENQCMD PASID translation failure"),
    (73, "enqcmds_pasid_failure", "ENQCMDS PASID translation failure"), (74, "bus_lock", "bus lock"),
    (75, "instruction_timeout", "instruction timeout"), (76, "seamcall", "SEAMCALL"), (77, "tdcall", "TDCALL"),
    (78, "rdmsrlist", "RDMSRLIST"), (79, "wrmsrlist", "WRMSRLIST"),
    (84, "rdmsr_immediate", "RDMSR with immediate operand"),
    (85, "wrmsrns_immediate", "WRMSRNS with immediate operand"),
))

BY_NUMBER: dict[int, ExitReason] = {r.number: r for r in EXIT_REASONS}
BY_KEY: dict[str, ExitReason] = {r.key: r for r in EXIT_REASONS}

#: Exit-reason bit 31: the VM entry failed (SDM Vol. 3C, 25.9.1).
ENTRY_FAILURE_BIT = 31
BASIC_REASON_MASK = 0xFFFF

VM_INSTRUCTION_ERRORS: dict[int, str] = {
    1: "VMCALL executed in VMX root operation",
    2: "VMCLEAR with invalid physical address",
    3: "VMCLEAR with VMXON pointer",
    4: "VMLAUNCH with non-clear VMCS",
    5: "VMRESUME with non-launched VMCS",
    6: "VMRESUME after VMXOFF",
    7: "VM entry with invalid control field(s)",
    8: "VM entry with invalid host-state field(s)",
    9: "VMPTRLD with invalid physical address",
    10: "VMPTRLD with VMXON pointer",
    11: "VMPTRLD with incorrect VMCS revision identifier",
    12: "VMREAD/VMWRITE from/to unsupported VMCS component",
    13: "VMWRITE to read-only VMCS component",
    15: "VMXON executed in VMX root operation",
    16: "VM entry with invalid executive-VMCS pointer",
    17: "VM entry with non-launched executive VMCS",
    18: "VM entry with executive-VMCS pointer not VMXON pointer",
    19: "VMCALL with non-clear VMCS",
    20: "VMCALL with invalid VM-exit control fields",
    22: "VMCALL with incorrect MSEG revision identifier",
    23: "VMXOFF under dual-monitor treatment of SMIs and SMM",
    24: "VMCALL with invalid SMM-monitor features",
    25: "VM entry with invalid VM-execution control fields in executive VMCS",
    26: "VM entry with events blocked by MOV SS",
    28: "invalid operand to INVEPT/INVVPID",
}

# The VM-instruction errors bootgen's advice speaks about by number.
ERROR_INVALID_CONTROL_FIELDS = 7
ERROR_INVALID_HOST_STATE = 8
ERROR_VMXON_IN_ROOT = 15
ERROR_VMXOFF_DUAL_MONITOR = 23


def exit_reason_name(reason: int | str) -> str:
    if not isinstance(reason, int):
        return f"unknown exit reason {reason}"
    basic = reason & BASIC_REASON_MASK
    found = BY_NUMBER.get(basic)
    return found.name if found else f"unknown exit reason {basic}"


def instruction_error_name(number: int | str) -> str:
    known = VM_INSTRUCTION_ERRORS.get(number) if isinstance(number, int) else None
    return known or f"unknown VM-instruction error {number}"
