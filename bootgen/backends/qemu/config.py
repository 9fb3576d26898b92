"""One QEMU boot, described: the typed configuration and what makes it valid before anything starts."""

from __future__ import annotations

import functools
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ...contract import ports
from ...errors import ToolMissing, UsageError
from .. import defaults
from ..host import Host


@dataclass(frozen=True)
class QemuConfig:
    image: Path
    accel: str = "tcg"
    cpu: str | None = None          # default: defaults.QEMU_CPU[accel]
    smp: int = 1
    memory_mib: int = defaults.QEMU_MEMORY_MIB["seabios"]
    append: str = ""                # multiboot command line (only with media "kernel")
    timeout_s: float = defaults.QEMU_TIMEOUT_S["kernel"]
    serial_port: int = ports.DEFAULT_SERIAL_PORT  # the UART I/O port the stub writes to
    firmware: str = "seabios"
    media: str = "kernel"           # kernel: -kernel ELF; cd / disk: boot an ISO
    qemu: str = defaults.QEMU_BINARY
    acpi: bool = True               # False: no ACPI tables (-machine acpi=off, SeaBIOS): the stub finds no MADT
    nmi_every_s: float | None = None  # send the guest an NMI (QMP inject-nmi) this often while it runs

    @property
    def cpu_model(self) -> str:
        return self.cpu or defaults.QEMU_CPU[self.accel]


def _choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UsageError(f"unknown {what} {value!r} (choose from {', '.join(choices)})")


def validate(config: QemuConfig, host: Host | None = None) -> None:
    """Reject bad configurations before anything is started."""
    _choice("accelerator", config.accel, defaults.QEMU_ACCELS)
    _choice("firmware", config.firmware, defaults.QEMU_FIRMWARES)
    _choice("media", config.media, defaults.QEMU_MEDIA)
    if config.media == "kernel" and config.firmware != "seabios":
        raise UsageError("-kernel boots need SeaBIOS; leave out --media (an ISO is built) or boot an ISO "
                         "(--image X.iso) to use OVMF")
    if config.media != "kernel" and config.append:
        raise UsageError("--append applies to ELF boots; bake it into the ISO with 'bootgen iso --append'")
    if config.memory_mib < defaults.MIN_MEMORY_MIB:
        raise UsageError(f"--memory must be at least {defaults.MIN_MEMORY_MIB} MiB (the stub is loaded at 16 MiB), "
                         f"not {config.memory_mib}")
    if not config.acpi and config.firmware != "seabios":
        raise UsageError("--no-acpi needs SeaBIOS (UEFI firmware always has ACPI tables)")
    if config.nmi_every_s is not None and not config.nmi_every_s > 0:
        raise UsageError("the NMI interval must be a positive number of seconds")
    if not config.image.is_file():
        raise UsageError(f"image not found: {config.image}")
    if shutil.which(config.qemu) is None:
        raise ToolMissing(f"{config.qemu} not found (install Debian's 'qemu-system-x86' package)")
    if config.accel == "kvm" and (why := (host or Host()).kvm_problem()):
        raise ToolMissing(f"KVM is not usable: {why}")
    if config.cpu is not None:
        model = config.cpu.split(",", 1)[0]
        known = cpu_models(config.qemu)
        if known and model not in known:
            raise UsageError(f"unknown QEMU CPU model {model!r} (bootgen models --backend qemu lists them)")


@functools.cache
def cpu_models(qemu: str) -> frozenset[str]:
    """The CPU model names QEMU accepts (``-cpu help``); empty if QEMU cannot list them."""
    try:
        out = subprocess.run([qemu, "-cpu", "help"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return frozenset()
    names = set()
    for line in out.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "x86":
            names.add(words[1])
    return frozenset(names)
