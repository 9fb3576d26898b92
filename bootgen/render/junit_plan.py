"""The JUnit test plan: the same cases for every run of one configuration, each passed, failed or skipped.

The plan comes from the contract, not from what a run happened to record:
every readiness check (records.Check), the VMX steps, and the VM exits the test
guest is designed to cause (guest.EXPECTED_EXITS). ``mode=vmxon`` has no VMCS
and no guest, so its plan has neither.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..arch.vmx_exits import exit_reason_name, instruction_error_name
from ..contract import guest
from ..contract.options import Mode
from ..contract.records import CHECK_STEP, RECORDED_ONLY_ON_FAILURE, Check, CheckResult, StepState
from ..contract.records import Step as StepName
from ..report.model import CpuReport, Report, VmxInstruction

#: The steps of VMX operation, each a case; only the full mode has a VMCS and a guest.
VMX_STEPS: tuple[StepName, ...] = (StepName.VMXON_REGION, StepName.VMXON, StepName.VMCS, StepName.VMLAUNCH,
                                   StepName.VMCLEAR, StepName.VMXOFF)
GUEST_STEPS: frozenset[StepName] = frozenset({StepName.VMCS, StepName.VMLAUNCH, StepName.VMCLEAR})


class State(enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Case:
    """One JUnit test case: its group (the last part of its classname), name, state and why."""

    group: str
    name: str
    state: State
    message: str = ""   # failure or skip message; for a pass, what passed
    details: str = ""   # the facts behind it


def _slug(text: str) -> str:
    """A classname part: dots split packages on a dashboard, so only letters, digits and ``_=+-`` stay."""
    return re.sub(r"[^A-Za-z0-9_=+-]+", "_", text).strip("_") or "none"


@dataclass(frozen=True)
class SuiteIdentity:
    """What tells one configuration's suite from another's: backend, CPU model and options."""

    backend: str
    cpu_model: str
    options: tuple[tuple[str, str], ...] = ()
    mode: str | None = None           # the stub's mode= for this run: which cases exist
    custom_name: str | None = None    # --junit-suite

    @property
    def name(self) -> str:
        if self.custom_name:
            return self.custom_name
        parts = ["bootgen", self.backend, self.cpu_model, *(f"{k}={v}" for k, v in self.options)]
        return ".".join(_slug(p) for p in parts)

    @classmethod
    def of_report(cls, result, custom_name: str | None = None) -> "SuiteIdentity":
        """For a log decoded after the fact: the CPU the report names."""
        identity = result.facts.identity if result.report.framing.found_begin else None
        cpu = (identity.name if identity else None) or "unknown-cpu"
        return cls("report", cpu, custom_name=custom_name)


def _fields(fields: Mapping[str, str], skip: tuple[str, ...]) -> str:
    return " ".join(f"{k}={v}" for k, v in fields.items() if k not in skip)


def _step_state(cpu: CpuReport, step: str) -> str | None:
    """The step's last state (begin, ok, fail), None when it never began."""
    states = [s.state for s in cpu.steps if s.name == step]
    return states[-1] if states else None


def _not_reached(report: Report) -> str:
    if not report.framing.found_begin:
        return "not reached: no report from the stub"
    cpu = report.boot_cpu
    if not cpu.steps:
        return "not reached: the stub recorded no step"
    last = cpu.steps[-1]
    return f"not reached: the run stopped at step {last.name} ({last.state})"


def _check_case(report: Report, check: Check) -> Case:
    cpu = report.boot_cpu
    records = [c for c in cpu.checks if c.name == check]
    step = CHECK_STEP[check]
    if not records:
        state = _step_state(cpu, step)
        if state is None:
            return Case("check", check, State.SKIPPED, _not_reached(report))
        if state == StepState.OK:
            if check in RECORDED_ONLY_ON_FAILURE:
                return Case("check", check, State.PASSED, f"step {step} completed")
            # Not a failure of its own: the verdict, derived from the raw records, says whether it mattered.
            return Case("check", check, State.SKIPPED, f"not recorded: step {step} completed without this check")
        return Case("check", check, State.SKIPPED, f"not checked: step {step} stopped first ({state})")
    texts = []
    for record in records:
        facts = _fields(record.raw, ("name", "result"))
        texts.append(f"{record.result}: " + " -- ".join(x for x in (facts, record.text) if x))
    details = "\n".join(texts)
    failed = next((r for r in records if r.result == CheckResult.FAIL), None)
    if failed is not None:
        return Case("check", check, State.FAILED, failed.text or f"{check} failed", details)
    unknown = next((r for r in records if r.result not in tuple(CheckResult)), None)
    if unknown is not None:
        return Case("check", check, State.FAILED, f"unknown check result {unknown.result!r}", details)
    return Case("check", check, State.PASSED, details)


