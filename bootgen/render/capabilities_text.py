"""The VMX capabilities for people: grouped, what is available, what is not, the values."""

from __future__ import annotations

import textwrap

from ..arch import msr
from ..decode.capabilities import VmxCapabilities
from ..decode.capability_summary import Capability


def format_value(item: Capability) -> str:
    """A capability's value for people ("yes", "no", "not reported", "TSC >> 5", ...)."""
    if not item.reported:
        return "not reported"
    value = item.value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) if value else "none"
    if value is None:
        return "n/a"
    if item.key == "preemption_timer_rate":
        return f"TSC >> {value}"
    if item.key in ("vmcs_highest_index", "mseg_revision"):
        return f"{value:#x}"
    return str(value)


def _wrapped(head: str, text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width=width, initial_indent=head, subsequent_indent=" " * len(head),
                         break_on_hyphens=False, break_long_words=False)


def to_text_lines(caps: VmxCapabilities, width: int = 100, bold: str = "", reset: str = "") -> list[str]:
    """The grouped capabilities: per group, what is available, what is not, the values."""
    if not caps.reported:
        return ["VMX capabilities: not reported (the report holds no VMX capability MSRs)"]
    lines = ["VMX capabilities (IA32_VMX_* MSRs, SDM Vol. 3D appendix A):"]
    for group in caps.summary():
        lines.append(f"  {bold}{group.title}{reset}")
        flags = [item for item in group.items if isinstance(item.value, bool)]
        values = [item for item in group.items if not isinstance(item.value, bool) and item.reported]
        for head, chosen in (("yes", [i for i in flags if i.reported and i.value]),
                             ("no", [i for i in flags if i.reported and not i.value]),
                             ("not reported", [i for i in flags if not i.reported])):
            if chosen:
                lines.extend(_wrapped(f"    {head + ':':<14}", ", ".join(i.label for i in chosen), width))
        if values:
            lines.extend(_wrapped(f"    {'values:':<14}",
                                  "; ".join(f"{i.label} {format_value(i)}" for i in values), width))
    if caps.msrs.faults:
        faults = ", ".join(f"{msr.NAMES[i]} (vector {v})" for i, v in sorted(caps.msrs.faults.items()))
        lines.append(f"  reading faulted: {faults}")
    return lines


def svm_text_lines(caps, bold: str = "", reset: str = "") -> list[str]:
    """AMD-V's features (CPUID Fn8000_000A), by name: present ones first, then the absent ones."""
    if caps is None:
        return [f"{bold}AMD-V features:{reset} not reported (the report holds no CPUID Fn8000_000A)"]
    from ..arch import svm
    names = {b.key: b.name for b in svm.SVM_FEATURE_BITS}
    present = [names[k] for k, on in caps.features.items() if on]
    absent = [names[k] for k, on in caps.features.items() if not on]
    return [f"{bold}AMD-V features:{reset} revision {caps.revision}, {caps.asids} ASIDs",
            f"  present: {', '.join(present) or 'none'}",
            f"  absent:  {', '.join(absent) or 'none'}"]
