"""A CPU model an emulator offers, and which hardware-virtualization technology it gives its guest."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CpuModel:
    """One model as its emulator describes it; None: the emulator did not say."""

    backend: str                      # qemu | bochs
    name: str
    vendor: str | None
    vmx: bool | None                  # Intel VT-x (CPUID.1:ECX.VMX)
    svm: bool | None                  # AMD-V (CPUID.80000001h:ECX.SVM)
    nested_paging: bool | None        # EPT with VT-x, NPT with AMD-V
    alias_of: str | None = None
    deprecated: bool = False
    default: bool = False             # what a run uses when no model is given
    source: str = ""                  # where the facts come from

    @property
    def technology(self) -> str:
        """``VT-x``, ``AMD-V``, ``none``, or ``unknown``; nested paging in brackets where known to be there."""
        if self.vmx is None and self.svm is None:
            return "unknown"
        name = "VT-x" if self.vmx else "AMD-V" if self.svm else "none"
        if name != "none" and self.nested_paging:
            name += " (EPT)" if self.vmx else " (NPT)"
        return name

    def as_json(self) -> dict:
        return {"backend": self.backend, "name": self.name, "vendor": self.vendor, "technology": self.technology,
                "vmx": self.vmx, "svm": self.svm, "nested_paging": self.nested_paging, "alias_of": self.alias_of,
                "deprecated": self.deprecated, "default": self.default, "source": self.source}
