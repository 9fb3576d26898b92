"""The verdicts: their names (stable: scripts and later protocol versions rely on them) and meanings."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Verdict(enum.StrEnum):
    VMX_READY = "vmx-ready"
    NO_VMX = "no-vmx"
    VMX_DISABLED_BY_FIRMWARE = "vmx-disabled-by-firmware"
    VMX_IN_USE = "vmx-in-use"
    VMXON_FAILED = "vmxon-failed"
    VMENTRY_FAILED = "vmentry-failed"
    SVM_READY = "svm-ready"
    NO_SVM = "no-svm"
    SVM_DISABLED_BY_FIRMWARE = "svm-disabled-by-firmware"
    SVM_IN_USE = "svm-in-use"
    VMRUN_FAILED = "vmrun-failed"
    UNRESPONSIVE = "unresponsive"
    FAULT = "fault"
    NO_VERDICT = "no-verdict"

    @property
    def summary(self) -> str:
        return SPECS[self].summary

    @property
    def ready(self) -> bool:
        """The CPU can run a hypervisor: the verdict a CI gate passes on."""
        return SPECS[self].ready

    @property
    def from_stub(self) -> bool:
        """The stub writes this verdict (no-verdict is the host's alone)."""
        return SPECS[self].from_stub


@dataclass(frozen=True)
class VerdictSpec:
    summary: str         # one line, shown after the verdict
    meaning: str         # docs/protocol.md
    ready: bool = False
    from_stub: bool = True


SPECS: dict[Verdict, VerdictSpec] = {
    Verdict.VMX_READY: VerdictSpec(
        "VT-x works: VMXON, a guest's VMLAUNCH and VMXOFF succeeded",
        "VMXON, VMCLEAR/VMPTRLD, VMLAUNCH of the guest with the exact exit trace CPUID, I/O, VMCALL (value "
        "round-tripped), HLT, then VMCLEAR and VMXOFF all succeeded (with `mode=vmxon`: VMXON and VMXOFF)",
        ready=True),
    Verdict.NO_VMX: VerdictSpec(
        "this CPU does not offer VT-x",
        "CPUID.1:ECX.VMX is 0 on a CPU that is not AMD or Hygon (those take the AMD-V path)"),
    Verdict.VMX_DISABLED_BY_FIRMWARE: VerdictSpec(
        "VT-x is disabled by the firmware (IA32_FEATURE_CONTROL locked)",
        "IA32_FEATURE_CONTROL locked with VMXON-outside-SMX clear, or unlocked but the write enabling it did "
        "not stick"),
    Verdict.VMX_IN_USE: VerdictSpec(
        "VT-x is already in use by other software (CR4.VMXE was set)",
        "CR4.VMXE was already set: another VMM holds VMX"),
    Verdict.VMXON_FAILED: VerdictSpec(
        "VMXON failed",
        "VMXON (or VMXOFF) reported VMfailInvalid (`cf=1`), VMfailValid (`zf=1 insn_error=N`) or raised an "
        "exception (`vector`); or IA32_VMX_BASIC or CR0 rule VMXON out (`region_size`, `cr0`)"),
    Verdict.VMENTRY_FAILED: VerdictSpec(
        "VMXON worked, but launching a guest failed",
        "VMXON worked but the guest did not: VMCLEAR/VMPTRLD/VMWRITE failed (`field`), VMLAUNCH/VMRESUME fell "
        "through (`cf`, `zf`, `insn_error`: 7 invalid control fields, 8 invalid host state, ...), a VM entry "
        "failed (`entry_failure_reason` 33 invalid guest state, 34 MSR loading, 41 machine check, with "
        "`qualification`), or the exit trace was not the expected one"),
    Verdict.SVM_READY: VerdictSpec(
        "AMD-V works: EFER.SVME, a guest's VMRUN and its #VMEXITs succeeded",
        "an AMD or Hygon CPU: EFER.SVME set, VMRUN of the guest from a VMCB with the exact exit trace CPUID, IOIO, "
        "VMMCALL (value round-tripped), HLT, then EFER.SVME cleared (with `mode=vmxon`: EFER.SVME set, CLGI and "
        "STGI, EFER.SVME cleared)",
        ready=True),
    Verdict.NO_SVM: VerdictSpec(
        "this AMD or Hygon CPU does not offer AMD-V (SVM)",
        "an AMD or Hygon CPU whose CPUID Fn8000_0001_ECX.SVM is 0"),
    Verdict.SVM_DISABLED_BY_FIRMWARE: VerdictSpec(
        "AMD-V is disabled by the firmware (VM_CR.SVMDIS locked)",
        "VM_CR.SVMDIS set with VM_CR.LOCK, or setting EFER.SVME raised #GP, or clearing an unlocked SVMDIS did "
        "not stick"),
    Verdict.SVM_IN_USE: VerdictSpec(
        "AMD-V is already in use by other software (EFER.SVME was set)",
        "EFER.SVME was already set: another hypervisor holds SVM"),
    Verdict.VMRUN_FAILED: VerdictSpec(
        "EFER.SVME could be set, but running a guest failed",
        "VMRUN raised an exception (`vector`: 6 EFER.SVME clear, 13 an unaligned or out-of-range VMCB), the VMCB "
        "failed VMRUN's consistency checks (`code=0xffffffff`, VMEXIT_INVALID), or the exit trace was not the "
        "expected one (`code` of the unexpected #VMEXIT)"),
    Verdict.UNRESPONSIVE: VerdictSpec(
        "a CPU did not answer: it never joined after INIT-SIPI-SIPI, or stopped before its verdict",
        "an application processor the MADT lists never reached the stub's code after INIT-SIPI-SIPI "
        "(`status=unresponsive`), or joined and did not finish its checks in time (`status=timeout`, `step`: "
        "where it was)"),
    Verdict.FAULT: VerdictSpec(
        "the stub hit an unexpected exception",
        "an unexpected exception in the stub (`vector`, `eip`), or an MSR the checks need raised one (`msr`)"),
    Verdict.NO_VERDICT: VerdictSpec(
        "no verdict: the stub's report did not arrive whole",
        "host side: hang (timeout), triple fault, emulator crash, truncated, corrupt or self-contradicting report",
        from_stub=False),
}

#: The overall verdict of several CPUs is the first of these that any CPU has (ready only when every CPU is):
#: what stops a report being believed, then what broke, then what the firmware or other software did, then
#: what the CPU lacks.
SEVERITY: tuple[Verdict, ...] = (
    Verdict.NO_VERDICT, Verdict.FAULT, Verdict.UNRESPONSIVE, Verdict.VMXON_FAILED, Verdict.VMENTRY_FAILED,
    Verdict.VMRUN_FAILED, Verdict.VMX_DISABLED_BY_FIRMWARE, Verdict.SVM_DISABLED_BY_FIRMWARE, Verdict.VMX_IN_USE,
    Verdict.SVM_IN_USE, Verdict.NO_VMX, Verdict.NO_SVM, Verdict.VMX_READY, Verdict.SVM_READY,
)

#: Stub verdict names, i.e. everything except the host-only no-verdict.
STUB_VERDICTS = frozenset(v.value for v in Verdict if v.from_stub)
