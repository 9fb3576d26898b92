"""Reports as the stub writes them, for host-side tests: the records of real logs, cut and changed.

A hand-made report that holds only a verdict and one or two records is not
trusted any more (the host derives the verdict from every raw fact), so the
tests build theirs from the records of a real Bochs run.
"""

from __future__ import annotations

from conftest import DATA

READY_LOG = "bochs-sandy-bridge.log"


def log_records(name: str = READY_LOG) -> list[str]:
    """The record lines of a log's report (between its begin and end lines)."""
    lines = (DATA / name).read_text(encoding="latin-1").replace("\r", "").split("\n")
    begin = max(i for i, line in enumerate(lines) if line.startswith("#BOOTGEN begin"))
    end = next(i for i in range(begin, len(lines)) if lines[i].startswith("#BOOTGEN end"))
    return lines[begin + 1:end]


def until(records: list[str], prefix: str) -> list[str]:
    """The records before the first one that starts with ``prefix``."""
    index = next(i for i, r in enumerate(records) if r.startswith(prefix))
    return records[:index]


def without(records: list[str], *prefixes: str) -> list[str]:
    return [r for r in records if not r.startswith(prefixes)]


def replaced(records: list[str], prefix: str, new: str) -> list[str]:
    """Every record that starts with ``prefix`` replaced by ``new``."""
    return [new if r.startswith(prefix) else r for r in records]


def ready() -> list[str]:
    """A vmx-ready report, verdict included."""
    return log_records()


def stopped_at_vmxon(vmxon: str, verdict: str) -> list[str]:
    """The stub's records up to a VMXON whose record is ``vmxon``, then the verdict."""
    return [*until(ready(), "vmx insn=vmxon"), vmxon, "step name=vmxon state=fail", verdict]


def after_vmptrld(*guest: str, verdict: str) -> list[str]:
    """VMXON, VMCLEAR and VMPTRLD worked; then ``guest`` records, VMXOFF, and the verdict."""
    head = until(ready(), "controls ")
    tail = until(ready()[ready().index("step name=vmxoff state=begin"):], "verdict ")
    return [*head, *guest, *tail, verdict]


# --------------------------------------------------------------------------- protocol 2: per-CPU sections

PROBE_BEGIN = "step name=cpu-identity state=begin"
#: IA32_BIOS_SIGN_ID as every CPU's cpu-identity step reads it (the microcode revision in bits 63:32).
SIGN_ID = "msr index=0x0000008b value=0x{:08x}00000000 phase=loader"
UNRESPONSIVE = "verdict name=unresponsive status=unresponsive -- it did not reach the stub's code within 500 ms"


def probe(name: str = READY_LOG, microcode: int = 0x1) -> list[str]:
    """One CPU's records as a version 1 log holds them (its verdict included, no poweroff), with the
    microcode revision every protocol 2 CPU reads in its cpu-identity step."""
    records = log_records(name)
    body = [r for r in records[records.index(PROBE_BEGIN):] if not r.startswith("poweroff ")]
    return [body[0], SIGN_ID.format(microcode), *body[1:]]


def locked_off(name: str = READY_LOG, microcode: int = 0x1) -> list[str]:
    """A CPU whose firmware locked IA32_FEATURE_CONTROL with VMX off (the records up to its read, changed)."""
    return [*until(probe(name, microcode), "msr index=0x0000003a"),
            "msr index=0x0000003a value=0x0000000000000001 phase=loader",
            "check name=feature-control result=fail state=disabled-by-firmware value=0x0000000000000001",
            "step name=feature-control state=fail",
            "verdict name=vmx-disabled-by-firmware msr=0x0000003a -- IA32_FEATURE_CONTROL is locked with VMX off"]


def ap_entry(name: str = READY_LOG) -> list[str]:
    """An AP's own records at its entry: its registers, descriptors and paging (those of the boot CPU's log)."""
    head = log_records(name)
    head = head[:head.index(PROBE_BEGIN)]
    return [r for r in head if r.startswith(("cr ", "step name=descriptors", "step name=paging"))]


def _with_initial_apic(record: str, apic: int) -> str:
    """CPUID leaf 1 as CPU ``apic`` reads it: its initial APIC ID in EBX[31:24]."""
    if not record.startswith("cpuid leaf=0x00000001 "):
        return record
    words = record.split(" ")
    ebx = next(i for i, w in enumerate(words) if w.startswith("ebx="))
    value = int(words[ebx][4:], 16) & 0x00FFFFFF | (apic & 0xFF) << 24
    words[ebx] = f"ebx=0x{value:08x}"
    return " ".join(words)


def section(index: int, records: list[str], end: str | None = None, apic: int | None = None,
            entry: list[str] | None = None) -> list[str]:
    """CPU ``index``'s section: begin, (an AP: its entry records), its records, end (``end``: the fields after
    state=end; by default finished, with a join time for an AP)."""
    apic = index if apic is None else apic
    records = [_with_initial_apic(r, apic) for r in records]
    if end is None:
        end = "status=finished" if index == 0 else f"status=finished join_us={1000 + index}"
    own = (ap_entry() if entry is None else entry) if index else []
    return [f"cpu index={index} apic=0x{apic:08x} state=begin", *own, *records, f"cpu index={index} state=end {end}"]


def smp_records(*sections: list[str], name: str = READY_LOG, count: int | None = None,
                processors: list[str] | None = None, config: str = "cpus=all inject_cpu=0",
                cpus: str | None = None) -> list[str]:
    """A whole version 2 report: the machine's head of log ``name``, CPU discovery, the sections, the poweroff."""
    records = log_records(name)
    head = [f"{r} {config}" if r.startswith("config ") else r for r in records[:records.index(PROBE_BEGIN)]]
    n = len(sections) if count is None else count
    if processors is None:
        processors = [f"processor apic=0x{i:08x} kind=lapic uid={i} flags=0x00000001 usable=yes index={i}"
                      for i in range(n)]
    if cpus is None:
        cpus = f"cpus source=madt count={n} listed={len(processors)} apic_mode=xapic apic=0x00000000 " \
               "madt=0x07fe1234 run=concurrent tsc_khz=2400000"
    poweroff = [r for r in records if r.startswith("poweroff ")] or ["poweroff method=bochs-shutdown emulator=bochs"]
    return [*head, "step name=cpu-discovery state=begin", *processors, cpus, "step name=cpu-discovery state=ok",
            "step name=ap-start state=begin", "step name=ap-start state=ok",
            *(r for s in sections for r in s), *poweroff]


def all_sections(count: int, name: str = READY_LOG) -> list[list[str]]:
    """``count`` CPUs that all pass, each with the records of log ``name``."""
    return [section(i, probe(name), entry=ap_entry(name)) for i in range(count)]
