"""The text output's per-CPU table (protocol version 2, more than one CPU).

One row per CPU: its index, APIC ID, verdict, microcode revision, how long it
took to join, and why when it is not ready; then what each CPU reports
otherwise than the boot CPU. Beyond GROUP_ABOVE CPUs, consecutive CPUs alike
(same verdict and microcode, nothing different from the boot CPU) share a row.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..contract.smp import CpuSource
from ..report.smp import Cpus
from ..verdict.evaluate import CpuResult, Result

#: More CPUs than this: consecutive CPUs alike share a row.
GROUP_ABOVE = 16
_SOURCES: dict[str, str] = {
    CpuSource.MADT: "from the ACPI MADT", CpuSource.BROADCAST: "that answered a broadcast INIT-SIPI-SIPI",
    CpuSource.BOOT_ONLY: "(the boot CPU only)"}
_ROW = "  {cpu:<9} {apic:<13} {verdict:<26} {microcode:<10} {joined:<10} {reason}"


@dataclass
class _Row:
    first: CpuResult
    last: CpuResult
    joined: list[int]

    def cells(self) -> dict[str, str]:
        one = self.first is self.last
        apic = _hex(self.first.apic_id) if one else f"{_hex(self.first.apic_id)}-{_hex(self.last.apic_id)}"
        joined = f"{max(self.joined)} us" if self.joined else "-"
        return {"cpu": str(self.first.index) if one else f"{self.first.index}-{self.last.index}", "apic": apic,
                "verdict": self.first.verdict.value, "joined": joined if one or not self.joined else f"<={joined}",
                "microcode": _number(self.first.microcode), "reason": "" if self.first.verdict.ready else
                self.first.reason}


def _hex(value: int | None) -> str:
    return f"{value:#04x}" if value is not None else "-"


def _number(value: int | None) -> str:
    return f"{value:#x}" if value is not None else "-"


def _alike(row: _Row, cpu: CpuResult) -> bool:
    prev = row.last
    return cpu.index == prev.index + 1 and cpu.verdict is prev.verdict and cpu.microcode == prev.microcode \
        and not cpu.differences and not prev.differences and cpu.status == prev.status \
        and (cpu.verdict.ready or cpu.reason == prev.reason)


def _rows(cpus: list[CpuResult]) -> list[_Row]:
    rows: list[_Row] = []
    for cpu in cpus:
        joined = [cpu.join_us] if cpu.join_us is not None else []
        if rows and len(cpus) > GROUP_ABOVE and _alike(rows[-1], cpu):
            rows[-1].last = cpu
            rows[-1].joined += joined
        else:
            rows.append(_Row(cpu, cpu, joined))
    return rows


def _summary(smp: Cpus | None, count: int) -> str:
    if smp is None:
        return f"cpus:    {count}"
    parts = [f"cpus:    {count} {_SOURCES.get(smp.source or '', f'(source {smp.source})')}"]
    if smp.listed is not None:
        parts.append(f"{smp.listed} listed")
    if smp.apic_mode:
        parts.append(f"APIC mode {smp.apic_mode}")
    if smp.run:
        parts.append(f"run {smp.run}")
    if smp.tsc_khz:
        parts.append(f"TSC {smp.tsc_khz} kHz")
    return ", ".join(parts) + (f" -- {smp.text}" if smp.text else "")


def cpu_lines(result: Result) -> list[str]:
    """The table and the differences (nothing for one CPU)."""
    cpus = result.cpus
    if len(cpus) < 2:
        return []
    lines = [_summary(result.report.smp, len(cpus)),
             _ROW.format(cpu="CPU", apic="APIC", verdict="verdict", microcode="microcode", joined="joined",
                         reason="").rstrip()]
    lines += [_ROW.format(**row.cells()).rstrip() for row in _rows(cpus)]
    for cpu in cpus:
        if cpu.differences:
            lines.append(f"  CPU {cpu.index} differs from the boot CPU: "
                         + "; ".join(f"{d.what} {d.boot} -> {d.this}" for d in cpu.differences))
    return lines
