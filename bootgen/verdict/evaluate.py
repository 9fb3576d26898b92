"""From raw serial bytes and the emulator's ending to a verdict the host can trust.

Only a complete, CRC-checked report with exactly one verdict record, a known
verdict name, and raw records that agree with that verdict yields a stub
verdict; anything else is no verdict (Verdict.NO_VERDICT), with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..backends.outcome import Ending, RunOutcome
from ..contract.options import Mode
from ..contract.records import Check, Insn
from ..contract.verdicts import STUB_VERDICTS, Verdict
from ..decode.facts import CpuFacts, decode_cpu
from ..decode.guest import trace_problem
from ..report import model
from ..report.reader import read


@dataclass
class Result:
    verdict: Verdict
    reason: str                          # one line: why this verdict
    report: model.Report
    facts: CpuFacts                      # the boot CPU's report, decoded once
    outcome: RunOutcome | None = None
    detail: dict = field(default_factory=dict)


def _consistency_problem(report: model.Report, facts: CpuFacts, verdict: Verdict) -> str | None:
    """A complete report must also agree with itself before its verdict is believed."""
    cpu = report.boot_cpu
    if verdict is Verdict.VMX_READY:
        for insn in (Insn.VMXON, Insn.VMXOFF):
            record = cpu.instruction(insn)
            if record is None or not record.succeeded:
                return f"verdict {verdict} without a successful {insn} record"
        if report.config is not None and report.config.mode != Mode.VMXON:
            if problem := trace_problem(cpu):
                return f"verdict {verdict} but {problem}"
    if verdict is Verdict.NO_VMX:
        if facts.identity.vmx:
            return f"verdict {verdict} but CPUID.1:ECX.VMX is 1"
    if verdict is Verdict.VMXON_FAILED and cpu.instruction(Insn.VMXON) is None \
            and cpu.instruction(Insn.VMXOFF) is None and cpu.check(Check.VMX_BASIC) is None:
        return f"verdict {verdict} without a VMX record"
    return None


def _no_verdict_reason(report: model.Report, outcome: RunOutcome | None) -> str:
    framing = report.framing
    ending = outcome.ending if outcome else None
    if ending is Ending.TRIPLE_FAULT:
        return f"the machine reset (triple fault) {'after' if framing.found_begin else 'before'} the report began"
    if ending is Ending.TIMEOUT:
        return f"timed out: {framing.problem or 'no end of report'}"
    if ending is Ending.EMULATOR_CRASH:
        return f"the emulator crashed: {outcome.detail if outcome else ''}".rstrip(": ")
    if ending is Ending.EMULATOR_EXIT and outcome is not None:
        return f"the emulator exited ({outcome.detail}): {framing.problem}"
    return framing.problem or "no verdict"


def judge(report: model.Report, outcome: RunOutcome | None = None) -> Result:
    """The verdict of a typed report and how the run ended."""
    facts = decode_cpu(report.boot_cpu)
    stub = report.verdict
    if stub is not None:
        name = stub.name or ""
        if name not in STUB_VERDICTS:
            return Result(Verdict.NO_VERDICT, f"unknown verdict name {name!r}", report, facts, outcome)
        verdict = Verdict(name)
        problem = _consistency_problem(report, facts, verdict)
        if problem:
            return Result(Verdict.NO_VERDICT, f"inconsistent report: {problem}", report, facts, outcome)
        detail = dict(stub.detail)
        if stub.text:
            detail["text"] = stub.text
        return Result(verdict, stub.text or verdict.summary, report, facts, outcome, detail)
    return Result(Verdict.NO_VERDICT, _no_verdict_reason(report, outcome), report, facts, outcome,
                  {"ending": outcome.ending.value if outcome else None})


def evaluate(serial: bytes, outcome: RunOutcome | None = None) -> Result:
    """Decide the verdict for serial bytes (and how the run that produced them ended)."""
    return judge(read(serial), outcome)
