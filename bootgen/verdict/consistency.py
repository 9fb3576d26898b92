"""Whether a report's per-CPU sections fit together (protocol version 2).

A report with sections is believed only when its ``cpus`` record, its
sections and its ``processor`` records tell one story: ``count`` sections,
indices 0..count-1 in order, each begun and ended with a known status, the
boot CPU's APIC ID where ``cpus apic=`` says, every usable processor reporting
in the section of its APIC ID (with the MADT as the source: every AP's section
named by one). Anything else is a report that contradicts itself: no verdict
for any CPU.
"""

from __future__ import annotations

from ..contract.smp import CpusOption, CpuSource, CpuStatus
from ..report.model import Report

#: The start of every reason for a report that contradicts itself (advice and docs key on it).
CONTRADICTION = "the report contradicts itself"


def _hex(value: int | None) -> str:
    return f"{value:#x}" if value is not None else "none"


def section_contradictions(report: Report) -> list[str]:
    """What in the report's CPU sections contradicts itself (nothing for a report without sections)."""
    if not report.sectioned:
        return []
    problems = list(report.section_problems)
    order, smp = report.section_order, report.smp
    if smp is None:
        problems.append("it has CPU sections but no cpus record")
    else:
        if smp.count != len(order):
            problems.append(f"cpus count={smp.count} but the report holds {len(order)} CPU sections")
        boot = report.boot_cpu.apic_id
        if smp.boot_apic is not None and boot is not None and smp.boot_apic != boot:
            problems.append(f"cpus apic={_hex(smp.boot_apic)} but CPU 0's section names APIC {_hex(boot)}")
        option = report.config.cpus if report.config else None
        if (smp.source == CpuSource.BOOT_ONLY or option == CpusOption.BSP) and len(order) != 1:
            problems.append(f"only the boot CPU runs (cpus source={smp.source}, config cpus={option}) but the "
                            f"report holds {len(order)} CPU sections")
    if order != list(range(len(order))):
        problems.append(f"the CPU sections are {order}, not 0 to {len(order) - 1} in order")
    known = {s.value for s in CpuStatus}
    for cpu in report.cpus:
        if not cpu.began:
            problems.append(f"CPU {cpu.index} has no section")
        elif not cpu.ended:
            problems.append(f"CPU {cpu.index}'s section never ends")
        elif cpu.status not in known:
            problems.append(f"CPU {cpu.index}'s section ends with status={cpu.status!r}")
    apics = [c.apic_id for c in report.cpus if c.apic_id is not None]
    if len(set(apics)) != len(apics):
        problems.append(f"two sections name the same APIC ID ({sorted(apics)})")
    return problems + _processor_problems(report)


def _processor_problems(report: Report) -> list[str]:
    """Each usable processor reports in one section, the one with its APIC ID."""
    problems, named = [], {}
    for p in (p for p in report.processors if p.usable):
        if p.index is None:
            problems.append(f"processor apic={_hex(p.apic)} is usable but names no section")
        elif p.index in named:
            problems.append(f"two usable processors report in CPU {p.index}'s section")
        else:
            named[p.index] = p
    sections = {c.index: c for c in report.cpus if c.began}
    for index, p in sorted(named.items()):
        cpu = sections.get(index)
        if cpu is None:
            problems.append(f"processor apic={_hex(p.apic)} reports in CPU {index}'s section, which the report lacks")
        elif cpu.apic_id != p.apic:
            problems.append(f"processor index={index} has APIC ID {_hex(p.apic)} but CPU {index}'s section names "
                            f"{_hex(cpu.apic_id)}")
    if report.smp is not None and report.smp.source == CpuSource.MADT:
        unnamed = [i for i in sections if i and i not in named]  # the boot CPU's is section 0, listed or not
        if unnamed:
            problems.append(f"the MADT's usable processors name no section for CPU {', '.join(map(str, unnamed))}")
    return problems
