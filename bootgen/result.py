"""From raw serial bytes and the emulator's ending to a verdict the host can trust."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import decode
from .advice import advise
from .capabilities import decode_capabilities, to_text_lines
from .protocol import ParsedReport, parse
from .runners.base import Ending, RunOutcome
from .verdicts import STUB_VERDICTS, Verdict

JSON_SCHEMA = "bootgen-result"
JSON_SCHEMA_VERSION = 1


@dataclass
class Result:
    verdict: Verdict
    reason: str                          # one line: why this verdict
    parsed: ParsedReport
    outcome: RunOutcome | None = None
    detail: dict = field(default_factory=dict)


def _consistency_problem(parsed: ParsedReport, verdict: Verdict) -> str | None:
    """A complete report must also agree with itself before its verdict is believed."""
    if verdict is Verdict.VMX_READY:
        for insn in ("vmxon", "vmxoff"):
            record = parsed.first("vmx", insn=insn)
            if record is None or record.get("outcome") != "success" or record.int("cf") or record.int("zf"):
                return f"verdict vmx-ready without a successful {insn} record"
        config = parsed.first("config")
        if config is not None and config.get("mode") != "vmxon":
            if problem := decode.guest_trace_problem(parsed):
                return f"verdict vmx-ready but {problem}"
    if verdict is Verdict.NO_VMX:
        identity = decode.cpu_identity(parsed)
        if identity.vmx:
            return "verdict no-vmx but CPUID.1:ECX.VMX is 1"
    if verdict is Verdict.VMXON_FAILED and parsed.first("vmx", insn="vmxon") is None \
            and parsed.first("vmx", insn="vmxoff") is None and parsed.first("check", name="vmx-basic") is None:
        return "verdict vmxon-failed without a VMX record"
    return None


def _verdict_detail(record) -> dict:
    detail: dict = {}
    for key, value in record.fields.items():
        if key == "name":
            continue
        try:
            detail[key] = int(value, 0)
        except ValueError:
            detail[key] = value
    if record.text:
        detail["text"] = record.text
    return detail


def _no_verdict_reason(parsed: ParsedReport, outcome: RunOutcome | None) -> str:
    ending = outcome.ending if outcome else None
    if ending is Ending.TRIPLE_FAULT:
        return f"the machine reset (triple fault) {'after' if parsed.found_begin else 'before'} the report began"
    if ending is Ending.TIMEOUT:
        return f"timed out: {parsed.problem or 'no end of report'}"
    if ending is Ending.EMULATOR_CRASH:
        return f"the emulator crashed: {outcome.detail if outcome else ''}".rstrip(": ")
    if ending is Ending.EMULATOR_EXIT and outcome is not None:
        return f"the emulator exited ({outcome.detail}): {parsed.problem}"
    return parsed.problem or "no verdict"


def evaluate(serial: bytes, outcome: RunOutcome | None = None) -> Result:
    """Decide the verdict. Only a complete, self-consistent report yields a stub verdict."""
    parsed = parse(serial)
    record = parsed.verdict
    if record is not None:
        name = record.get("name", "")
        if name not in STUB_VERDICTS:
            return Result(Verdict.NO_VERDICT, f"unknown verdict name {name!r}", parsed, outcome)
        verdict = Verdict(name)
        problem = _consistency_problem(parsed, verdict)
        if problem:
            return Result(Verdict.NO_VERDICT, f"inconsistent report: {problem}", parsed, outcome)
        reason = record.text or verdict.summary
        return Result(verdict, reason, parsed, outcome, _verdict_detail(record))
    return Result(Verdict.NO_VERDICT, _no_verdict_reason(parsed, outcome), parsed, outcome,
                  {"ending": outcome.ending.value if outcome else None})


def to_json(result: Result, extra: dict | None = None) -> dict:
    """The documented JSON document (schema bootgen-result, version 1; see docs/report-format.md)."""
    parsed = result.parsed
    identity = decode.cpu_identity(parsed) if parsed.found_begin else None
    basic = decode.vmx_basic(parsed)
    exception = parsed.first("exception")
    detail = result.detail
    caps = decode_capabilities(parsed)
    doc: dict = {
        "schema": JSON_SCHEMA,
        "schema_version": JSON_SCHEMA_VERSION,
        "verdict": result.verdict.value,
        "summary": result.verdict.summary,
        "reason": result.reason,
        "backend": result.outcome.backend if result.outcome else None,
        "protocol": parsed.protocol,
        # The failure detail under stable keys (absent keys: null).
        "vector": detail.get("vector"),
        "cf": detail.get("cf"),
        "zf": detail.get("zf"),
        "instruction_error": detail.get("insn_error"),
        "entry_failure_reason": detail.get("entry_failure_reason"),
        "detail": detail,
        "report": {
            "found": parsed.found_begin,
            "complete": parsed.complete,
            "problem": parsed.problem,
            "protocol": parsed.protocol,
            "stub_version": parsed.stub_version,
            "records": len(parsed.records),
            "restarts": max(parsed.begin_count - 1, 0),
        },
        "cpu": identity.as_dict() if identity else None,
        "feature_control": decode.feature_control(parsed),
        "vmx_basic": basic.as_dict() if basic else None,
        "cr0": _cr(parsed, "loader", "cr0"),
        "cr4": _cr(parsed, "loader", "cr4"),
        "control_registers": {r.get("phase"): {k: v for k, v in r.fields.items() if k != "phase"}
                              for r in parsed.of_type("cr")},
        "vmxon": decode.vmx_instruction(parsed, "vmxon"),
        "vmxoff": decode.vmx_instruction(parsed, "vmxoff"),
        "guest": decode.guest(parsed),
        "checks": [{"name": r.get("name"), "result": r.get("result"),
                    **{k: v for k, v in r.fields.items() if k not in ("name", "result")},
                    **({"text": r.text} if r.text else {})} for r in parsed.of_type("check")],
        "steps": [{"name": r.get("name"), "state": r.get("state")} for r in parsed.of_type("step")],
        "exception": ({k: (v if k in ("mnemonic", "step") or exception.int(k) is None else exception.int(k))
                       for k, v in exception.fields.items()} if exception else None),
        "warnings": [{"what": r.get("what"), **{k: v for k, v in r.fields.items() if k != "what"}}
                     for r in parsed.of_type("warning")],
        # VMX capabilities (docs/protocol.md): headline names, every control bit, the raw MSRs.
        "capabilities": caps.flat(),
        "vmx_controls": caps.controls_dict(),
        "vmx_msrs": caps.msrs.as_dict(),
        "advice": advise(result, caps),
    }
    if result.outcome is not None:
        o = result.outcome
        doc["run"] = {"backend": o.backend, "ending": o.ending.value, "detail": o.detail,
                      "exit_status": o.exit_status, "elapsed_s": round(o.elapsed_s, 3)}
    if extra:
        doc.setdefault("run", {}).update(extra)
    return doc


def _cr(parsed: ParsedReport, phase: str, name: str) -> str | None:
    record = parsed.first("cr", phase=phase)
    return record.get(name) if record else None


def to_text(result: Result, color: bool = False) -> str:
    """Short human summary: the verdict first, then the facts behind it."""
    parsed = result.parsed
    green, red, yellow, bold, reset = ("\033[32m", "\033[31m", "\033[33m", "\033[1m", "\033[0m") if color else ("",) * 5
    tint = green if result.verdict is Verdict.VMX_READY else yellow if result.verdict is Verdict.NO_VERDICT else red
    lines = [f"{bold}{tint}verdict: {result.verdict.value}{reset}  {result.reason}"]
    caps = decode_capabilities(parsed)
    advice = advise(result, caps)
    if advice:
        lines.append("what to do:")
        lines.extend(f"  - {line}" for line in advice)
    if result.outcome is not None:
        o = result.outcome
        lines.append(f"run:     {o.backend}, ended by {o.ending.value}"
                     f"{' (' + o.detail + ')' if o.detail else ''} after {o.elapsed_s:.2f} s")
    if parsed.found_begin:
        identity = decode.cpu_identity(parsed)
        cpu = " ".join(x for x in (identity.vendor, identity.brand) if x)
        lines.append(f"cpu:     {cpu or 'unknown'}"
                     + (f" (family {identity.family:#x} model {identity.model:#x} stepping {identity.stepping})"
                        if identity.family is not None else ""))
        if identity.hypervisor:
            lines.append(f"         running under a hypervisor ({identity.hypervisor_vendor or 'unknown vendor'})")
        fc = decode.feature_control(parsed)
        if fc:
            lines.append(f"IA32_FEATURE_CONTROL: {fc['loader']['value']} -> {fc.get('state')}")
        basic = decode.vmx_basic(parsed)
        if basic:
            lines.append(f"IA32_VMX_BASIC: revision {basic.revision:#x}, region {basic.region_size} bytes, "
                         f"memory type {basic.memory_type_name}, true controls {'yes' if basic.true_controls else 'no'}"
                         f"{', 32-bit addresses only' if basic.addr32 else ''}")
        for insn in ("vmxon", "vmxoff"):
            info = decode.vmx_instruction(parsed, insn)
            if info:
                extra = ""
                if info["vector"] is not None:
                    extra = f", exception vector {info['vector']}"
                elif info["instruction_error"] is not None:
                    extra = f", VM-instruction error {info['instruction_error']}"
                lines.append(f"{insn.upper()}: {info['outcome']} (CF={info['cf']} ZF={info['zf']}{extra})")
        if (guest := decode.guest(parsed)) is not None:
            trace = ", ".join(f"{e['name']} at {e['rip']:#x}" for e in guest["exits"] if e["rip"] is not None)
            lines.append(f"guest:   exits {trace or 'none'}"
                         + (f"; VMCALL value {guest['vmcall_value']:#x}" if guest["vmcall_value"] is not None else ""))
            if launch := guest.get("launch_failure"):
                lines.append(f"         {launch['insn']} {launch['outcome']}"
                             + (f": error {launch['instruction_error']} ({launch['instruction_error_name']})"
                                if launch["instruction_error"] else ""))
            if failure := guest.get("entry_failure"):
                lines.append(f"         VM entry failed: reason {failure['reason']} ({failure['name']}), "
                             + (f"qualification {failure['qualification']:#x}"
                                if isinstance(failure["qualification"], int) else "no qualification"))
        for check in parsed.of_type("check"):
            if check.get("result") in ("fail", "adjust"):
                lines.append(f"check {check.get('name')}: {check.get('result')}"
                             + (f" -- {check.text}" if check.text else ""))
        for warning in parsed.of_type("warning"):
            lines.append(f"warning: {warning.get('what')} {warning.get('option', '')}".rstrip())
    if not parsed.complete and parsed.problem:
        lines.append(f"report:  {parsed.problem}")
    if parsed.found_begin:
        lines.extend(to_text_lines(caps, bold=bold, reset=reset))
    return "\n".join(lines)
