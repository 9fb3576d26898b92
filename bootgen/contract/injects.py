"""Fault injection (``inject=NAME``, test only): every failure the stub claims to detect, produced on purpose.

Each entry says where the stub acts (the named point in its run), how the
failure is produced (with the SDM rule it breaks), and what bootgen must then
report: the verdict and the values of the JSON's stable detail keys. The test
matrix (tests/test_faults.py) and the table in docs/failure-modes.md are this
data.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field

from .verdicts import Verdict


class Inject(enum.StrEnum):
    NONE = "none"
    UD2 = "ud2"
    PAGE_FAULT = "page-fault"
    HANG = "hang"
    TRIPLE_FAULT = "triple-fault"
    BAD_REVISION = "bad-revision"
    REVISION_BIT31 = "revision-bit31"
    UNALIGNED_VMXON = "unaligned-vmxon"
    VMXON_BEYOND_MAXPHYADDR = "vmxon-beyond-maxphyaddr"
    VMXE_CLEAR = "vmxe-clear"
    CR0_NE_CLEAR = "cr0-ne-clear"
    LOCK_DISABLED = "lock-disabled"
    FEATURE_CONTROL_DISABLED = "feature-control-disabled"
    VMXE_PRESET = "vmxe-preset"
    DOUBLE_VMXON = "double-vmxon"
    DOUBLE_VMXON_VMCS = "double-vmxon-vmcs"
    BAD_CONTROL = "bad-control"
    BAD_HOST_STATE = "bad-host-state"
    BAD_GUEST_STATE = "bad-guest-state"
    HOST_NMI = "host-nmi"
    GUEST_NMI = "guest-nmi"
    NMI_WAIT = "nmi-wait"
    NULL_READ = "null-read"
    HIGH_FRAMEBUFFER = "high-framebuffer"
    # AMD-V (the SVM path only).
    SVME_CLEAR = "svme-clear"
    ASID_ZERO = "asid-zero"
    VMRUN_INTERCEPT_CLEAR = "vmrun-intercept-clear"
    GUEST_SVME_CLEAR = "guest-svme-clear"
    UNALIGNED_VMCB = "unaligned-vmcb"
    SVMDIS_LOCKED = "svmdis-locked"
    SVME_PRESET = "svme-preset"
    UNEXPECTED_VMEXIT = "unexpected-vmexit"
    # Every logical CPU (with inject_cpu=N, N > 0).
    AP_NO_SIPI = "ap-no-sipi"
    X2APIC = "x2apic"


class Point(enum.StrEnum):
    """Where in the stub's run an injection acts."""

    SCREEN = "setting up the screen"
    EARLY = "after paging, before the probe"
    FEATURE_CONTROL = "the feature-control check"
    CR4_VMXE_FREE = "before the CR4.VMXE check"
    VMXON_REGION = "preparing the VMXON region"
    VMXON_OPERAND = "the VMXON operand"
    BEFORE_VMXON = "CR0/CR4 just before VMXON"
    AFTER_VMXON = "after VMXON"
    AFTER_VMPTRLD = "after VMPTRLD"
    BEFORE_VMLAUNCH = "the VMCS just before VMLAUNCH"
    VM_CR = "the vm-cr check"
    EFER_SVME_FREE = "before the EFER.SVME check"
    BEFORE_VMRUN = "the VMCB and EFER just before VMRUN"
    AP_START = "the boot CPU's INIT-SIPI-SIPI"
    CPU_DISCOVERY = "before the CPUs are found"


@dataclass(frozen=True)
class InjectSpec:
    point: Point
    how: str                                  # how it is produced, with the SDM rule
    verdict: Verdict
    detail: dict[str, int | None] = field(default_factory=dict)  # stable JSON keys that must hold these values
    result: str = ""                          # for people: the verdict and its detail
    clean_exit: bool = True                   # the image still ends its report and exits
    technology: str = "vmx"                   # vmx: acts on the VT-x path; svm: on the AMD-V path; any: both
    proven_by: str = "tests/test_faults.py::test_injected_failure_on_bochs"


