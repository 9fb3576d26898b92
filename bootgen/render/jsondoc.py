"""The JSON document (schema ``bootgen-result``, version 1; docs/protocol.md lists every key)."""

from __future__ import annotations

from ..contract.records import CrPhase, Insn, WarningKind
from ..contract.smp import CpuSource
from ..decode.svm import vm_cr
from ..report.model import Boot, CpuReport, Report, VmxInstruction
from ..verdict.advice import advise
from ..verdict.evaluate import CpuResult, Result

JSON_SCHEMA = "bootgen-result"
JSON_SCHEMA_VERSION = 1
#: Protocol version 1 (and cpus=bsp) reports the boot CPU only; the other logical CPUs are not looked at.
CPU_SCOPE = "boot-cpu"
CPU_SCOPE_NOTE = ("only the boot CPU was checked: firmware can set up the other logical CPUs differently, "
                  "and they were not looked at")
#: Protocol version 2 with cpus=all: every CPU the MADT (or the broadcast) found has its section.
CPU_SCOPE_ALL = "every-cpu"
#: ... except those past the stub's limit (its cpu-limit warning): found, not checked.
CPU_SCOPE_LIMITED = "cpu-limit"


def cpu_scope(report: Report) -> tuple[str, str]:
    """Which CPUs the report covers (``cpus_checked.scope``) and a note for people."""
    smp = report.smp
    if smp is None or smp.source == CpuSource.BOOT_ONLY:
        return CPU_SCOPE, CPU_SCOPE_NOTE
    found = "the ACPI MADT lists" if smp.source == CpuSource.MADT else "answered the broadcast INIT-SIPI-SIPI"
    if any(w.what == WarningKind.CPU_LIMIT for w in report.warnings):
        return CPU_SCOPE_LIMITED, (f"{len(report.cpus)} of the logical CPUs that {found} were checked: the rest "
                                   "are past the stub's limit (see the cpu-limit warning)")
    return CPU_SCOPE_ALL, f"every logical CPU that {found} was checked ({len(report.cpus)})"


def _cpu(result: CpuResult) -> dict:
    """One CPU's entry of ``cpus``."""
    facts, ids = result.facts, result.ids
    return {"index": result.index, "apic_id": result.apic_id, "verdict": result.verdict.value,
            "reason": result.reason, "status": result.status, "join_us": result.join_us,
            "end_step": facts.cpu.end_step, "microcode": ids.microcode, "technology": facts.technology,
            "initial_apic_id": ids.initial_apic_id, "x2apic_id": ids.x2apic_id, "signature": ids.signature,
            "feature_control": facts.feature_control, "vm_cr": vm_cr(facts.cpu), "guest": facts.guest,
            "exception": dict(facts.cpu.exception.values) if facts.cpu.exception else None, "detail": result.detail,
            "differences": [d.as_dict() for d in result.differences]}


def _smp(report: Report) -> dict | None:
    """The cpus record and the processors, or null (protocol 1, or a report cut before CPU discovery)."""
    smp = report.smp
    if smp is None:
        return None
    return {"source": smp.source, "count": smp.count, "listed": smp.listed, "apic_mode": smp.apic_mode,
            "boot_apic_id": smp.boot_apic, "madt": smp.madt, "run": smp.run, "tsc_khz": smp.tsc_khz,
            "note": smp.text or None,
            "processors": [{"apic_id": p.apic, "kind": p.kind, "uid": p.uid, "flags": p.flags, "usable": p.usable,
                            "index": p.index} for p in report.processors]}


def _instruction(record: VmxInstruction | None) -> dict | None:
    if record is None:
        return None
    return {"outcome": record.outcome, "cf": record.cf, "zf": record.zf, "vector": record.vector,
            "error_code": record.error_code, "instruction_error": record.insn_error}


def _loader_register(cpu: CpuReport, name: str) -> str | None:
    snapshot = cpu.registers(CrPhase.LOADER)
    return snapshot.raw.get(name) if snapshot else None


def _boot(boot: Boot | None) -> dict | None:
    """How the stub was loaded, from the boot record (multiboot2 adds the RSDP and the EFI system table)."""
    if boot is None:
        return None
    return {"protocol": boot.protocol, "magic": boot.magic, "loader": boot.loader,
            "framebuffer_type": boot.framebuffer_type, "rsdp": boot.rsdp, "rsdp_revision": boot.rsdp_revision,
            "efi_systab": boot.efi_systab}


