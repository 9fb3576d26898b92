"""From raw serial bytes and the emulator's ending to a verdict the host can trust.

Only a complete, CRC-checked report with exactly one verdict record, a known
verdict name, raw records from which the host derives the same verdict
(``derive``) and nothing that contradicts itself, from a run that ended as
the stub ended it, yields a stub verdict; anything else is no verdict
(Verdict.NO_VERDICT), with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from ..backends.firmware_output import Refusal, secure_boot_refusals
from ..backends.outcome import Ending, RunOutcome
from ..contract.verdicts import STUB_VERDICTS, Verdict
from ..decode.facts import CpuFacts, decode_cpu
from ..report import model
from ..report.reader import read, read_stream
from .derive import derive


@dataclass
class Result:
    verdict: Verdict
    reason: str                          # one line: why this verdict
    report: model.Report
    facts: CpuFacts                      # the boot CPU's report, decoded once
    outcome: RunOutcome | None = None
    detail: dict = field(default_factory=dict)


#: The start of every reason for a report that contradicts itself (advice and docs key on it).
CONTRADICTION = "the report contradicts itself"
#: The start of the reason when the firmware's own output says Secure Boot refused the loader.
SECURE_BOOT_REFUSED = "Secure Boot refused the loader"


def _distrust(report: model.Report, verdict: Verdict, outcome: RunOutcome | None) -> str | None:
    """Why the stub's verdict cannot be believed (None when it can)."""
    derived = derive(report)
    if derived.verdict is not verdict:
        return f"{CONTRADICTION}: the verdict record says {verdict} but the records say {derived.verdict} " \
               f"({derived.why})"
    if derived.contradictions:
        return f"{CONTRADICTION}: " + "; ".join(derived.contradictions)
    if outcome is not None:
        if outcome.ending is Ending.REPORT_END:
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


def judge(report: model.Report, outcome: RunOutcome | None = None, refusals: list[Refusal] | None = None) -> Result:
    """The verdict of a typed report, how the run ended and what the firmware refused to boot."""
    facts = decode_cpu(report.boot_cpu)
    stub = report.verdict
    if stub is not None:
        name = stub.name or ""
        if name not in STUB_VERDICTS:
            return Result(Verdict.NO_VERDICT, f"unknown verdict name {name!r}", report, facts, outcome)
        verdict = Verdict(name)
        if problem := _distrust(report, verdict, outcome):
            return Result(Verdict.NO_VERDICT, problem, report, facts, outcome, {"distrust": problem})
        detail = dict(stub.detail)
        if stub.text:
            detail["text"] = stub.text
        return Result(verdict, stub.text or verdict.summary, report, facts, outcome, detail)
    why: dict = {"ending": outcome.ending.value if outcome else None}
    if refusals and not report.framing.found_begin:
        # Recognised from the firmware's own words, never guessed from silence.
        why["secure_boot_refused"] = [r.summary for r in refusals]
        return Result(Verdict.NO_VERDICT, f"{SECURE_BOOT_REFUSED}: the firmware said {refusals[0].summary}",
                      report, facts, outcome, why)
    return Result(Verdict.NO_VERDICT, _no_verdict_reason(report, outcome), report, facts, outcome, why)


def evaluate_stream(stream: BinaryIO) -> Result:
    """The verdict of a captured log, read once from a stream (``bootgen report``)."""
    return judge(read_stream(stream))


def evaluate(serial: bytes, outcome: RunOutcome | None = None) -> Result:
    """Decide the verdict for serial bytes (and how the run that produced them ended)."""
    return judge(read(serial), outcome, secure_boot_refusals(serial))