SPECS: dict[Inject, InjectSpec] = {
    Inject.BAD_REVISION: InjectSpec(
        Point.VMXON_REGION, "VMXON region revision ID off by one (Vol. 3C 31.3, VMXON)", Verdict.VMXON_FAILED,
        {"cf": 1, "zf": 0, "vector": None}, "`cf=1` (VMfailInvalid)"),
    Inject.REVISION_BIT31: InjectSpec(
        Point.VMXON_REGION, "bit 31 of the region's revision dword set", Verdict.VMXON_FAILED,
        {"cf": 1, "zf": 0, "vector": None}, "`cf=1`"),
    Inject.UNALIGNED_VMXON: InjectSpec(
        Point.VMXON_OPERAND, "VMXON pointer = region + 0x10 (not 4 KiB aligned)", Verdict.VMXON_FAILED,
        {"cf": 1, "zf": 0, "vector": None}, "`cf=1`"),
    Inject.VMXON_BEYOND_MAXPHYADDR: InjectSpec(
        Point.VMXON_OPERAND, "VMXON pointer = 2^MAXPHYADDR (CPUID 0x80000008)", Verdict.VMXON_FAILED,
        {"cf": 1, "zf": 0, "vector": None}, "`cf=1`"),
    Inject.VMXE_CLEAR: InjectSpec(
        Point.BEFORE_VMXON, "VMXON with CR4.VMXE = 0", Verdict.VMXON_FAILED, {"vector": 6}, "`vector=6` (#UD)"),
    Inject.CR0_NE_CLEAR: InjectSpec(
        Point.BEFORE_VMXON, "VMXON with CR0.NE = 0, violating IA32_VMX_CR0_FIXED0 (24.8)", Verdict.VMXON_FAILED,
        {"vector": 13}, "`vector=13` (#GP)"),
    Inject.LOCK_DISABLED: InjectSpec(
        Point.FEATURE_CONTROL, "IA32_FEATURE_CONTROL locked with bit 2 clear by the stub (only while unlocked), "
        "then VMXON tried anyway (24.7)", Verdict.VMX_DISABLED_BY_FIRMWARE, {},
        "and the VMXON record `vector=13`",
        proven_by="tests/test_faults.py::test_lock_disabled_on_bochs (skipped, with the reason, where the MSR is "
                  "already locked: Bochs locks it enabled at reset) and test_lock_disabled_report_is_decoded"),
    Inject.FEATURE_CONTROL_DISABLED: InjectSpec(
        Point.FEATURE_CONTROL, "IA32_FEATURE_CONTROL reads locked with VMX disabled: the value read is replaced, "
        "emulating firmware that disabled VT-x on this CPU where the emulator locks it enabled (Bochs)",
        Verdict.VMX_DISABLED_BY_FIRMWARE, {}, "(on one AP with `inject_cpu=N`: naming that CPU)"),
    Inject.VMXE_PRESET: InjectSpec(
        Point.CR4_VMXE_FREE, "CR4.VMXE set before the checks, as another VMM would leave it", Verdict.VMX_IN_USE),
    Inject.DOUBLE_VMXON: InjectSpec(
        Point.AFTER_VMXON, "a second VMXON in VMX root operation, no current VMCS", Verdict.VMXON_FAILED,
        {"cf": 1, "zf": 0}, "`cf=1`, `attempt=2`; VMXOFF still done"),
    Inject.DOUBLE_VMXON_VMCS: InjectSpec(
        Point.AFTER_VMPTRLD, "the same after VMPTRLD", Verdict.VMXON_FAILED,
        {"cf": 0, "zf": 1, "instruction_error": 15}, "`zf=1`, `instruction_error=15`"),
    Inject.BAD_CONTROL: InjectSpec(
        Point.BEFORE_VMLAUNCH, "a must-be-1 pin-based control cleared before VMLAUNCH (27.2.1)",
        Verdict.VMENTRY_FAILED, {"zf": 1, "instruction_error": 7}, "`zf=1`, `instruction_error=7`"),
    Inject.BAD_HOST_STATE: InjectSpec(
        Point.BEFORE_VMLAUNCH, "host TR selector 0 (27.2.3)", Verdict.VMENTRY_FAILED,
        {"zf": 1, "instruction_error": 8}, "`zf=1`, `instruction_error=8`"),
    Inject.BAD_GUEST_STATE: InjectSpec(
        Point.BEFORE_VMLAUNCH, "guest RFLAGS bit 1 clear (27.3.1.4)", Verdict.VMENTRY_FAILED,
        {"entry_failure_reason": 33}, "`entry_failure_reason=33`"),
    Inject.HOST_NMI: InjectSpec(
        Point.EARLY, "an NMI the stub sends itself (local APIC ICR) in the host", Verdict.SVM_READY,
        {}, "unchanged (on QEMU's TCG CPU), with `nmi host=1`", technology="any",
        proven_by="tests/test_nmi.py::test_an_nmi_in_the_host_is_counted_and_the_run_goes_on"),
    Inject.GUEST_NMI: InjectSpec(
        Point.AFTER_VMXON, "the guest sends its CPU an NMI (xAPIC ICR) before its first instruction: a VM exit "
        "of its own (NMI exiting)", Verdict.VMX_READY, {}, "unchanged, with `nmi guest=1` and the full exit trace",
        proven_by="tests/test_nmi.py::test_an_nmi_during_the_guest_is_an_exit_and_the_guest_goes_on"),
    Inject.NMI_WAIT: InjectSpec(
        Point.EARLY, "the stub waits (a few seconds at most) for an NMI from outside: QMP `inject-nmi`",
        Verdict.SVM_READY, {}, "unchanged (on QEMU's TCG CPU), with `nmi host=1`", technology="any",
        proven_by="tests/test_nmi.py::test_qmp_inject_nmi_during_a_run"),
    Inject.UD2: InjectSpec(
        Point.EARLY, "`ud2` in the stub, unguarded", Verdict.FAULT, {"vector": 6},
        "`vector=6`, with EIP and the step",
        proven_by="tests/test_faults.py::test_injected_failure_on_bochs, QEMU: "
                  "tests/test_qemu_boot.py::test_unexpected_exception_is_reported"),
    Inject.PAGE_FAULT: InjectSpec(
        Point.EARLY, "a read of 0xFFFFF000, in the 2 MiB left unmapped", Verdict.FAULT, {"vector": 14},
        "`vector=14`, `cr2=0xfffff000`",
        proven_by="tests/test_faults.py::test_injected_failure_on_bochs, QEMU: "
                  "tests/test_qemu_boot.py::test_unexpected_exception_is_reported"),
    Inject.NULL_READ: InjectSpec(
        Point.EARLY, "a read of address 0: only what the stub uses is mapped, the first page is not",
        Verdict.FAULT, {"vector": 14}, "`vector=14`, `cr2=0x00000000`",
        proven_by="tests/test_paging.py::test_only_what_the_stub_uses_is_mapped"),
    Inject.HIGH_FRAMEBUFFER: InjectSpec(
        Point.SCREEN, "the loader's framebuffer replaced by one at 4 GiB + 1 MiB (640x480, 32 bpp, RAM there "
        "with `-m 4608`), as a GPU with above-4G decoding places it: reached through PAE at a free linear window",
        Verdict.SVM_READY, {}, "unchanged (on QEMU's TCG CPU), with `map what=framebuffer phys=0x0000000100100000`; "
        "the report is drawn there", technology="any",
        proven_by="tests/test_paging.py::test_a_framebuffer_above_4_gib_is_drawn"),
    Inject.HANG: InjectSpec(
        Point.EARLY, "`cli; hlt` forever, no exit", Verdict.NO_VERDICT, {},
        "at the timeout (within a second), partial log kept", clean_exit=False,
        proven_by="tests/test_faults.py::test_hang_on_bochs_times_out_promptly, QEMU: "
                  "tests/test_qemu_boot.py::test_hang_times_out_promptly_with_partial_log"),
    Inject.TRIPLE_FAULT: InjectSpec(
        Point.EARLY, "an empty IDT, then `ud2`", Verdict.NO_VERDICT, {},
        "naming the triple fault / reset, not a timeout", clean_exit=False,
        proven_by="tests/test_faults.py::test_triple_fault_on_bochs, QEMU: "
                  "tests/test_qemu_boot.py::test_triple_fault_is_no_verdict"),
}

