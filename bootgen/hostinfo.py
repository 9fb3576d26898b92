"""Facts about the machine running bootgen: KVM, nested VMX, and which backend tests VT-x best."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

NESTED_PARAMETERS = {
    "vmx": Path("/sys/module/kvm_intel/parameters/nested"),
    "svm": Path("/sys/module/kvm_amd/parameters/nested"),
}


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def kvm_usable() -> str | None:
    """None when /dev/kvm can be opened for reading and writing, else why not."""
    kvm = Path("/dev/kvm")
    if not kvm.exists():
        return "/dev/kvm does not exist"
    if not os.access(kvm, os.R_OK | os.W_OK):
        return "/dev/kvm is not accessible (add your user to the 'kvm' group)"
    return None


def nested_enabled(kind: str) -> bool:
    """The kvm_intel / kvm_amd 'nested' module parameter is on."""
    try:
        return NESTED_PARAMETERS[kind].read_text().strip() in ("Y", "y", "1")
    except OSError:
        return False


def host_offers_nested_vmx() -> bool:
    """A KVM guest with -cpu host will see VT-x: the host has vmx and kvm_intel nested=1."""
    return kvm_usable() is None and "vmx" in cpu_flags() and nested_enabled("vmx")


@dataclass(frozen=True)
class BackendChoice:
    backend: str        # "qemu" or "bochs"
    accel: str          # "kvm" or "tcg" (QEMU only)
    tested: str         # what CPU the verdict is about, for people


def choose_backend() -> BackendChoice:
    """Real silicon through nested KVM if offered, else Bochs's emulated VT-x, else QEMU TCG."""
    if host_offers_nested_vmx():
        return BackendChoice("qemu", "kvm", "this host's CPU, through KVM with nested VMX")
    if shutil.which("bochs") and shutil.which("grub-mkimage"):
        return BackendChoice("bochs", "tcg", "Bochs's emulated VT-x CPU (the host offers no nested VMX)")
    return BackendChoice("qemu", "tcg", "QEMU's TCG CPU, which has no VT-x (install bochs to see VMXON succeed)")