def _instruction_text(record: VmxInstruction) -> str:
    insn = (record.insn or "vmx").upper()
    if record.succeeded:
        return f"{insn} succeeded"
    text = f"{insn} {record.outcome}"
    if record.insn_error is not None:
        text += f": VM-instruction error {record.insn_error} ({instruction_error_name(record.insn_error)})"
    elif record.vector is not None:
        text += f": exception vector {record.vector}"
    return text


def _step_case(report: Report, step: StepName) -> Case:
    cpu = report.boot_cpu
    state = _step_state(cpu, step)
    if state is None:
        return Case("vmx", step, State.SKIPPED, _not_reached(report))
    instructions = [r for r in cpu.vmx if r.step == step]
    details = "\n".join(f"{_instruction_text(r)} ({_fields(r.raw, ('insn',))})" for r in instructions)
    failed = next((r for r in instructions if not r.succeeded), None)
    if failed is not None:
        return Case("vmx", step, State.FAILED, _instruction_text(failed), details)
    if state == StepState.FAIL:
        return Case("vmx", step, State.FAILED, f"step {step} failed", details)
    if state != StepState.OK:
        return Case("vmx", step, State.FAILED, f"step {step} began and never finished", details)
    return Case("vmx", step, State.PASSED, details or f"step {step} completed")


def _exit_cases(report: Report) -> list[Case]:
    cpu = report.boot_cpu
    names = [f"exit-{n}-{reason.key.replace('_', '-')}" for n, reason in enumerate(guest.EXPECTED_EXITS, 1)]
    launch = _step_state(cpu, StepName.VMLAUNCH)
    if launch is None:
        return [Case("guest", name, State.SKIPPED, _not_reached(report)) for name in names]
    launch_failed = next((r for r in cpu.vmx if r.step == StepName.VMLAUNCH and not r.succeeded), None)
    if not cpu.exits and (launch_failed is not None or cpu.entry_failure is not None):
        why = _instruction_text(launch_failed) if launch_failed is not None else "the VM entry failed"
        return [Case("guest", name, State.SKIPPED, f"the guest never ran: {why}") for name in names]
    cases = []
    for n, (name, expected) in enumerate(zip(names, guest.EXPECTED_EXITS), 1):
        seen = cpu.exits[n - 1] if n <= len(cpu.exits) else None  # in report order, as the verdict reads them
        if seen is None:
            cases.append(Case("guest", name, State.FAILED, f"exit {n} ({expected.name}) never came: the guest made "
                              f"{len(cpu.exits)} exit(s)"))
            continue
        facts = f"exit {n}: reason {seen.reason} qualification={seen.qualification or 0:#x} rip={seen.rip or 0:#x}"
        if seen.reason != expected.number:
            got = exit_reason_name(seen.reason) if seen.reason is not None else "unreadable"
            cases.append(Case("guest", name, State.FAILED, f"exit {n} was {got} ({seen.reason}), expected "
                              f"{expected.name} ({expected.number})", facts))
        elif expected.key == "vmcall" and cpu.vmcall_value != guest.GUEST_VMCALL_VALUE:
            value = cpu.vmcall_value
            cases.append(Case("guest", name, State.FAILED, f"VMCALL carried EAX={value or 0:#x}, expected "
                              f"{guest.GUEST_VMCALL_VALUE:#x}", facts))
        else:
            cases.append(Case("guest", name, State.PASSED, f"{facts} ({expected.name})"))
    return cases


def plan_cases(report: Report, mode: str | None = None) -> list[Case]:
    """Every check, VMX step and expected exit of this configuration, in the order the stub takes them."""
    mode = mode or (report.config.mode if report.config else None) or Mode.FULL
    full = mode != Mode.VMXON
    cases = [_check_case(report, check) for check in Check]
    cases += [_step_case(report, step) for step in VMX_STEPS if full or step not in GUEST_STEPS]
    if full:
        cases += _exit_cases(report)
    return cases

