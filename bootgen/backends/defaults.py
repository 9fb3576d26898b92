"""Every backend's choices and defaults, in one place: the config dataclasses and the command line use these."""

from __future__ import annotations

BACKENDS = ("qemu", "bochs", "serial", "labgrid", "auto")
DEFAULT_BACKEND = "qemu"

# QEMU
QEMU_BINARY = "qemu-system-x86_64"
QEMU_ACCELS = ("tcg", "kvm")
#: ovmf-secboot: OVMF with Secure Boot enforced and Microsoft's keys enrolled, as most UEFI PCs ship.
QEMU_FIRMWARES = ("seabios", "ovmf", "ovmf-secboot")
QEMU_MEDIA = ("kernel", "cd", "disk")       # kernel: -kernel ELF; cd / disk: boot an ISO
QEMU_CPU = {"tcg": "max", "kvm": "host"}     # the CPU model per accelerator
#: The least guest memory a boot can have: the stub is linked at 16 MiB (linker/stub.ld), and GRUB and the
#: firmware need room of their own.
MIN_MEMORY_MIB = 32
QEMU_MEMORY_MIB = {"seabios": 128, "ovmf": 256, "ovmf-secboot": 256}
QEMU_TIMEOUT_S = {"kernel": 30.0, "cd": 60.0, "disk": 60.0}
#: How long QEMU gets to offer QMP and to accept 'cont'.
QEMU_STARTUP_TIMEOUT_S = 10.0

# Bochs
BOCHS_BINARY = "bochs"
BOCHS_CPU_MODEL = "corei7_sandy_bridge_2600k"
BOCHS_MEMORY_MIB = 64
BOCHS_TIMEOUT_S = 120.0

#: The backends that read a box's console (bootgen's own reader, or labgrid's console drivers).
CONSOLE_BACKENDS = ("serial", "labgrid")
#: A real box over its console: POST, the boot menu and GRUB come first (backends/serial/config.py).
SERIAL_TIMEOUT_S = 300.0
