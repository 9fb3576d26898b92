"""One CPU's report, decoded once: the facts every consumer (verdict, advice, text, JSON, JUnit) reads."""

from __future__ import annotations

from dataclasses import dataclass

from ..report.model import CpuReport
from .capabilities import VmxCapabilities, decode_capabilities
from .cpu import CpuIdentity, cpu_identity
from .guest import guest
from .msr_fields import VmxBasic, feature_control, vmx_basic


@dataclass(frozen=True)
class CpuFacts:
    cpu: CpuReport
    identity: CpuIdentity
    feature_control: dict | None
    vmx_basic: VmxBasic | None
    capabilities: VmxCapabilities
    guest: dict | None


def decode_cpu(cpu: CpuReport) -> CpuFacts:
    return CpuFacts(cpu=cpu, identity=cpu_identity(cpu), feature_control=feature_control(cpu),
                    vmx_basic=vmx_basic(cpu), capabilities=decode_capabilities(cpu), guest=guest(cpu))
