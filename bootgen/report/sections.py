"""Protocol 2's per-CPU sections, as the reader meets them: which CPU each record belongs to.

``cpu index=N apic=ID state=begin`` opens CPU N's section, ``cpu index=N
state=end status=...`` closes it; the records between are that CPU's, every
other record the boot CPU's (cpus[0]). What does not nest (a section that
begins inside another, ends outside its own, or repeats) goes to
``Report.section_problems``; the verdict refuses such a report.
"""

from __future__ import annotations

from ..contract.records import Key
from ..contract.smp import SectionState
from . import model
from .wire import Record


class Sections:
    """Follows the sections of one report while its records are read in order."""

    def __init__(self, report: model.Report) -> None:
        self.report = report
        self.open: model.CpuReport | None = None

    @property
    def current(self) -> model.CpuReport:
        """The CPU the next record belongs to."""
        return self.open if self.open is not None else self.report.boot_cpu

    def mark(self, record: Record) -> None:
        index, state = record.int(Key.INDEX), record.get(Key.STATE)
        if index is None or index < 0:
            self.report.section_problems.append(f"a cpu record without a valid index ({record.get(Key.INDEX)!r})")
        elif state == SectionState.BEGIN:
            self._begin(index, record)
        elif state == SectionState.END:
            self._end(index, record)
        else:
            self.report.section_problems.append(f"cpu index={index} with state={state!r}")

    def _begin(self, index: int, record: Record) -> None:
        report = self.report
        if self.open is not None:
            report.section_problems.append(f"CPU {index}'s section begins inside CPU {self.open.index}'s")
        if index in report.section_order:
            report.section_problems.append(f"a second section for CPU {index}")
        cpu = next((c for c in report.cpus if c.index == index), None)
        if cpu is None:
            cpu = model.CpuReport(index=index)
            report.cpus.append(cpu)
        cpu.apic_id, cpu.began = record.int(Key.APIC), True
        report.section_order.append(index)
        self.open = cpu

    def _end(self, index: int, record: Record) -> None:
        if self.open is None or self.open.index != index:
            self.report.section_problems.append(f"CPU {index}'s section ends outside it")
            return
        cpu = self.open
        cpu.ended, cpu.status = True, record.get(Key.STATUS)
        cpu.join_us, cpu.end_step = record.int(Key.JOIN_US), record.get(Key.STEP)
        self.open = None
