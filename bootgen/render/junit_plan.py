"""The JUnit test plan: the same cases for every run of one configuration, each passed, failed or skipped.

The plan comes from the contract, not from what a run happened to record: per
technology (VT-x or AMD-V) every readiness check, every step of its operation
and every exit the test guest is designed to cause (guest.py). With
``mode=vmxon`` the guest's cases are there too, skipped: no VMCS, no guest.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..arch import svm, vmx_exits
from ..arch.vmx_exits import exit_reason_name, instruction_error_name
from ..contract import guest
from ..contract.options import Mode
from ..contract.records import CHECK_STEP, RECORDED_ONLY_ON_FAILURE, Check, CheckResult, StepState, Technology
from ..contract.records import Step as StepName
from ..report.model import CpuReport, Report, VmxInstruction


@dataclass(frozen=True)
class Plan:
    """One technology's cases: its checks, the steps of its operation (group ``vmx`` or ``svm``), its exits."""

    group: str
    checks: tuple[Check, ...]
    steps: tuple[StepName, ...]
    guest_steps: frozenset[StepName]          # the steps only the full mode takes
    exits: tuple[tuple[str, int], ...]       # case name, the exit reason or #VMEXIT code


_COMMON_CHECKS = (Check.CPU_VENDOR, Check.HYPERVISOR_PRESENT)
PLANS: dict[str, Plan] = {
    Technology.VMX: Plan(
        "vmx",
        _COMMON_CHECKS + (Check.CPUID_VMX, Check.FEATURE_CONTROL, Check.CR4_VMXE_FREE, Check.VMX_BASIC,
                          Check.CR0_PE_NE_PG, Check.CR0_FIXED, Check.CR4_FIXED, Check.PAGING),
        (StepName.VMXON_REGION, StepName.VMXON, StepName.VMCS, StepName.VMLAUNCH, StepName.VMCLEAR,
         StepName.VMXOFF),
        frozenset({StepName.VMCS, StepName.VMLAUNCH, StepName.VMCLEAR}),
        tuple((f"exit-{n}-{r.key.replace('_', '-')}", r.number) for n, r in enumerate(guest.EXPECTED_EXITS, 1))),
    Technology.SVM: Plan(
        "svm",
        _COMMON_CHECKS + (Check.CPUID_SVM, Check.VM_CR, Check.EFER_SVME_FREE, Check.PAGING),
        (StepName.SVM_ENABLE, StepName.VMCB, StepName.VMRUN, StepName.SVM_DISABLE),
        frozenset({StepName.VMCB, StepName.VMRUN}),
        tuple((f"exit-{n}-{c.key.replace('_', '-')}", c.number) for n, c in enumerate(guest.EXPECTED_SVM_EXITS, 1))),
}
#: The step whose run holds the guest's exits, per technology.
_GUEST_STEP = {"vmx": StepName.VMLAUNCH, "svm": StepName.VMRUN}
_VMCALL = {"vmx": vmx_exits.BY_KEY["vmcall"].number, "svm": svm.BY_KEY["vmmcall"].number}
_IO = {"vmx": vmx_exits.BY_KEY["io_instruction"].number, "svm": svm.BY_KEY["ioio"].number}
_VMXON_MODE = "not reached: mode=vmxon runs no VMCS and no guest"


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
    cpu_model: str = ""
    options: tuple[tuple[str, str], ...] = ()
    mode: str | None = None           # the stub's mode= for this run, when the command line says
    custom_name: str | None = None    # --junit-suite

    @property
    def name(self) -> str:
        if self.custom_name:
            return self.custom_name
        parts = ["bootgen", self.backend, *([self.cpu_model] if self.cpu_model else []),
                 *(f"{k}={v}" for k, v in self.options)]
        return ".".join(_slug(p) for p in parts)

    @classmethod
    def of_report(cls, result, custom_name: str | None = None) -> "SuiteIdentity":
        """For a log decoded after the fact: one name whatever the log holds (the CPU is a property);
        ``--junit-suite`` tells boxes apart."""
        return cls("report", custom_name=custom_name)


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
    failed = next((s for s in cpu.steps if s.state == StepState.FAIL), None)
    if failed is not None:
        return f"not reached: the run stopped at step {failed.name} (fail)"
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
        if state == StepState.FAIL:
            return Case("check", check, State.FAILED, f"step {step} failed before this check was recorded "
                        "(the verdict says why)")
        return Case("check", check, State.FAILED, f"step {step} began and never finished")
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


def _instructions(cpu: CpuReport) -> list[VmxInstruction]:
    return cpu.vmx + cpu.svm_instructions


def _step_case(report: Report, plan: Plan, step: StepName, full: bool) -> Case:
    if not full and step in plan.guest_steps:
        return Case(plan.group, step, State.SKIPPED, _VMXON_MODE)
    cpu = report.boot_cpu
    state = _step_state(cpu, step)
    if state is None:
        return Case(plan.group, step, State.SKIPPED, _not_reached(report))
    instructions = [r for r in _instructions(cpu) if r.step == step]
    details = "\n".join(f"{_instruction_text(r)} ({_fields(r.raw, ('insn',))})" for r in instructions)
    failed = next((r for r in instructions if not r.succeeded), None)
    if failed is not None:
        return Case(plan.group, step, State.FAILED, _instruction_text(failed), details)
    if state == StepState.FAIL:
        verdict = cpu.verdicts[-1].text if cpu.verdicts else ""
        return Case(plan.group, step, State.FAILED, f"step {step} failed" + (f": {verdict}" if verdict else ""),
                    details)
    if state != StepState.OK:
        return Case(plan.group, step, State.FAILED, f"step {step} began and never finished", details)
    return Case(plan.group, step, State.PASSED, details or f"step {step} completed")


