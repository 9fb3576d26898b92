"""The QEMU command line: lean (no NIC, no default devices), paused until QMP says 'cont'."""

from __future__ import annotations

import shutil
from pathlib import Path

from ...contract import ports
from ..firmware import find_ovmf
from .config import QemuConfig


def qemu_command(config: QemuConfig, qmp_socket: Path, serial_socket: Path, workdir: Path) -> list[str]:
    cmd = [
        config.qemu, "-nodefaults", "-no-user-config", "-S", "-no-reboot",
        "-display", "none", "-vga", "std",
        "-accel", config.accel, "-cpu", config.cpu_model,
        "-smp", str(config.smp), "-m", str(config.memory_mib),
        # QMP: QEMU listens (it waits paused, -S, until told 'cont'); serial: bootgen listens.
        "-chardev", f"socket,id=qmp,path={qmp_socket},server=on,wait=off",
        "-mon", "chardev=qmp,mode=control",
        "-chardev", f"socket,id=serial0,path={serial_socket}",
        "-device", f"isa-serial,chardev=serial0,iobase={config.serial_port:#x},irq=4",
        "-device", f"isa-debug-exit,iobase={ports.QEMU_DEBUG_EXIT_PORT:#x},iosize=0x04",
    ]
    if config.firmware == "ovmf":
        ovmf = find_ovmf()
        cmd += ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={ovmf.code}"]
        if ovmf.vars_template is not None:
            vars_copy = workdir / "ovmf-vars.fd"
            shutil.copyfile(ovmf.vars_template, vars_copy)
            cmd += ["-drive", f"if=pflash,format=raw,unit=1,file={vars_copy}"]
    if config.media == "kernel":
        cmd += ["-kernel", str(config.image)]
        if config.append:
            cmd += ["-append", config.append]
    elif config.media == "cd":
        cmd += ["-drive", f"file={config.image},format=raw,media=cdrom,readonly=on,if=ide,index=2",
                "-boot", "d"]
    else:
        cmd += ["-drive", f"file={config.image},format=raw,if=ide,index=0,snapshot=on", "-boot", "c"]
    return cmd
