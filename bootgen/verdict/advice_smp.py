"""What to do when the CPUs of one machine disagree, or one of them did not answer (protocol version 2).

Firmware sets every logical CPU up on its own, and a hypervisor needs them all
alike: a VT-x setting applied to one socket only, firmware that enables VT-x
or loads the microcode update on the boot CPU only, an ACPI MADT that lists a
processor that is not there. These lines go after the verdict's own advice.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..contract.options import Option
from ..contract.smp import FINISH_DEADLINE_MS, CpusOption, CpuStatus
from ..contract.verdicts import Verdict
from ..decode.facts import CpuFacts
from .advice_text import REPORT_BUG
from .cpus import NOT_STARTED, TRUNCATED, CpuResult, cpu_list

_ALONE = f"boot with {Option.CPUS}={CpusOption.BSP} to check the boot CPU alone"
#: Verdicts whose own advice already speaks of the CPUs concerned (or of no verdict at all).
_OWN_ADVICE = frozenset({Verdict.UNRESPONSIVE, Verdict.FAULT, Verdict.NO_VERDICT})
_FIRMWARE_PER_CPU = {
    Verdict.VMX_DISABLED_BY_FIRMWARE: "VT-x",
    Verdict.SVM_DISABLED_BY_FIRMWARE: "AMD-V",
}


def _apic(value: int | None) -> str:
    return f"APIC {value:#04x}" if value is not None else "APIC unknown"


def _cpus(results: Iterable[CpuResult]) -> str:
    indices = [r.index for r in results]
    return f"CPU{'s' if len(indices) > 1 else ''} {cpu_list(indices)}"


def unresponsive(facts: CpuFacts, detail: dict) -> list[str]:
    """An AP that never joined, or joined and did not finish in time."""
    cpu = facts.cpu
    who = f"CPU {cpu.index} ({_apic(cpu.apic_id)})"
    if cpu.status == CpuStatus.TIMEOUT:
        step = f" (it was in step {cpu.end_step})" if cpu.end_step else ""
        return [f"{who} started but did not finish its checks within {FINISH_DEADLINE_MS / 1000:g} s{step}: that CPU "
                "hangs there (a machine check, an SMI storm, firmware that holds it) or it is a bootgen bug",
                _ALONE + ", and look at the firmware's hardware event log", REPORT_BUG]
    return [f"{who} never reached the stub's code after INIT-SIPI-SIPI: the ACPI MADT lists a processor that is "
            "disabled or not there (a firmware bug: update the firmware), or the CPU itself does not start (check "
            "the cores and SMT enabled in the firmware setup, and its hardware event log)",
            _ALONE]


def no_verdict(result: CpuResult) -> list[str]:
    """Why one CPU of several has no verdict, and what to do (empty: the general advice fits)."""
    if result.reason == TRUNCATED:
        return [f"CPU {result.index}'s records overflowed its report buffer, so its checks cannot be judged: a "
                f"bootgen bug; {REPORT_BUG.removeprefix('if this persists, ')}"]
    if result.reason.startswith(NOT_STARTED):
        return [f"the stub did not start CPU {result.index} (the cpus record's note says why, when it knows): "
                f"{_ALONE}; {REPORT_BUG.removeprefix('if this persists, ')}"]
    return []


def _disagreement(results: list[CpuResult], verdict: Verdict) -> list[str]:
    bad = [r for r in results if r.verdict is verdict]
    good = [r for r in results if r.verdict.ready]
    if not good or len(bad) == len(results):
        return []
    technology = _FIRMWARE_PER_CPU.get(verdict)
    if verdict in _OWN_ADVICE:
        return []
    if technology is None:
        return [f"{verdict.value} on {_cpus(bad)} only, ready on {_cpus(good)}: the CPUs of one machine should "
                "agree, and a hypervisor needs every one of them; look for what sets these up differently (the "
                "firmware and its per-CPU settings, the microcode, software that ran before bootgen)"]
    lines = [f"{technology} is disabled on {_cpus(bad)} only and works on {_cpus(good)}: the firmware enables it "
             "per CPU and did not on these (a setting applied to one socket only, or firmware that enables it on "
             "the boot CPU only): update the firmware, and check the setting for every socket"]
    if results[0].verdict.ready:
        lines.append("the boot CPU is fine, so a check of the boot CPU alone misses this; an OS that schedules a "
                     "hypervisor's work on the other CPUs fails there")
    return lines


def _differences(results: list[CpuResult], verdict: Verdict) -> list[str]:
    lines = []
    revisions: dict[int, list[CpuResult]] = {}
    for r in results:
        if r.microcode is not None:
            revisions.setdefault(r.microcode, []).append(r)
    if len(revisions) > 1:
        which = "; ".join(f"{rev:#x} on {_cpus(rs)}" for rev, rs in revisions.items())
        lines.append(f"the CPUs run different microcode revisions ({which}): the firmware applied the microcode "
                     "update to some CPUs only; update the firmware (it carries the microcode)")
    capability = [r for r in results if any(d.what.startswith("IA32_VMX_") for d in r.differences)]
    if capability:
        lines.append(f"{_cpus(capability)} report other VMX capabilities than the boot CPU: hypervisors need them "
                     "alike on every CPU (KVM refuses to load: \"CPU n feature inconsistency\"); update the firmware")
    control = [r for r in results if any(d.what == "IA32_FEATURE_CONTROL" for d in r.differences)]
    if control and not capability and verdict not in _FIRMWARE_PER_CPU:
        lines.append(f"IA32_FEATURE_CONTROL differs on {_cpus(control)} from the boot CPU: the firmware sets the CPUs "
                     "up differently; update the firmware")
    return lines


def smp_advice(results: list[CpuResult], verdict: Verdict) -> list[str]:
    """The advice for a machine of several CPUs that disagree (empty for one CPU)."""
    if len(results) < 2:
        return []
    return _disagreement(results, verdict) + _differences(results, verdict)
