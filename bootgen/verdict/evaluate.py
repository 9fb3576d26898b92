"""From raw serial bytes and the emulator's ending to a verdict the host can trust.

Only a complete, CRC-checked report whose CPU sections fit together
(``consistency``; protocol 1 has one CPU and none), where each CPU holds
exactly one verdict record, of a known name, that the host derives from that
CPU's raw records too (``derive``) with nothing that contradicts itself, from
a run that ended as the stub ended it, yields a stub verdict (``cpus``: the
machine is ready only when every CPU is); anything else is no verdict
(Verdict.NO_VERDICT), with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import BinaryIO

from ..backends.firmware_output import Refusal, secure_boot_refusals
from ..backends.outcome import Ending, RunOutcome
from ..contract.machine import WarningKind
from ..contract.verdicts import Verdict
from ..decode.facts import CpuFacts, decode_cpu
from ..report import model
from ..report.reader import read, read_stream
from .consistency import CONTRADICTION, section_contradictions
from .cpus import CpuResult, judge_cpu, overall

__all__ = ["CONTRADICTION", "SECURE_BOOT_REFUSED", "CpuResult", "Result", "evaluate", "evaluate_stream", "judge"]


@dataclass
class Result:
    verdict: Verdict                     # the machine's: ready only when every CPU is
    reason: str                          # one line: why this verdict
    report: model.Report
    facts: CpuFacts                      # the boot CPU's report, decoded once
    outcome: RunOutcome | None = None
    detail: dict = field(default_factory=dict)   # the deciding CPU's verdict detail (several CPUs: and "cpu")
    cpus: list[CpuResult] = field(default_factory=list)   # one per CPU of the report, the boot CPU first

    @property
    def deciding(self) -> CpuResult | None:
        """The first CPU whose verdict is the machine's (the boot CPU when all are alike)."""
        return next((c for c in self.cpus if c.verdict is self.verdict), self.cpus[0] if self.cpus else None)


#: The start of the reason when the firmware's own output says Secure Boot refused the loader.
SECURE_BOOT_REFUSED = "Secure Boot refused the loader"


def _distrust_run(report: model.Report, outcome: RunOutcome | None) -> str | None:
    """Why a believable report still is no verdict: the run did not end as the stub ends it (None: it did)."""
    if outcome is None or outcome.ending is Ending.REPORT_END:
        return None  # a real box: it halts after its report, and may have rebooted before it (the last counts)
    if outcome.ending is not Ending.GUEST_EXIT:
        return f"the report is whole, but the run ended by {outcome.ending.value}" \
               + (f" ({outcome.detail})" if outcome.detail else "") + ", not by the stub's exit"
    if report.framing.restarts:
        return f"the machine restarted {report.framing.restarts} time(s) during a run that boots once"
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
    if ending is Ending.NOTHING_BOOTED and outcome is not None:
        return "the firmware found nothing it would boot"
    if ending is Ending.CONSOLE_CLOSED and outcome is not None:
        return f"the console closed before the report was whole ({outcome.detail}): {framing.problem or 'no report'}"
    if ending is Ending.EMULATOR_EXIT and outcome is not None:
        return f"the emulator exited ({outcome.detail}): {framing.problem}"
    return framing.problem or "no verdict"


def _rejected(report: model.Report, facts: CpuFacts, reason: str, outcome: RunOutcome | None,
              detail: dict) -> Result:
    """No verdict for the whole report, nor for any of its CPUs."""
    cpus = [judge_cpu(report, cpu, facts if cpu is report.boot_cpu else None, rejected=reason) for cpu in report.cpus]
    return Result(Verdict.NO_VERDICT, reason, report, facts, outcome, detail, cpus)


def judge(report: model.Report, outcome: RunOutcome | None = None, refusals: list[Refusal] | None = None) -> Result:
    """The verdict of a typed report, how the run ended and what the firmware refused to boot."""
    facts = decode_cpu(report.boot_cpu)
    if report.framing.complete:
        if problems := section_contradictions(report):
            return _rejected(report, facts, f"{CONTRADICTION}: " + "; ".join(problems), outcome,
                             {"contradictions": problems})
        cpus = [judge_cpu(report, cpu, facts if cpu is report.boot_cpu else None) for cpu in report.cpus]
        verdict, reason = overall(cpus, any(w.what == WarningKind.CPU_LIMIT for w in report.warnings))
        result = Result(verdict, reason, report, facts, outcome, cpus=cpus)
        deciding = result.deciding
        result.detail = dict(deciding.detail) if deciding else {}
        if len(cpus) > 1 and deciding is not None:
            result.detail["cpu"] = deciding.index
        if verdict is not Verdict.NO_VERDICT and (problem := _distrust_run(report, outcome)):
            cpus = [replace(c, verdict=Verdict.NO_VERDICT, reason=problem) for c in cpus]
            return Result(Verdict.NO_VERDICT, problem, report, facts, outcome, {"distrust": problem}, cpus)
        return result
    why: dict = {"ending": outcome.ending.value if outcome else None}
    if refusals and not report.framing.found_begin:
        # Recognised from the firmware's own words, never guessed from silence.
        why["secure_boot_refused"] = [r.summary for r in refusals]
        return _rejected(report, facts, f"{SECURE_BOOT_REFUSED}: the firmware said {refusals[0].summary}", outcome,
                         why)
    return _rejected(report, facts, _no_verdict_reason(report, outcome), outcome, why)


def evaluate_stream(stream: BinaryIO) -> Result:
    """The verdict of a captured log, read once from a stream (``bootgen report``)."""
    return judge(read_stream(stream))


def evaluate(serial: bytes, outcome: RunOutcome | None = None) -> Result:
    """Decide the verdict for serial bytes (and how the run that produced them ended)."""
    return judge(read(serial), outcome, secure_boot_refusals(serial))
