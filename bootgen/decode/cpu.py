"""Who the CPU is, from its CPUID leaves (SDM Vol. 2A, CPUID)."""

from __future__ import annotations

import struct
from dataclasses import asdict, dataclass

from ..arch import registers, svm
from ..arch.bits import bit_named
from ..report.model import CpuReport

#: Vendors whose CPUs have AMD-V (SVM) rather than VT-x.
SVM_VENDORS = svm.VENDORS

_VMX = bit_named(registers.CPUID1_ECX_BITS, "vmx")
_HYPERVISOR = bit_named(registers.CPUID1_ECX_BITS, "hypervisor")


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

    @property
    def name(self) -> str:
        """Vendor and brand string, for people ("" when unknown)."""
        return " ".join(x for x in (self.vendor, self.brand) if x)


def family_model_stepping(eax: int) -> tuple[int, int, int]:
    """CPUID.1:EAX signature (SDM Vol. 2A, CPUID, "Version Information"): display family and model."""
    stepping = eax & 0xF
    model = (eax >> 4) & 0xF
    family = (eax >> 8) & 0xF
    ext_model = (eax >> 16) & 0xF
    ext_family = (eax >> 20) & 0xFF
    display_family = family + ext_family if family == 0xF else family
    display_model = (ext_model << 4) + model if family in (0x6, 0xF) else model
    return display_family, display_model, stepping


def cpu_identity(cpu: CpuReport) -> CpuIdentity:
    vendor = brand = hv_vendor = None
    family = model = stepping = pa_bits = None
    vmx = hypervisor = None
    if (leaf0 := cpu.cpuid_leaf(registers.CPUID_LEAF_VENDOR)) is not None:
        vendor = _regs_text(leaf0.ebx, leaf0.edx, leaf0.ecx)
    if (leaf1 := cpu.cpuid_leaf(registers.CPUID_LEAF_FEATURES)) is not None:
        family, model, stepping = family_model_stepping(leaf1.eax)
        vmx = _VMX.is_set(leaf1.ecx)
        hypervisor = _HYPERVISOR.is_set(leaf1.ecx)
    brand_leaves = [cpu.cpuid_leaf(leaf) for leaf in range(registers.CPUID_LEAF_BRAND_FIRST,
                                                          registers.CPUID_LEAF_BRAND_LAST + 1)]
    if all(leaf is not None for leaf in brand_leaves):
        brand = _regs_text(*(reg for leaf in brand_leaves if leaf for reg in leaf.regs)) or None
    if (leaf_pa := cpu.cpuid_leaf(registers.CPUID_LEAF_ADDRESS_SIZES)) is not None:
        pa_bits = leaf_pa.eax & 0xFF
    if (leaf_hv := cpu.cpuid_leaf(registers.CPUID_LEAF_HYPERVISOR)) is not None:
        hv_vendor = _regs_text(leaf_hv.ebx, leaf_hv.ecx, leaf_hv.edx) or None
    return CpuIdentity(
        vendor=vendor, brand=brand, family=family, model=model, stepping=stepping, vmx=vmx,
        svm_capable_vendor=vendor in SVM_VENDORS,
        hypervisor=hypervisor, hypervisor_vendor=hv_vendor, physical_address_bits=pa_bits,
    )
