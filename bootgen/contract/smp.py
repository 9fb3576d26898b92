"""Every logical CPU: how the stub finds, starts and reports the processors (protocol version 2).

The boot CPU finds the CPUs (the ACPI MADT, else a broadcast INIT-SIPI-SIPI
and whoever answers), starts the application processors, and runs the probe
on each, every CPU on its own regions and stacks. Each CPU's records form a
section of the report, ``cpu index=N apic=ID state=begin`` ... ``cpu index=N
state=end status=...``, written by the boot CPU in CPU order (an AP's records
wait in its own buffer), so that the line protocol and its CRC stay one.
Records outside every section are the machine's and the boot CPU's. A
version 1 report (one CPU, no sections) reads as before.
"""

from __future__ import annotations

import enum

from .verdicts import Verdict

#: The most logical CPUs the stub checks (the per-CPU structures are static); more are reported, not checked.
CPU_MAX = 256

#: How long, after the last SIPI, an AP has to reach the stub's code before it is reported unresponsive.
JOIN_DEADLINE_MS = 500
#: How long every joined AP has, from then, to finish its checks and its guest (then: unresponsive).
FINISH_DEADLINE_MS = 10000
#: Each AP's report buffer: its records wait there until the boot CPU writes them out.
AP_REPORT_BUFFER = 12288

#: The INIT-SIPI-SIPI delays (SDM Vol. 3A, 9.4.4.1 "Typical BSP Initialization Sequence"): 10 ms after INIT,
#: 200 us after each SIPI.
INIT_DELAY_US = 10000
SIPI_DELAY_US = 200


class CpuSource(enum.StrEnum):
    """Where the list of CPUs came from (``cpus source=``)."""

    MADT = "madt"               # the ACPI MADT's processor local APIC and local x2APIC entries
    BROADCAST = "broadcast"     # no usable MADT: a broadcast INIT-SIPI-SIPI, and the CPUs that answered
    BOOT_ONLY = "boot-only"     # cpus=bsp, or no local APIC: the boot CPU alone


class ApicMode(enum.StrEnum):
    """The boot CPU's local APIC mode as the firmware handed it over (IA32_APIC_BASE, SDM Vol. 3A, 11.12.1)."""

    XAPIC = "xapic"             # ICR through the register page (MMIO)
    X2APIC = "x2apic"           # ICR through the IA32_X2APIC_ICR MSR
    NONE = "none"               # no APIC, or disabled


class CpuRun(enum.StrEnum):
    """How the CPUs ran their checks (``cpus run=``)."""

    CONCURRENT = "concurrent"   # every AP at once, while the boot CPU runs its own
    BOOT_ONLY = "boot-only"     # only the boot CPU ran them


class ProcessorKind(enum.StrEnum):
    """The MADT entry that named a processor (ACPI 6.5, 5.2.12.2 and 5.2.12.12)."""

    LAPIC = "lapic"             # type 0: Processor Local APIC (8-bit APIC ID)
    X2APIC = "x2apic"           # type 9: Processor Local x2APIC (32-bit x2APIC ID)
    ANSWERED = "answered"       # found by the broadcast: it reached the stub's code


class CpuStatus(enum.StrEnum):
    """How a CPU's section ended (``cpu state=end status=``)."""

    FINISHED = "finished"           # it ran its checks to its verdict
    UNRESPONSIVE = Verdict.UNRESPONSIVE.value   # it never reached the stub's code after INIT-SIPI-SIPI
    TIMEOUT = "timeout"             # it joined, but did not finish within FINISH_DEADLINE_MS
    TRUNCATED = "truncated"         # its records did not fit its buffer: the section is incomplete
    NOT_STARTED = "not-started"     # beyond CPU_MAX: listed, not checked


class SectionState(enum.StrEnum):
    BEGIN = "begin"
    END = "end"


class CpusOption(enum.StrEnum):
    """The ``cpus=`` option: which CPUs the stub checks."""

    ALL = "all"                 # every logical CPU the MADT lists (default)
    BSP = "bsp"                 # the boot CPU only (protocol version 1's behaviour, in a version 2 report)


#: Value sets and the stub's macro prefix for each (records.C_PREFIX takes them in).
SMP_C_PREFIX: dict[type[enum.StrEnum], str] = {
    CpuSource: "CPU_SOURCE", ApicMode: "APIC_MODE", CpuRun: "CPU_RUN", ProcessorKind: "PROCESSOR",
    CpuStatus: "CPU_STATUS", SectionState: "SECTION", CpusOption: "CPUS",
}
