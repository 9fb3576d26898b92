"""The text output for people: the verdict and what to do first, then the facts behind it.

Every character of it that did not come from bootgen itself is escaped (render/escape.py): the report's
strings are the guest's, and a forged log or a hypervisor's brand string must not drive the terminal.
"""

from __future__ import annotations

from ..contract.records import CheckResult, Insn
from ..contract.verdicts import Verdict
from ..decode.svm import efer_svme, vm_cr
from ..verdict.advice import advise
from ..verdict.evaluate import Result
from . import escape
from .capabilities_text import svm_text_lines, to_text_lines
from .cpus_text import cpu_lines
from .jsondoc import cpu_scope

_COLORS = {"green": "\033[32m", "red": "\033[31m", "yellow": "\033[33m", "bold": "\033[1m", "reset": "\033[0m"}
#: Stand-ins for the colour codes while the text is built: private-use characters, which no report can
#: hold (its bytes are read as Latin-1), so that escaping the text keeps only the codes bootgen put there.
_MARKERS = {name: chr(0xE000 + i) for i, name in enumerate(_COLORS)}


def _instruction_lines(result: Result) -> list[str]:
    lines = []
    for insn in (Insn.VMXON, Insn.VMXOFF):
        record = result.report.boot_cpu.instruction(insn)
        if record is None:
            continue
        extra = ""
        if record.vector is not None:
            extra = f", exception vector {record.vector}"
        elif record.insn_error is not None:
            extra = f", VM-instruction error {record.insn_error}"
        lines.append(f"{insn.upper()}: {record.outcome} (CF={record.cf} ZF={record.zf}{extra})")
    return lines


def _guest_lines(guest: dict, svm: bool) -> list[str]:
    trace = ", ".join(f"{e['name']} at {e['rip']:#x}" for e in guest["exits"] if e["rip"] is not None)
    call = "VMMCALL" if svm else "VMCALL"
    lines = [f"guest:   exits {trace or 'none'}"
             + (f"; {call} value {guest['vmcall_value']:#x}" if guest["vmcall_value"] is not None else "")]
    if svm and "nested_paging" in guest:
        lines.append(f"         nested paging {'used' if guest['nested_paging'] else 'not used'}, next RIP "
                     f"{'saved by the CPU' if guest['nrip_save'] else 'from the instruction lengths (no NRIP save)'}")
    if svm and (fault := guest.get("vmrun_fault")):
        lines.append(f"         VMRUN raised vector {fault['vector']}")
    if launch := guest.get("launch_failure"):
        lines.append(f"         {launch['insn']} {launch['outcome']}"
                     + (f": error {launch['instruction_error']} ({launch['instruction_error_name']})"
                        if launch["instruction_error"] else ""))
    if failure := guest.get("entry_failure"):
        lines.append(f"         VM entry failed: reason {failure['reason']} ({failure['name']}), "
                     + (f"qualification {failure['qualification']:#x}"
                        if isinstance(failure["qualification"], int) else "no qualification"))
    return lines


def _svm_lines(cpu) -> list[str]:
    lines = []
    if (cr := vm_cr(cpu)) is not None:
        lines.append("VM_CR:   absent (RDMSR raised #GP): no firmware lock" if cr["absent"] else
                     f"VM_CR:   {cr['value']:#x} (SVMDIS {int(cr['svmdis'])}, LOCK {int(cr['lock'])})"
                     + (f" -> {cr['state']}" if cr.get("state") else ""))
    if (svme := efer_svme(cpu)) is not None:
        lines.append(f"EFER.SVME: {int(svme)} when the stub checked it")
    return lines


def _fact_lines(result: Result) -> list[str]:
    facts, report = result.facts, result.report
    identity = facts.identity
    lines = cpu_lines(result)
    boot = ", the boot CPU" if len(result.cpus) > 1 else ""
    lines.append(f"cpu:     {identity.name or 'unknown'}"
                 + (f" (family {identity.family:#x} model {identity.model:#x} stepping {identity.stepping}{boot})"
                    if identity.family is not None else f" ({boot[2:]})" if boot else ""))
    if identity.hypervisor:
        lines.append(f"         running under a hypervisor ({identity.hypervisor_vendor or 'unknown vendor'})")
    if fc := facts.feature_control:
        lines.append(f"IA32_FEATURE_CONTROL: {fc['loader']['value']} -> {fc.get('state')}")
    if basic := facts.vmx_basic:
        lines.append(f"IA32_VMX_BASIC: revision {basic.revision:#x}, region {basic.region_size} bytes, "
                     f"memory type {basic.memory_type_name}, true controls {'yes' if basic.true_controls else 'no'}"
                     f"{', 32-bit addresses only' if basic.addr32 else ''}")
    lines += _instruction_lines(result)
    if facts.technology == "svm":
        lines += _svm_lines(report.boot_cpu)
    if facts.guest is not None:
        lines += _guest_lines(facts.guest, facts.technology == "svm")
    for check in report.boot_cpu.checks:
        if check.result in (CheckResult.FAIL, CheckResult.ADJUST):
            lines.append(f"check {check.name}: {check.result}" + (f" -- {check.text}" if check.text else ""))
    if (nmis := report.boot_cpu.nmis) and (nmis.host or nmis.guest):
        lines.append(f"NMIs:    {nmis.host or 0} in the stub, {nmis.guest or 0} during the guest (recorded, "
                     "and the run went on)")
    for warning in report.warnings:
        where = f" (CPU {warning.cpu})" if warning.cpu is not None and len(result.cpus) > 1 else ""
        lines.append(f"warning: {warning.what} {warning.option or ''}".rstrip() + where
                     + (f" -- {warning.text}" if warning.text else ""))
    lines.append(f"scope:   {cpu_scope(report)[1]}")
    return lines


def to_text(result: Result, color: bool = False) -> str:
    """Short human summary: the verdict first, then what to do, then the facts behind it."""
    c = _MARKERS if color else dict.fromkeys(_COLORS, "")
    framing = result.report.framing
    tint = c["green"] if result.verdict.ready else c["yellow"] if result.verdict is Verdict.NO_VERDICT else c["red"]
    lines = [f"{c['bold']}{tint}verdict: {result.verdict.value}{c['reset']}  {result.reason}"]
    advice = advise(result)
    if advice:
        lines.append("what to do:")
        lines.extend(f"  - {line}" for line in advice)
    if result.outcome is not None:
        o = result.outcome
        # The detail once: where the verdict's reason already quotes it (an emulator that crashed), not again here.
        detail = o.detail if o.detail and o.detail not in result.reason else ""
        lines.append(f"run:     {o.backend}, ended by {o.ending.value}"
                     f"{' (' + detail + ')' if detail else ''} after {o.elapsed_s:.2f} s")
    if framing.found_begin:
        lines += _fact_lines(result)
    if not framing.complete and framing.problem:
        lines.append(f"report:  {framing.problem}")
    if framing.found_begin:
        if result.facts.technology == "svm":
            lines.extend(svm_text_lines(result.facts.svm_capabilities, bold=c["bold"], reset=c["reset"]))
        else:
            lines.extend(to_text_lines(result.facts.capabilities, bold=c["bold"], reset=c["reset"]))
    text = escape.lines("\n".join(lines), keep="".join(_MARKERS.values()))
    for name, marker in _MARKERS.items():
        text = text.replace(marker, _COLORS[name])
    return text
