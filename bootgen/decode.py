"""Decode the raw facts in a report: CPUID, IA32_FEATURE_CONTROL, IA32_VMX_BASIC, control registers.

The stub dumps registers; naming bits happens here, where it is easy to test.
"""

from __future__ import annotations

import struct
from dataclasses import asdict, dataclass

from .protocol import ParsedReport, Record

IA32_FEATURE_CONTROL = 0x3A
IA32_VMX_BASIC = 0x480

#: Memory types (SDM Vol. 3A, 12.3 table 12-2; IA32_VMX_BASIC[53:50] uses these encodings).
MEMORY_TYPES = {0: "UC", 1: "WC", 4: "WT", 5: "WP", 6: "WB"}


def _regs_text(*regs: int) -> str:
    raw = b"".join(struct.pack("<I", r & 0xFFFFFFFF) for r in regs)
    return raw.decode("latin-1").replace("\x00", "").strip()


@dataclass(frozen=True)
class CpuIdentity:
    vendor: str | None
    brand: str | None
    family: int | None
    model: int | None
    stepping: int | None
    vmx: bool | None
    svm_capable_vendor: bool
    hypervisor: bool | None
    hypervisor_vendor: str | None
    physical_address_bits: int | None

    def as_dict(self) -> dict:
        return asdict(self)


def _cpuid(report: ParsedReport, leaf: int) -> Record | None:
    for record in report.of_type("cpuid"):
        if record.int("leaf") == leaf and record.int("subleaf", 0) == 0:
            return record
    return None


def _regs(record: Record) -> tuple[int, int, int, int]:
    return tuple(record.int(r, 0) or 0 for r in ("eax", "ebx", "ecx", "edx"))  # type: ignore[return-value]


def family_model_stepping(eax: int) -> tuple[int, int, int]:
    """CPUID.1:EAX signature (SDM Vol. 2A, CPUID, figure 3-6): display family and model."""
    stepping = eax & 0xF
    model = (eax >> 4) & 0xF
    family = (eax >> 8) & 0xF
    ext_model = (eax >> 16) & 0xF
    ext_family = (eax >> 20) & 0xFF
    display_family = family + ext_family if family == 0xF else family
    display_model = (ext_model << 4) + model if family in (0x6, 0xF) else model
    return display_family, display_model, stepping


def cpu_identity(report: ParsedReport) -> CpuIdentity:
    vendor = brand = hv_vendor = None
    family = model = stepping = pa_bits = None
    vmx = hypervisor = None
    if (leaf0 := _cpuid(report, 0)) is not None:
        _, ebx, ecx, edx = _regs(leaf0)
        vendor = _regs_text(ebx, edx, ecx)
    if (leaf1 := _cpuid(report, 1)) is not None:
        eax, _, ecx, _ = _regs(leaf1)
        family, model, stepping = family_model_stepping(eax)
        vmx = bool(ecx & (1 << 5))
        hypervisor = bool(ecx & (1 << 31))
    brand_leaves = [_cpuid(report, leaf) for leaf in (0x80000002, 0x80000003, 0x80000004)]
    if all(r is not None for r in brand_leaves):
        brand = _regs_text(*(reg for r in brand_leaves for reg in _regs(r))) or None  # type: ignore[arg-type]
    if (leaf_pa := _cpuid(report, 0x80000008)) is not None:
        pa_bits = _regs(leaf_pa)[0] & 0xFF
    if (leaf_hv := _cpuid(report, 0x40000000)) is not None:
        _, ebx, ecx, edx = _regs(leaf_hv)
        hv_vendor = _regs_text(ebx, ecx, edx) or None
    return CpuIdentity(
        vendor=vendor, brand=brand, family=family, model=model, stepping=stepping, vmx=vmx,
        svm_capable_vendor=vendor in ("AuthenticAMD", "HygonGenuine"),
        hypervisor=hypervisor, hypervisor_vendor=hv_vendor, physical_address_bits=pa_bits,
    )


@dataclass(frozen=True)
class FeatureControl:
    """IA32_FEATURE_CONTROL (MSR 0x3A; SDM Vol. 3C, 24.7 and Vol. 4, table 2-2)."""

    value: int
    locked: bool
    vmx_inside_smx: bool
    vmx_outside_smx: bool

    @classmethod
    def decode(cls, value: int) -> "FeatureControl":
        return cls(value=value, locked=bool(value & 1), vmx_inside_smx=bool(value & 2),
                   vmx_outside_smx=bool(value & 4))

    def as_dict(self) -> dict:
        return {"value": f"0x{self.value:016x}", "locked": self.locked,
                "vmx_inside_smx": self.vmx_inside_smx, "vmx_outside_smx": self.vmx_outside_smx}


