"""The test guest's run, decoded: its VM exits by name, how a launch or an entry failed, and whether the
trace is the one the guest's ABI promises (bootgen/contract/guest.py)."""

from __future__ import annotations

from ..arch.vmx_exits import exit_reason_name, instruction_error_name
from ..contract import guest as guest_abi
from ..contract.records import Insn
from ..report.model import CpuReport


def launch_failure(cpu: CpuReport):
    """The VMLAUNCH (or VMRESUME) record, when the stub wrote one: it does so only when it fell through."""
    return cpu.instruction(Insn.VMLAUNCH) or cpu.instruction(Insn.VMRESUME)


def guest(cpu: CpuReport) -> dict | None:
    """The JSON ``guest`` object: the exit trace, the VMCALL value, and how the guest failed (None: no guest)."""
    launch = launch_failure(cpu)
    failure = cpu.entry_failure
    if cpu.guest_trace is None and launch is None and failure is None:
        return None
    exits = [{
        "reason": e.reason,
        "name": exit_reason_name(e.reason or 0),
        "qualification": e.qualification,
        "rip": e.rip,
        "instruction_length": e.length,
    } for e in cpu.exits]
    out: dict = {
        "exits": exits,
        "vmcall_value": cpu.vmcall_value,
        "expected_trace": bool(cpu.guest_trace and cpu.guest_trace.expected),
    }
    if launch is not None:
        error = launch.insn_error
        out["launch_failure"] = {"insn": launch.insn, "outcome": launch.outcome, "cf": launch.cf, "zf": launch.zf,
                                 "instruction_error": error,
                                 "instruction_error_name": instruction_error_name(error) if error else None}
    if failure is not None:
        reason = failure.reason or 0
        out["entry_failure"] = {"reason": reason, "name": exit_reason_name(reason),
                                "qualification": failure.qualification}
    return out


def trace_problem(cpu: CpuReport) -> str | None:
    """Why the guest's exit trace is not the expected one (None when it is)."""
    if cpu.guest_trace is None and launch_failure(cpu) is None and cpu.entry_failure is None:
        return "no guest trace"
    reasons = tuple(e.reason for e in cpu.exits)
    if reasons != guest_abi.EXPECTED_EXIT_NUMBERS:
        return f"exit trace {reasons}, expected {guest_abi.EXPECTED_EXIT_NUMBERS}"
    if cpu.vmcall_value != guest_abi.GUEST_VMCALL_VALUE:
        return f"VMCALL value {cpu.vmcall_value!r}, expected {guest_abi.GUEST_VMCALL_VALUE:#x}"
    return None
