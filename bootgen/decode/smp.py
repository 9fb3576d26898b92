"""Who each logical CPU is, and how it differs from the boot CPU (protocol version 2).

Firmware sets every logical processor up on its own: a BIOS option applied to
one socket only, microcode updated on the boot CPU only, IA32_FEATURE_CONTROL
locked differently per core. Each CPU's identity facts come from its own
records: the APIC ID its section names, the initial APIC ID of CPUID.1:EBX[31:24]
and the x2APIC ID of CPUID leaf 0xB (SDM Vol. 3A, 11.4.6 and 11.12.8), the
microcode revision (IA32_BIOS_SIGN_ID[63:32], SDM Vol. 3A, 10.11.7.1) and the
CPUID signature. ``differences`` lists every compared value that differs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..arch import msr, registers, svm
from ..contract.records import MsrPhase
from ..report.model import CpuReport

_INITIAL_APIC_SHIFT = 24         # CPUID.1:EBX[31:24]
_MICROCODE_SHIFT = 32            # IA32_BIOS_SIGN_ID[63:32]


@dataclass(frozen=True)
class CpuIds:
    """One CPU's identity facts (None: not recorded)."""

    apic_id: int | None              # the section's begin record (from the MADT)
    initial_apic_id: int | None      # CPUID.1:EBX[31:24]
    x2apic_id: int | None            # CPUID.0BH:EDX
    microcode: int | None            # IA32_BIOS_SIGN_ID >> 32
    signature: int | None            # CPUID.1:EAX: family, model, stepping

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Difference:
    """A value this CPU reports otherwise than the boot CPU, both in hex."""

    what: str
    boot: str
    this: str

    def as_dict(self) -> dict:
        return asdict(self)


def cpu_ids(cpu: CpuReport) -> CpuIds:
    leaf1 = cpu.cpuid_leaf(registers.CPUID_LEAF_FEATURES)
    topology = cpu.cpuid_leaf(registers.CPUID_LEAF_TOPOLOGY)
    sign = cpu.msr(msr.IA32_BIOS_SIGN_ID)
    return CpuIds(apic_id=cpu.apic_id,
                  initial_apic_id=leaf1.ebx >> _INITIAL_APIC_SHIFT if leaf1 is not None else None,
                  x2apic_id=topology.edx if topology is not None else None,
                  microcode=sign >> _MICROCODE_SHIFT if sign is not None else None,
                  signature=leaf1.eax if leaf1 is not None else None)


def _msr_text(cpu: CpuReport, index: int, phase: str | None) -> str | None:
    read = next((r for r in cpu.msrs if r.index == index and (phase is None or r.phase == phase)), None)
    if read is None:
        return None
    if read.value is None:
        return f"fault (vector {read.fault})" if read.fault is not None else None
    return f"{read.value:#018x}"


def compared(cpu: CpuReport) -> dict[str, str]:
    """The values one CPU is compared on, by what they are (only those it recorded)."""
    out: dict[str, str | None] = {}
    ids = cpu_ids(cpu)
    out["microcode revision"] = f"{ids.microcode:#x}" if ids.microcode is not None else None
    out["CPUID.1:EAX (signature)"] = f"{ids.signature:#010x}" if ids.signature is not None else None
    for leaf, name, regs in ((registers.CPUID_LEAF_FEATURES, "1", ("ecx",)),
                             (svm.CPUID_LEAF_EXTENDED_FEATURES, "80000001H", ("ecx",)),
                             (svm.CPUID_LEAF_SVM, "8000000AH", ("eax", "ebx", "edx"))):
        record = cpu.cpuid_leaf(leaf)
        for reg in regs:
            out[f"CPUID.{name}:{reg.upper()}"] = f"{getattr(record, reg):#010x}" if record is not None else None
    out["IA32_FEATURE_CONTROL"] = _msr_text(cpu, msr.IA32_FEATURE_CONTROL, MsrPhase.LOADER)
    out["VM_CR"] = _msr_text(cpu, svm.VM_CR, None)
    for index in dict.fromkeys(r.index for r in cpu.msrs if r.phase == MsrPhase.CAPABILITY):
        out[msr.NAMES.get(index, f"MSR {index:#x}")] = _msr_text(cpu, index, MsrPhase.CAPABILITY)
    return {what: value for what, value in out.items() if value is not None}


def differences(boot: CpuReport, cpu: CpuReport) -> list[Difference]:
    """What ``cpu`` reports otherwise than the boot CPU, among the values both recorded."""
    if cpu is boot:
        return []
    mine, theirs = compared(cpu), compared(boot)
    return [Difference(what, theirs[what], value) for what, value in mine.items()
            if what in theirs and theirs[what] != value]
