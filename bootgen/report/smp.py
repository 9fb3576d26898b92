"""The typed records of protocol version 2 that describe the machine's CPUs (contract.smp).

``cpus`` summarizes what the boot CPU found and how the CPUs ran; ``processor``
names one processor of the MADT (or one that answered the broadcast). The
sections themselves (``cpu ... state=begin`` / ``state=end``) live on each
:class:`~bootgen.report.model.CpuReport`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

Raw = Mapping[str, str]


@dataclass(frozen=True)
class Cpus:
    """The ``cpus`` record: where the CPU list came from, how many got a section, how they ran."""

    source: str | None          # contract.smp.CpuSource
    count: int | None           # the CPUs that get a section, the boot CPU included
    listed: int | None          # the processors the MADT lists, usable or not
    apic_mode: str | None       # contract.smp.ApicMode
    boot_apic: int | None       # the boot CPU's APIC ID
    madt: int | None            # where the MADT is
    run: str | None             # contract.smp.CpuRun
    tsc_khz: int | None         # the TSC rate the SIPI delays use
    text: str = ""              # why the MADT was not used, when it was not
    raw: Raw = field(default_factory=dict)


@dataclass(frozen=True)
class Processor:
    """A ``processor`` record: one processor the MADT names, and the section it reports in when usable."""

    apic: int | None
    kind: str | None            # contract.smp.ProcessorKind
    uid: int | None
    flags: int | None
    usable: bool | None
    index: int | None           # the section it reports in (usable ones)
    raw: Raw = field(default_factory=dict)
