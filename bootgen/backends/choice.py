"""``--backend auto``: real silicon through nested KVM if offered; else, on an AMD host, QEMU TCG's emulated AMD-V;
else Bochs's emulated VT-x; else QEMU TCG."""

from __future__ import annotations

from dataclasses import dataclass

from .host import Host


@dataclass(frozen=True)
class BackendChoice:
    backend: str        # "qemu" or "bochs"
    accel: str          # "kvm" or "tcg" (QEMU only)
    tested: str         # what CPU the verdict is about, for people


def choose_backend(host: Host | None = None, qemu_only: bool = False) -> BackendChoice:
    """The best backend here; ``qemu_only`` when the run asks for what only QEMU does (its options)."""
    host = host or Host()
    if host.offers_nested_vmx():
        return BackendChoice("qemu", "kvm", "this host's CPU, through KVM with nested VMX")
    if host.offers_nested_svm():
        return BackendChoice("qemu", "kvm", "this host's CPU, through KVM with nested SVM")
    if host.amd_cpu():
        return BackendChoice("qemu", "tcg", "QEMU's TCG CPU with its emulated AMD-V (the host offers no nested SVM)")
    if not qemu_only and host.which("bochs") and host.which("grub-mkimage"):
        return BackendChoice("bochs", "tcg", "Bochs's emulated VT-x CPU (the host offers no nested VMX)")
    return BackendChoice("qemu", "tcg", "QEMU's TCG CPU with its emulated AMD-V (install bochs for an emulated "
                                        "VT-x CPU)")