_SVM_PROOF = "tests/test_svm.py::test_injected_svm_failure_on_qemu and test_injected_svm_failure_on_bochs"
SPECS.update({
    Inject.SVME_CLEAR: InjectSpec(
        Point.BEFORE_VMRUN, "VMRUN with EFER.SVME = 0 (APM Vol. 2, 15.4)", Verdict.VMRUN_FAILED, {"vector": 6},
        "`vector=6` (#UD)", technology="svm", proven_by=_SVM_PROOF),
    Inject.ASID_ZERO: InjectSpec(
        Point.BEFORE_VMRUN, "guest ASID 0 (15.5.1: an illegal VMCB)", Verdict.VMRUN_FAILED,
        {"exit_code": 0xFFFFFFFF}, "`code=0xffffffff` (VMEXIT_INVALID)", technology="svm", proven_by=_SVM_PROOF),
    Inject.VMRUN_INTERCEPT_CLEAR: InjectSpec(
        Point.BEFORE_VMRUN, "the VMRUN intercept cleared (15.5.1)", Verdict.VMRUN_FAILED,
        {"exit_code": 0xFFFFFFFF}, "`code=0xffffffff`", technology="svm", proven_by=_SVM_PROOF),
    Inject.GUEST_SVME_CLEAR: InjectSpec(
        Point.BEFORE_VMRUN, "the guest's EFER.SVME cleared in the VMCB (15.5.1)", Verdict.VMRUN_FAILED,
        {"exit_code": 0xFFFFFFFF}, "`code=0xffffffff`", technology="svm", proven_by=_SVM_PROOF),
    Inject.UNALIGNED_VMCB: InjectSpec(
        Point.BEFORE_VMRUN, "VMRUN's operand = VMCB + 0x10, not 4 KiB aligned (15.5, VMRUN: #GP)",
        Verdict.VMRUN_FAILED, {"vector": 13}, "`vector=13` (#GP)", technology="svm", proven_by=_SVM_PROOF),
    Inject.SVMDIS_LOCKED: InjectSpec(
        Point.VM_CR, "VM_CR.SVMDIS and LOCK set by the stub (only while unlocked), then EFER.SVME tried anyway "
        "(15.30.1: #GP)", Verdict.SVM_DISABLED_BY_FIRMWARE, {}, "and the EFER write `fault=13`",
        technology="svm", proven_by="tests/test_svm.py::test_svmdis_locked (skipped, with the reason, where the "
        "emulator has no writable VM_CR)"),
    Inject.SVME_PRESET: InjectSpec(
        Point.EFER_SVME_FREE, "EFER.SVME set before the checks, as another hypervisor would leave it",
        Verdict.SVM_IN_USE, technology="svm", proven_by=_SVM_PROOF),
    Inject.UNEXPECTED_VMEXIT: InjectSpec(
        Point.BEFORE_VMRUN, "#UD intercepted and the guest's first instruction made UD2", Verdict.VMRUN_FAILED,
        {"exit_code": 0x46}, "`code=0x46` (#UD)", technology="svm", proven_by=_SVM_PROOF),
})
SPECS[Inject.AP_NO_SIPI] = InjectSpec(
    Point.AP_START, "the SIPIs to the CPU `inject_cpu` names are not sent (it gets INIT only): an AP that never "
    "answers", Verdict.UNRESPONSIVE, {}, "naming that CPU (`status=unresponsive`); the other CPUs are still checked",
    technology="any", proven_by="tests/test_smp.py::test_an_ap_that_never_answers_is_unresponsive")
