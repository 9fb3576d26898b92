"""Each CPU's verdict, and the machine's from all of them (protocol version 2).

A CPU's verdict is its stub verdict only when its section holds exactly one
verdict record, of a known name, equal to the verdict the host derives from
that CPU's raw records (``derive``), with nothing that contradicts itself; a
section that overflowed its buffer (``status=truncated``) or whose CPU was
never started (``status=not-started``) has none; an AP that wrote its own
verdict and then stalled (``status=timeout``) is unresponsive. The machine is ready only when every CPU
is; otherwise its verdict is the first in ``verdicts.SEVERITY`` that any CPU
has, and the reason names the CPUs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..contract.records import Key
from ..contract.smp import AP_REPORT_BUFFER, CpuStatus
from ..contract.verdicts import SEVERITY, STUB_VERDICTS, Verdict
from ..decode.facts import CpuFacts, decode_cpu
from ..decode.smp import CpuIds, Difference, cpu_ids, differences
from ..report.model import CpuReport, Report
from .consistency import CONTRADICTION
from .derive import derive

#: Why a CPU whose section overflowed, or that was never started, has no verdict.
TRUNCATED = f"its records overflowed its {AP_REPORT_BUFFER}-byte report buffer: its section is incomplete"
NOT_STARTED = "the stub did not start it, so it was not checked"


@dataclass
class CpuResult:
    """One CPU's verdict, why, and what it reported."""

    index: int
    apic_id: int | None
    verdict: Verdict
    reason: str
    status: str | None                  # contract.smp.CpuStatus: how its section ended (None: no sections)
    join_us: int | None
    facts: CpuFacts
    ids: CpuIds
    differences: list[Difference] = field(default_factory=list)   # from the boot CPU
    detail: dict = field(default_factory=dict)                    # its verdict record's fields (and text)

    @property
    def microcode(self) -> int | None:
        return self.ids.microcode


def _distrust(report: Report, cpu: CpuReport, verdict: Verdict) -> str | None:
    """Why this CPU's stub verdict cannot be believed (None when it can)."""
    derived = derive(report, cpu)
    if derived.verdict is not verdict:
        return f"{CONTRADICTION}: the verdict record says {verdict} but the records say {derived.verdict} " \
               f"({derived.why})"
    problems = list(derived.contradictions)
    stated = cpu.verdicts[0].detail.get(Key.STATUS)
    if verdict is Verdict.UNRESPONSIVE and stated not in (None, cpu.status):
        problems.append(f"the verdict record says status={stated} but the section ended with status={cpu.status}")
    return f"{CONTRADICTION}: " + "; ".join(problems) if problems else None


def _verdict(report: Report, cpu: CpuReport) -> tuple[Verdict, str, dict]:
    """The CPU's verdict, its reason and detail."""
    if cpu.status == CpuStatus.TRUNCATED:
        return Verdict.NO_VERDICT, TRUNCATED, {}
    if cpu.status == CpuStatus.NOT_STARTED:
        why = report.smp.text if report.smp is not None and report.smp.text else ""
        return Verdict.NO_VERDICT, NOT_STARTED + (f" ({why})" if why else ""), {}
    if len(cpu.verdicts) != 1:
        where = "its section" if cpu.began else "the report"
        return Verdict.NO_VERDICT, f"{where} holds {len(cpu.verdicts)} verdict records, not 1", {}
    stub = cpu.verdicts[0]
    name = stub.name or ""
    if name not in STUB_VERDICTS:
        return Verdict.NO_VERDICT, f"unknown verdict name {name!r}", {}
    verdict = Verdict(name)
    if cpu.status == CpuStatus.TIMEOUT and verdict is not Verdict.UNRESPONSIVE:
        # It wrote its own verdict, then stalled before it was done: its section's end decides.
        derived = derive(report, cpu)
        detail = {**stub.detail, "own_verdict": name}
        return Verdict.UNRESPONSIVE, f"{derived.why}, after its own verdict {name}", detail
    if problem := _distrust(report, cpu, verdict):
        return Verdict.NO_VERDICT, problem, {"distrust": problem}
    detail = dict(stub.detail)
    if stub.text:
        detail["text"] = stub.text
    return verdict, stub.text or verdict.summary, detail


def judge_cpu(report: Report, cpu: CpuReport, facts: CpuFacts | None = None,
              rejected: str | None = None) -> CpuResult:
    """One CPU's result; ``rejected``: the whole report is not believed, and why (every CPU: no verdict)."""
    verdict, reason, detail = (Verdict.NO_VERDICT, rejected, {}) if rejected is not None else _verdict(report, cpu)
    return CpuResult(cpu.index, cpu.apic_id, verdict, reason, cpu.status, cpu.join_us, facts or decode_cpu(cpu),
                     cpu_ids(cpu), differences(report.boot_cpu, cpu), detail)


def cpu_list(indices: list[int]) -> str:
    """CPU indices for people: runs of three or more as ranges ("0, 2-5, 7")."""
    parts: list[str] = []
    start = prev = None
    for i in [*indices, None]:
        if prev is not None and i == prev + 1:
            prev = i
            continue
        if start is not None and prev is not None:
            parts.append(f"{start}-{prev}" if prev - start >= 2 else ", ".join(map(str, range(start, prev + 1))))
        start = prev = i
    return ", ".join(parts)


def overall(results: list[CpuResult], more_found: bool = False) -> tuple[Verdict, str]:
    """The machine's verdict and reason from its CPUs' (one CPU: that CPU's). ``more_found``: the stub found
    CPUs it could not check (its cpu-limit warning), so "all" would overstate what a ready verdict covers."""
    if len(results) == 1 and not more_found:
        return results[0].verdict, results[0].reason
    n = len(results)
    if all(r.verdict.ready for r in results):
        verdict = next(v for v in SEVERITY if any(r.verdict is v for r in results))
        name = "VT-x" if verdict is Verdict.VMX_READY else "AMD-V"
        where = f"the {n} CPU{'s' if n > 1 else ''} checked (more were found: see the cpu-limit warning)" \
            if more_found else f"all {n} CPUs"
        return verdict, f"{name} works on {where}: {results[0].reason}"
    verdict = next((v for v in SEVERITY if not v.ready and any(r.verdict is v for r in results)),
                   next(r.verdict for r in results if not r.verdict.ready))
    hit = [r for r in results if r.verdict is verdict]
    where = f"all {n} CPUs" if len(hit) == n else \
        f"CPU{'s' if len(hit) > 1 else ''} {cpu_list([r.index for r in hit])} of {n}"
    return verdict, f"{verdict.value} on {where}: {hit[0].reason}"
