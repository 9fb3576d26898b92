"""One CPU's report, decoded once: the facts every consumer (verdict, advice, text, JSON, JUnit) reads."""

from __future__ import annotations

from dataclasses import dataclass

from ..report.model import CpuReport
from .capabilities import VmxCapabilities, decode_capabilities
from .cpu import CpuIdentity, cpu_identity
from .guest import guest
from .msr_fields import VmxBasic, feature_control, vmx_basic
from .svm import SvmCapabilities, svm_capabilities, svm_guest, technology


@dataclass(frozen=True)
class CpuFacts:
    cpu: CpuReport
    identity: CpuIdentity
    feature_control: dict | None
    vmx_basic: VmxBasic | None
    capabilities: VmxCapabilities
    guest: dict | None
    technology: str = "vmx"                         # records.Technology: what the stub tested
    svm_capabilities: SvmCapabilities | None = None  # AMD-V: CPUID Fn8000_000A by name


def decode_cpu(cpu: CpuReport) -> CpuFacts:
    tech = technology(cpu)
    return CpuFacts(cpu=cpu, identity=cpu_identity(cpu), feature_control=feature_control(cpu),
                    vmx_basic=vmx_basic(cpu), capabilities=decode_capabilities(cpu),
                    guest=svm_guest(cpu) if tech == "svm" else guest(cpu), technology=tech,
                    svm_capabilities=svm_capabilities(cpu))