def _io_problem(plan: Plan, qualification: int | None) -> str | None:
    """Whether an I/O exit is the guest's 8-bit OUT to its test port (SDM Vol. 3C, table 28-5; APM 15.10.2)."""
    q = qualification or 0
    if plan.group == "svm":
        good = not q & svm.IOIO_TYPE_IN and q & svm.IOIO_SIZE8 and q >> svm.IOIO_PORT_SHIFT & 0xFFFF == \
            guest.GUEST_TEST_PORT
    else:
        good = q & 7 == 0 and not q & 8 and q >> 16 & 0xFFFF == guest.GUEST_TEST_PORT
    return None if good else f"the I/O exit's qualification {q:#x} is not an 8-bit OUT to port " \
                             f"{guest.GUEST_TEST_PORT:#x}"


def _exit_name(plan: Plan, code: int | None) -> str:
    if code is None:
        return "unreadable"
    return svm.exit_code_name(code) if plan.group == "svm" else exit_reason_name(code)


def _exit_cases(report: Report, plan: Plan, full: bool) -> list[Case]:
    cpu = report.boot_cpu
    if not full:
        return [Case("guest", name, State.SKIPPED, _VMXON_MODE) for name, _ in plan.exits]
    guest_step = _GUEST_STEP[plan.group]
    if _step_state(cpu, guest_step) is None:
        return [Case("guest", name, State.SKIPPED, _not_reached(report)) for name, _ in plan.exits]
    seen_exits = [(e.code, e.info1, e.rip) for e in cpu.svm_exits] if plan.group == "svm" else \
        [(e.reason, e.qualification, e.rip) for e in cpu.exits]
    launch_failed = next((r for r in _instructions(cpu) if r.step == guest_step and not r.succeeded), None)
    invalid = plan.group == "svm" and seen_exits and seen_exits[0][0] == svm.EXIT_INVALID
    if (not seen_exits or invalid) and (launch_failed is not None or cpu.entry_failure is not None or invalid):
        why = _instruction_text(launch_failed) if launch_failed is not None else \
            "VMRUN refused the VMCB (VMEXIT_INVALID)" if invalid else "the VM entry failed"
        return [Case("guest", name, State.SKIPPED, f"the guest never ran: {why}") for name, _ in plan.exits]
    cases = []
    for n, (name, expected) in enumerate(plan.exits, 1):
        if n > len(seen_exits):  # in report order, as the verdict reads them
            cases.append(Case("guest", name, State.FAILED, f"exit {n} ({_exit_name(plan, expected)}) never came: "
                              f"the guest made {len(seen_exits)} exit(s)"))
            continue
        code, qualification, rip = seen_exits[n - 1]
        facts = f"exit {n}: {'code' if plan.group == 'svm' else 'reason'} {code} qualification=" \
                f"{qualification or 0:#x} rip={rip or 0:#x}"
        if code != expected:
            cases.append(Case("guest", name, State.FAILED, f"exit {n} was {_exit_name(plan, code)} ({code}), "
                              f"expected {_exit_name(plan, expected)} ({expected})", facts))
        elif expected == _IO[plan.group] and (problem := _io_problem(plan, qualification)):
            cases.append(Case("guest", name, State.FAILED, problem, facts))
        elif expected == _VMCALL[plan.group] and cpu.vmcall_value != guest.GUEST_VMCALL_VALUE:
            cases.append(Case("guest", name, State.FAILED, f"{_exit_name(plan, expected)} carried EAX="
                              f"{cpu.vmcall_value or 0:#x}, expected {guest.GUEST_VMCALL_VALUE:#x}", facts))
        else:
            cases.append(Case("guest", name, State.PASSED, f"{facts} ({_exit_name(plan, expected)})"))
    return cases


def unplanned(report: Report, plan: Plan) -> list[str]:
    """What the report holds that no case of the plan covers (a check or an instruction elsewhere)."""
    cpu = report.boot_cpu
    planned_steps = set(plan.steps)
    lines = [f"check {c.name}: {c.result}" + (f" -- {c.text}" if c.text else "")
             for c in cpu.checks if c.name not in plan.checks]
    lines += [f"{_instruction_text(r)} during step {r.step}" for r in _instructions(cpu)
              if r.step not in planned_steps]
    return lines


def plan_for(technology: str) -> Plan:
    return PLANS.get(technology, PLANS[Technology.VMX])


def plan_cases(report: Report, mode: str | None = None, technology: str = Technology.VMX) -> list[Case]:
    """Every check, step and expected exit of this technology, in the order the stub takes them."""
    plan = plan_for(technology)
    mode = mode or (report.config.mode if report.config else None) or Mode.FULL
    full = mode != Mode.VMXON
    cases = [_check_case(report, check) for check in plan.checks]
    cases += [_step_case(report, plan, step, full) for step in plan.steps]
    return cases + _exit_cases(report, plan, full)
