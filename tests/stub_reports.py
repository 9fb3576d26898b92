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