@dataclass(frozen=True)
class VmxBasic:
    """IA32_VMX_BASIC (MSR 0x480; SDM Vol. 3D, A.1)."""

    value: int
    revision: int
    region_size: int
    addr32: bool
    dual_monitor: bool
    memory_type: int
    ins_outs_info: bool
    true_controls: bool
    no_error_code_requirement: bool

    @classmethod
    def decode(cls, value: int) -> "VmxBasic":
        return cls(
            value=value,
            revision=value & 0x7FFFFFFF,
            region_size=(value >> 32) & 0x1FFF,
            addr32=bool(value >> 48 & 1),
            dual_monitor=bool(value >> 49 & 1),
            memory_type=(value >> 50) & 0xF,
            ins_outs_info=bool(value >> 54 & 1),
            true_controls=bool(value >> 55 & 1),
            no_error_code_requirement=bool(value >> 56 & 1),
        )

    @property
    def memory_type_name(self) -> str:
        return MEMORY_TYPES.get(self.memory_type, f"reserved({self.memory_type})")

    def as_dict(self) -> dict:
        out = asdict(self)
        out["value"] = f"0x{self.value:016x}"
        del out["revision"]
        out["revision_id"] = self.revision
        out["memory_type_name"] = self.memory_type_name
        return out


def msr_value(report: ParsedReport, index: int, phase: str | None = None) -> int | None:
    for record in report.of_type("msr"):
        if record.int("index") == index and (phase is None or record.get("phase") == phase) and "value" in record.fields:
            return record.int("value")
    return None


def feature_control(report: ParsedReport) -> dict | None:
    """What the loader handed over, what the stub did, and the state it left."""
    before = msr_value(report, IA32_FEATURE_CONTROL, "loader")
    if before is None:
        return None
    out = {"loader": FeatureControl.decode(before).as_dict()}
    after = msr_value(report, IA32_FEATURE_CONTROL, "after-write")
    if after is not None:
        out["after_write"] = FeatureControl.decode(after).as_dict()
    check = report.first("check", name="feature-control")
    out["state"] = check.get("state") if check else None
    return out


def vmx_basic(report: ParsedReport) -> VmxBasic | None:
    value = msr_value(report, IA32_VMX_BASIC)
    return VmxBasic.decode(value) if value is not None else None


def vmx_instruction(report: ParsedReport, insn: str) -> dict | None:
    record = report.first("vmx", insn=insn)
    if record is None:
        return None
    return {
        "outcome": record.get("outcome"),
        "cf": record.int("cf"),
        "zf": record.int("zf"),
        "vector": record.int("vector"),
        "error_code": record.int("error_code"),
        "instruction_error": record.int("insn_error"),
    }


GUEST_EXPECTED_EXITS = (10, 30, 18, 12)  # CPUID, I/O, VMCALL, HLT: what the stub's guest does
GUEST_VMCALL_VALUE = 0xB007C0DE          # stage/include/guest_abi.h


def guest(report: ParsedReport) -> dict | None:
    """Part 2: the VM-exit trace of the stub's guest, decoded."""
    from .vmx_tables import exit_reason_name, instruction_error_name

    trace = report.first("guest-trace")
    launch = report.first("vmx", insn="vmlaunch") or report.first("vmx", insn="vmresume")
    failure = report.first("entry-failure")
    if trace is None and launch is None and failure is None:
        return None
    exits = [{
        "reason": r.int("reason"),
        "name": exit_reason_name(r.int("reason", 0) or 0),
        "qualification": r.int("qualification"),
        "rip": r.int("rip"),
        "instruction_length": r.int("length"),
    } for r in report.of_type("exit")]
    vmcall = report.first("vmcall")
    out: dict = {
        "exits": exits,
        "vmcall_value": vmcall.int("value") if vmcall else None,
        "expected_trace": bool(trace and trace.get("expected") == "yes"),
    }
    if launch is not None:
        error = launch.int("insn_error")
        out["launch_failure"] = {"insn": launch.get("insn"), "outcome": launch.get("outcome"),
                                 "cf": launch.int("cf"), "zf": launch.int("zf"), "instruction_error": error,
                                 "instruction_error_name": instruction_error_name(error) if error else None}
    if failure is not None:
        reason = failure.int("reason", 0) or 0
        out["entry_failure"] = {"reason": reason, "name": exit_reason_name(reason),
                                "qualification": failure.int("qualification")}
    return out


def guest_trace_problem(report: ParsedReport) -> str | None:
    """Why the guest's exit trace is not the expected one (None when it is)."""
    info = guest(report)
    if info is None:
        return "no guest trace"
    reasons = tuple(e["reason"] for e in info["exits"])
    if reasons != GUEST_EXPECTED_EXITS:
        return f"exit trace {reasons}, expected {GUEST_EXPECTED_EXITS}"
    if info["vmcall_value"] != GUEST_VMCALL_VALUE:
        return f"VMCALL value {info['vmcall_value']!r}, expected {GUEST_VMCALL_VALUE:#x}"
    return None