def to_json(result: Result, extra: dict | None = None) -> dict:
    """The documented JSON document for a result; ``extra`` goes into ``run`` (backend options)."""
    report, facts = result.report, result.facts
    cpu, framing = report.boot_cpu, report.framing
    caps = facts.capabilities
    detail = result.detail
    exception = cpu.exception
    scope, note = cpu_scope(report)
    doc: dict = {
        "schema": JSON_SCHEMA,
        "schema_version": JSON_SCHEMA_VERSION,
        "verdict": result.verdict.value,
        "summary": result.verdict.summary,
        "reason": result.reason,
        "backend": result.outcome.backend if result.outcome else None,
        "protocol": framing.protocol,
        # The failure detail under stable keys (absent keys: null).
        "vector": detail.get("vector"),
        "cf": detail.get("cf"),
        "zf": detail.get("zf"),
        "instruction_error": detail.get("insn_error"),
        "entry_failure_reason": detail.get("entry_failure_reason"),
        "exit_code": detail.get("code"),
        "detail": detail,
        "report": {
            "found": framing.found_begin,
            "complete": framing.complete,
            "problem": framing.problem,
            "protocol": framing.protocol,
            "stub_version": framing.stub_version,
            "records": framing.record_count,
            "restarts": framing.restarts,
        },
        "boot": _boot(report.boot),
        "cpu": facts.identity.as_dict() if framing.found_begin else None,
        "feature_control": facts.feature_control,
        "vmx_basic": facts.vmx_basic.as_dict() if facts.vmx_basic else None,
        "technology": facts.technology if framing.found_begin else None,
        "svm_capabilities": facts.svm_capabilities.as_json() if facts.svm_capabilities else None,
        "vm_cr": vm_cr(cpu),
        "vmcb": vars(cpu.vmcb) if cpu.vmcb else None,
        "cr0": _loader_register(cpu, "cr0"),
        "cr4": _loader_register(cpu, "cr4"),
        "control_registers": {r.phase: {k: v for k, v in r.raw.items() if k != "phase"}
                              for r in cpu.control_registers},
        "vmxon": _instruction(cpu.instruction(Insn.VMXON)),
        "vmxoff": _instruction(cpu.instruction(Insn.VMXOFF)),
        "guest": facts.guest,
        "checks": [{"name": c.name, "result": c.result,
                    **{k: v for k, v in c.raw.items() if k not in ("name", "result")},
                    **({"text": c.text} if c.text else {})} for c in cpu.checks],
        "steps": [{"name": s.name, "state": s.state} for s in cpu.steps],
        "exception": dict(exception.values) if exception else None,
        "nmis": {"host": cpu.nmis.host if cpu.nmis else 0, "guest": cpu.nmis.guest if cpu.nmis else 0},
        "memory_map": [{"what": m.what, "phys": m.phys, "linear": m.linear, "size": m.size, "cache": m.cache,
                        "page_kib": m.page_kib} for m in report.mappings],
        "poweroff": ({"method": report.poweroff.method, "emulator": report.poweroff.emulator}
                     if report.poweroff else None),
        "cpus_checked": {"count": len(report.cpus), "scope": scope, "note": note},
        "cpus": [_cpu(c) for c in result.cpus],
        "smp": _smp(report),
        "warnings": [{"what": w.what, **{k: v for k, v in w.raw.items() if k != "what"}, "text": w.text,
                      **({"cpu": w.cpu} if w.cpu is not None else {})} for w in report.warnings],
        # VMX capabilities (docs/protocol.md): headline names, every control bit, the raw MSRs.
        "capabilities": caps.flat(),
        "vmx_controls": caps.controls_dict(),
        "vmx_msrs": caps.msrs.as_dict(),
        "advice": advise(result),
    }
    if result.outcome is not None:
        o = result.outcome
        doc["run"] = {"backend": o.backend, "ending": o.ending.value, "detail": o.detail,
                      "exit_status": o.exit_status, "elapsed_s": round(o.elapsed_s, 3)}
    if extra:
        doc.setdefault("run", {}).update(extra)
    return doc
