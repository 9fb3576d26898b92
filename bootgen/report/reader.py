"""From serial bytes to the typed report: the one place that reads record strings.

``read(serial)`` frames the report (``wire.parse``) and builds the
:class:`~bootgen.report.model.Report` from its records, following the schema in
``bootgen.contract.records``; in protocol 2 each record goes to the CPU whose
section holds it (``sections``). It never raises: a malformed number becomes
None, a record of an unknown type is counted and skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from ..contract.records import Key, Rec, YesNo
from . import model
from .sections import Sections
from .wire import ParsedReport, Record, parse, parse_stream

#: Fields whose values are names even when they look like numbers.
_NAME_KEYS = frozenset({Key.MNEMONIC, Key.STEP})


def _number(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text, 0)
    except ValueError:
        return None


def _values(record: Record, skip: tuple[str, ...] = ()) -> dict[str, int | str]:
    """Every field but ``skip``: numbers parsed, anything else (or a name field) as written."""
    out: dict[str, int | str] = {}
    for key, value in record.fields.items():
        if key in skip:
            continue
        number = None if key in _NAME_KEYS else _number(value)
        out[key] = number if number is not None else value
    return out


def _n(record: Record, key: Key) -> int | None:
    return _number(record.fields.get(key))


def _s(record: Record, key: Key) -> str | None:
    return record.fields.get(key)


def _yes(record: Record, key: Key) -> bool | None:
    value = _s(record, key)
    return None if value is None else value == YesNo.YES


def _framing(parsed: ParsedReport) -> model.Framing:
    return model.Framing(found_begin=parsed.found_begin, complete=parsed.complete, problem=parsed.problem,
                         protocol=parsed.protocol, stub_version=parsed.stub_version,
                         record_count=len(parsed.records), begin_count=parsed.begin_count,
                         preamble=parsed.preamble)


def _section(cpu: model.CpuReport) -> int | None:
    """The index of the section a record is in (None: outside every section)."""
    return cpu.index if cpu.began and not cpu.ended else None


def _first(owner: object, attribute: str, value: object) -> None:
    """Keep the first record of a type that appears once per report (or per CPU)."""
    if getattr(owner, attribute) is None:
        setattr(owner, attribute, value)


def _add_cpuid(report: model.Report, cpu: model.CpuReport, r: Record) -> None:
    leaf = _n(r, Key.LEAF)
    if leaf is None:
        return
    regs = [_n(r, k) or 0 for k in (Key.EAX, Key.EBX, Key.ECX, Key.EDX)]
    cpu.cpuid.append(model.CpuidLeaf(leaf, _n(r, Key.SUBLEAF) or 0, *regs))


def _add_msr(report: model.Report, cpu: model.CpuReport, r: Record) -> None:
    index = _n(r, Key.INDEX)
    if index is not None:
        cpu.msrs.append(model.MsrRead(index, _n(r, Key.VALUE), _n(r, Key.FAULT), _s(r, Key.PHASE)))


def _add_region(report: model.Report, cpu: model.CpuReport, r: Record) -> None:
    region = model.Region(_n(r, Key.ADDRESS), _n(r, Key.REVISION), _n(r, Key.SIZE))
    if r.type == Rec.VMXON_REGION and cpu.vmxon_region is None:
        cpu.vmxon_region = region
    elif r.type == Rec.VMCS_REGION and cpu.vmcs_region is None:
        cpu.vmcs_region = region


def _add_cpus(report: model.Report, cpu: model.CpuReport, r: Record) -> None:
    if report.smp is not None:
        report.section_problems.append("more than one cpus record")
        return
    report.smp = model.Cpus(_s(r, Key.SOURCE), _n(r, Key.COUNT), _n(r, Key.LISTED), _s(r, Key.APIC_MODE),
                            _n(r, Key.APIC), _n(r, Key.MADT), _s(r, Key.RUN), _n(r, Key.TSC_KHZ), r.text,
                            dict(r.fields))


def _add_verdict(report: model.Report, cpu: model.CpuReport, r: Record) -> None:
    cpu.verdicts.append(model.StubVerdict(_s(r, Key.NAME), _values(r, (Key.NAME,)), r.text))


_Builder = Callable[[model.Report, model.CpuReport, Record], None]

_BUILDERS: dict[str, _Builder] = {
    Rec.BOOT: lambda rep, cpu, r: _first(rep, "boot", model.Boot(
        _n(r, Key.MAGIC), _n(r, Key.MBI_FLAGS), _s(r, Key.LOADER), _n(r, Key.FRAMEBUFFER_TYPE), dict(r.fields),
        _s(r, Key.PROTOCOL), _n(r, Key.RSDP), _n(r, Key.RSDP_REVISION), _n(r, Key.EFI_SYSTAB))),
    Rec.CONFIG: lambda rep, cpu, r: _first(rep, "config", model.Config(
        _n(r, Key.SERIAL), _s(r, Key.SCREEN), _s(r, Key.INJECT), _s(r, Key.MODE), dict(r.fields),
        _s(r, Key.CPUS), _n(r, Key.INJECT_CPU))),
    Rec.WARNING: lambda rep, cpu, r: rep.warnings.append(model.Warning(
        _s(r, Key.WHAT), _s(r, Key.OPTION), r.text, dict(r.fields), _section(cpu))),
    Rec.CR: lambda rep, cpu, r: cpu.control_registers.append(model.CrSnapshot(
        _s(r, Key.PHASE), _n(r, Key.CR0), _n(r, Key.CR3), _n(r, Key.CR4), _n(r, Key.EFER), dict(r.fields))),
    Rec.STEP: lambda rep, cpu, r: cpu.steps.append(model.Step(_s(r, Key.NAME), _s(r, Key.STATE))),
    Rec.CPUID: _add_cpuid,
    Rec.MSR: _add_msr,
    Rec.MSR_WRITE: lambda rep, cpu, r: cpu.msr_writes.append(model.MsrWrite(
        _n(r, Key.INDEX), _n(r, Key.VALUE), _n(r, Key.FAULT))),
    Rec.CHECK: lambda rep, cpu, r: cpu.checks.append(model.CheckResult(
        _s(r, Key.NAME), _s(r, Key.RESULT), _values(r, (Key.NAME, Key.RESULT)), r.text, dict(r.fields))),
    Rec.VMXON_REGION: _add_region,
    Rec.VMCS_REGION: _add_region,
    Rec.VMX: lambda rep, cpu, r: cpu.vmx.append(model.VmxInstruction(
        _s(r, Key.INSN), _s(r, Key.OUTCOME), _n(r, Key.CF), _n(r, Key.ZF), _n(r, Key.VECTOR), _n(r, Key.ERROR_CODE),
        _n(r, Key.INSN_ERROR), _n(r, Key.EFLAGS), _n(r, Key.FIELD), dict(r.fields),
        cpu.steps[-1].name if cpu.steps else None)),
    Rec.CONTROLS: lambda rep, cpu, r: cpu.controls.append(model.ControlWord(
        _s(r, Key.NAME), _n(r, Key.MSR), _n(r, Key.FAULT), _n(r, Key.WANTED), _n(r, Key.ALLOWED0),
        _n(r, Key.ALLOWED1), _n(r, Key.VALUE), _n(r, Key.REFUSED), dict(r.fields))),
    Rec.GUEST: lambda rep, cpu, r: _first(cpu, "guest", model.GuestSetup(
        _n(r, Key.ENTRY), _n(r, Key.STACK), _n(r, Key.HOST_RIP))),
    Rec.EXIT: lambda rep, cpu, r: cpu.exits.append(model.VmExit(
        _n(r, Key.N), _n(r, Key.REASON), _n(r, Key.QUALIFICATION), _n(r, Key.RIP), _n(r, Key.LENGTH))),
    Rec.VMCALL: lambda rep, cpu, r: cpu.vmcall_values.append(_n(r, Key.VALUE)),
    Rec.ENTRY_FAILURE: lambda rep, cpu, r: _first(cpu, "entry_failure", model.EntryFailure(
        _n(r, Key.REASON), _n(r, Key.EXIT_REASON), _n(r, Key.QUALIFICATION))),
    Rec.GUEST_TRACE: lambda rep, cpu, r: _first(cpu, "guest_trace", model.GuestTrace(
        _n(r, Key.EXITS), _s(r, Key.EXPECTED) == YesNo.YES, _n(r, Key.VMCALL_VALUE))),
    Rec.EXCEPTION: lambda rep, cpu, r: cpu.exceptions.append(model.ExceptionReport(_values(r))),
    Rec.NMI: lambda rep, cpu, r: _first(cpu, "nmis", model.Nmis(_n(r, Key.HOST), _n(r, Key.GUEST))),
    Rec.POWEROFF: lambda rep, cpu, r: _first(rep, "poweroff", model.PowerOff(_s(r, Key.METHOD),
                                                                             _s(r, Key.EMULATOR))),
    Rec.MAP: lambda rep, cpu, r: rep.mappings.append(model.MemoryMapping(
        _s(r, Key.WHAT), _n(r, Key.PHYS), _n(r, Key.LINEAR), _n(r, Key.SIZE), _s(r, Key.CACHE), _n(r, Key.PAGE))),
    Rec.VERDICT: _add_verdict,
    Rec.SVM: lambda rep, cpu, r: cpu.svm_instructions.append(model.VmxInstruction(
        _s(r, Key.INSN), _s(r, Key.OUTCOME), None, None, _n(r, Key.VECTOR), _n(r, Key.ERROR_CODE), None, None, None,
        dict(r.fields), cpu.steps[-1].name if cpu.steps else None)),
    Rec.VMCB: lambda rep, cpu, r: _first(cpu, "vmcb", model.Vmcb(
        _n(r, Key.ADDRESS), _n(r, Key.HSAVE), _n(r, Key.ASID), _n(r, Key.INTERCEPTS), _n(r, Key.EFER),
        _n(r, Key.CR0), _yes(r, Key.NESTED_PAGING), _yes(r, Key.NRIP_SAVE))),
    Rec.SVM_EXIT: lambda rep, cpu, r: cpu.svm_exits.append(model.SvmExit(
        _n(r, Key.N), _n(r, Key.CODE), _n(r, Key.INFO1), _n(r, Key.INFO2), _n(r, Key.RIP), _n(r, Key.NEXT_RIP))),
    Rec.CPUS: _add_cpus,
    Rec.PROCESSOR: lambda rep, cpu, r: rep.processors.append(model.Processor(
        _n(r, Key.APIC), _s(r, Key.KIND), _n(r, Key.UID), _n(r, Key.FLAGS), _yes(r, Key.USABLE), _n(r, Key.INDEX),
        dict(r.fields))),
}


#: Record types a version 1 report does not have (there they are unknown records, as they always were).
_PROTOCOL_2 = frozenset({Rec.CPU, Rec.CPUS, Rec.PROCESSOR})


def build(parsed: ParsedReport) -> model.Report:
    """The typed report for framed wire records."""
    report = model.Report(framing=_framing(parsed))
    sections = Sections(report)  # records outside every section (all of a version 1 report): the boot CPU's
    sectioned = (parsed.protocol or 0) >= 2
    for record in parsed.records:
        if record.type == Rec.CPU and sectioned:
            sections.mark(record)
            continue
        builder = _BUILDERS.get(record.type)
        if builder is None or record.type in _PROTOCOL_2 and not sectioned:
            report.unknown_records += 1
            continue
        builder(report, sections.current, record)
    return report


def read(serial: bytes) -> model.Report:
    """Frame and read the last report in ``serial``."""
    return build(parse(serial))


def read_stream(stream: BinaryIO) -> model.Report:
    """The same for a stream (a log file, standard input), read once in bounded memory."""
    return build(parse_stream(stream))
