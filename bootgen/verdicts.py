"""Verdict names (stable: scripts and later protocol versions rely on them) and exit statuses."""

from __future__ import annotations

import enum


class Verdict(str, enum.Enum):
    VMX_READY = "vmx-ready"                      # VMXON and VMXOFF succeeded
    NO_VMX = "no-vmx"                            # CPUID.1:ECX.VMX = 0
    VMX_DISABLED_BY_FIRMWARE = "vmx-disabled-by-firmware"  # IA32_FEATURE_CONTROL locked, VMX off
    VMX_IN_USE = "vmx-in-use"                    # CR4.VMXE already set
    VMXON_FAILED = "vmxon-failed"                # VMfailInvalid / VMfailValid / #UD / #GP
    VMENTRY_FAILED = "vmentry-failed"            # VMCS set-up, VMLAUNCH/VMRESUME or the VM entry failed
    FAULT = "fault"                              # unexpected exception in the stub
    NO_VERDICT = "no-verdict"                    # host side: hang, triple fault, crash, truncated report

    @property
    def summary(self) -> str:
        return _SUMMARIES[self]


_SUMMARIES = {
    Verdict.VMX_READY: "VT-x works: VMXON, a guest's VMLAUNCH and VMXOFF succeeded",
    Verdict.NO_VMX: "this CPU does not offer VT-x",
    Verdict.VMX_DISABLED_BY_FIRMWARE: "VT-x is disabled by the firmware (IA32_FEATURE_CONTROL locked)",
    Verdict.VMX_IN_USE: "VT-x is already in use by other software (CR4.VMXE was set)",
    Verdict.VMXON_FAILED: "VMXON failed",
    Verdict.VMENTRY_FAILED: "VMXON worked, but launching a guest failed",
    Verdict.FAULT: "the stub hit an unexpected exception",
    Verdict.NO_VERDICT: "no verdict: the stub's report did not arrive whole",
}

#: Stub verdict names, i.e. everything except the host-only no-verdict.
STUB_VERDICTS = frozenset(v.value for v in Verdict if v is not Verdict.NO_VERDICT)


class ExitStatus(enum.IntEnum):
    """Exit statuses of ``bootgen run`` and ``bootgen report``."""

    OK = 0            # vmx-ready, or the verdict given with --expect
    VERDICT = 1       # a definite verdict other than vmx-ready / the expected one
    USAGE = 2         # bad command line or input
    NO_VERDICT = 3    # hang, triple fault, crash, truncated report (and not expected)
    ENVIRONMENT = 4   # a tool is missing, the build failed, the emulator could not start


def exit_status(verdict: Verdict, expect: Verdict | None) -> ExitStatus:
    if expect is not None:
        if verdict is expect:
            return ExitStatus.OK
        return ExitStatus.NO_VERDICT if verdict is Verdict.NO_VERDICT else ExitStatus.VERDICT
    if verdict is Verdict.VMX_READY:
        return ExitStatus.OK
    return ExitStatus.NO_VERDICT if verdict is Verdict.NO_VERDICT else ExitStatus.VERDICT