SPECS[Inject.X2APIC] = InjectSpec(
    Point.CPU_DISCOVERY, "the boot CPU's APIC switched to x2APIC mode (IA32_APIC_BASE.EXTD, SDM Vol. 3A, 11.12.1), "
    "as UEFI firmware hands over with many CPUs: the SIPIs go through the x2APIC ICR (an MSR), and each AP switches "
    "its own APIC when it joins", Verdict.VMX_READY, {}, "unchanged (on Bochs's `corei7_skylake_x`), with `cpus "
    "apic_mode=x2apic`", technology="any",
    proven_by="tests/test_smp.py::test_the_aps_start_through_the_x2apic")
for _name in (Inject.UD2, Inject.PAGE_FAULT, Inject.NULL_READ, Inject.HANG, Inject.TRIPLE_FAULT):
    SPECS[_name] = dataclasses.replace(SPECS[_name], technology="any")

#: The injections the Bochs matrix runs with one boot each and checks against SPECS (the NMI ones and the
#: high framebuffer have their own tests: their verdict is the CPU's own).
MATRIX: tuple[Inject, ...] = tuple(name for name, spec in SPECS.items() if spec.clean_exit and name not in (
    Inject.LOCK_DISABLED, Inject.HOST_NMI, Inject.GUEST_NMI, Inject.NMI_WAIT, Inject.HIGH_FRAMEBUFFER,
    Inject.AP_NO_SIPI, Inject.X2APIC)
    and spec.technology != "svm")
#: The AMD-V injections, each run on QEMU's TCG (max) and on Bochs (ryzen) and checked against SPECS.
SVM_MATRIX: tuple[Inject, ...] = tuple(name for name, spec in SPECS.items() if spec.technology == "svm"
                                       and name is not Inject.SVMDIS_LOCKED)
