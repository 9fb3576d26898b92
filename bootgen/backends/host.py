"""Facts about the machine running bootgen: tools, KVM, nested virtualization, firmware, Python modules.

One set of probes for ``bootgen doctor``, the backend choice and the tests. A
:class:`Host` reads absolute paths below its ``root`` and asks its ``which``,
``access`` and module/Bochs probes, so tests can give it a temporary root and
fakes.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..arch import svm
from ..errors import ToolMissing
from .firmware import Ovmf, find_ovmf

#: The KVM module's "nested" parameter, per virtualization flag of the host CPU.
NESTED_PARAMETERS = {
    "vmx": Path("/sys/module/kvm_intel/parameters/nested"),
    "svm": Path("/sys/module/kvm_amd/parameters/nested"),
}
KVM_MODULES = {"vmx": "kvm_intel", "svm": "kvm_amd"}
KVM_DEVICE = Path("/dev/kvm")
CPUINFO = Path("/proc/cpuinfo")


#: How long the KVM trial guest must run without an error to count as working.
KVM_TRIAL_SECONDS = 1.0


def _kvm_guest_trial() -> str | None:
    """Start a real KVM guest (QEMU, -cpu host, SeaBIOS, no disk) for about a second: None when it ran,
    else QEMU's first error line. Only the guest started here is stopped, by its PID."""
    import tempfile
    import time

    from .process import EmulatorProcess

    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        return "qemu-system-x86_64 is not installed"
    with tempfile.TemporaryDirectory(prefix="bootgen-kvm-trial-") as tmp:
        stderr = Path(tmp) / "stderr"
        cmd = [qemu, "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-accel", "kvm",
               "-cpu", "host", "-m", "32"]
        try:
            proc = EmulatorProcess.start(cmd, stderr=stderr)
        except OSError as exc:
            return f"cannot start {qemu}: {exc.strerror}"
        with proc:
            deadline = time.monotonic() + KVM_TRIAL_SECONDS
            while time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.05)
            status = proc.poll()
            proc.stop()
        lines = [line.strip() for line in stderr.read_text(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "assert" in line.lower()]
    if errors:
        return errors[0]
    if status is not None:
        return f"QEMU exited with status {status} within {KVM_TRIAL_SECONDS:g} s" + (f": {lines[0]}" if lines else "")
    return None


def _stub_sources() -> Path | None:
    """Where the stub's sources are (a checkout or the installed copy), or None."""
    from ..errors import BuildError
    from ..locations import source_root

    try:
        return source_root()
    except BuildError:
        return None


def _distributions() -> set[str]:
    """The installed Python distributions' names, normalized (importlib.metadata)."""
    from importlib import metadata
    return {re.sub(r"[-_.]+", "-", d.metadata["Name"] or "").lower() for d in metadata.distributions()}  # PEP 503


def _can_import(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _bochs_unavailable() -> str | None:
    from .bochs.install import find_installation
    try:
        find_installation()
    except ToolMissing as exc:
        return str(exc)
    return None


def _bochs_models() -> list[str]:
    from .bochs.install import list_cpu_models
    return list_cpu_models()


@dataclass(frozen=True)
class Host:
    """The machine's probes. Absolute paths are read below ``root``."""

    root: Path = Path("/")
    which: Callable[[str], str | None] = shutil.which
    access: Callable[[Path, int], bool] = os.access
    can_import: Callable[[str], bool] = _can_import
    bochs_unavailable: Callable[[], str | None] = _bochs_unavailable
    bochs_models: Callable[[], list[str]] = field(default=_bochs_models)
    kvm_guest_trial: Callable[[], str | None] = field(default=_kvm_guest_trial)
    stub_sources: Callable[[], Path | None] = field(default=_stub_sources)
    distributions: Callable[[], set[str]] = field(default=_distributions)

    def path(self, absolute: Path | str) -> Path:
        return self.root / str(absolute).lstrip("/")

    def cpu_flags(self) -> set[str]:
        """The host CPU's flags from /proc/cpuinfo (empty when unreadable)."""
        try:
            for line in self.path(CPUINFO).read_text().splitlines():
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
        except OSError:
            pass
        return set()

    def cpu_vendor(self) -> str | None:
        """The host CPU's vendor string from /proc/cpuinfo (GenuineIntel, AuthenticAMD, ...)."""
        try:
            for line in self.path(CPUINFO).read_text().splitlines():
                if line.startswith("vendor_id"):
                    return line.partition(":")[2].strip() or None
        except OSError:
            pass
        return None

    def amd_cpu(self) -> bool:
        """An AMD (or Hygon) host CPU: its vendor string says so, or its svm flag."""
        return self.cpu_vendor() in svm.VENDORS or "svm" in self.cpu_flags()

    def virtualization_flag(self) -> str | None:
        """"vmx", "svm" or None: which hardware virtualization the host CPU shows."""
        flags = self.cpu_flags()
        return "vmx" if "vmx" in flags else "svm" if "svm" in flags else None

    def kvm_problem(self) -> str | None:
        """None when /dev/kvm can be opened for reading and writing, else why not."""
        kvm = self.path(KVM_DEVICE)
        if not kvm.exists():
            return f"{KVM_DEVICE} does not exist"
        if not self.access(kvm, os.R_OK | os.W_OK):
            return f"{KVM_DEVICE} is not accessible (add your user to the 'kvm' group)"
        return None

    def kvm_modules(self) -> list[str]:
        """The loaded KVM vendor modules (kvm_intel, kvm_amd, kvm_pvm, ...): /sys/module, which also lists
        built-in ones, else /proc/modules."""
        try:
            return sorted(p.name for p in self.path("/sys/module").iterdir() if p.name.startswith("kvm_"))
        except OSError:
            pass
        try:
            text = self.path("/proc/modules").read_text()
        except OSError:
            return []
        return sorted(line.split()[0] for line in text.splitlines() if line.startswith("kvm_"))

    def group_exists(self, name: str) -> bool:
        """Whether the group exists: /etc/group below the root, and on the real machine NSS too (LDAP, ...)."""
        try:
            if any(line.split(":", 1)[0] == name for line in self.path("/etc/group").read_text().splitlines()):
                return True
        except OSError:
            pass
        if self.root != Path("/"):
            return False
        import grp
        try:
            grp.getgrnam(name)
        except KeyError:
            return False
        return True

    def nested_parameter(self, kind: str) -> str | None:
        """The kvm_intel / kvm_amd ``nested`` parameter's value; None when the module is not loaded."""
        try:
            return self.path(NESTED_PARAMETERS[kind]).read_text().strip()
        except OSError:
            return None

    def nested_enabled(self, kind: str) -> bool:
        return self.nested_parameter(kind) in ("Y", "y", "1")

    def offers_nested_vmx(self) -> bool:
        """A KVM guest with -cpu host will see VT-x: the host has vmx and kvm_intel nested=1."""
        return self.kvm_problem() is None and "vmx" in self.cpu_flags() and self.nested_enabled("vmx")

    def offers_nested_svm(self) -> bool:
        """A KVM guest with -cpu host will see AMD-V: the host has svm and kvm_amd nested=1."""
        return self.kvm_problem() is None and "svm" in self.cpu_flags() and self.nested_enabled("svm")

    def ovmf(self) -> Ovmf | None:
        try:
            return find_ovmf(self.root)
        except ToolMissing:
            return None
