"""The QEMU command line: lean (no NIC, no default devices), sandboxed, paused until QMP says 'cont'.

Paths reach QEMU inside comma-separated option strings (``-drive file=...``),
where a comma ends the value: every one is escaped as QEMU requires, by
doubling it (qemu-options: "a comma in a value must be written as ,,").
``-kernel`` takes its path as the whole argument and needs no escaping.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ...contract import ports
from ..firmware import find_ovmf
from .config import QemuConfig

#: seccomp: no obsolete system calls, no privilege changes, no new processes, no scheduler or
#: resource changes (qemu-options, -sandbox).
SANDBOX = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"
#: What a QEMU built without seccomp says about -sandbox.
NO_SANDBOX = "no option group 'sandbox'"
SERIAL_FDSET = 1


def option_value(path: Path | str) -> str:
    """A path as a value inside a QEMU option string."""
    return str(path).replace(",", ",,")


def qemu_command(config: QemuConfig, qmp_fd: int, serial_fd: int, workdir: Path, sandbox: bool = True) -> list[str]:
    cmd = [config.qemu, "-nodefaults", "-no-user-config", "-S", "-no-reboot", "-display", "none", "-vga", "std"]
    if sandbox:
        cmd += ["-sandbox", SANDBOX]
    cmd += [
        "-accel", config.accel, "-cpu", config.cpu_model,
        "-smp", str(config.smp), "-m", str(config.memory_mib),
        # QMP over an inherited socket, the serial port into an inherited file: nothing another
        # process can open.
        "-chardev", f"socket,id=qmp,fd={qmp_fd},server=off",
        "-mon", "chardev=qmp,mode=control",
        "-add-fd", f"fd={serial_fd},set={SERIAL_FDSET},opaque=serial",
        "-chardev", f"file,id=serial0,path=/dev/fdset/{SERIAL_FDSET}",
        "-device", f"isa-serial,chardev=serial0,iobase={config.serial_port:#x},irq=4",
        "-device", f"isa-debug-exit,iobase={ports.QEMU_DEBUG_EXIT_PORT:#x},iosize=0x04",
    ]
    if not config.acpi:
        cmd += ["-machine", "acpi=off"]
    if config.firmware == "ovmf-secboot":
        # The Secure Boot build keeps its variables in SMM-protected flash: q35 with SMM (OVMF README).
        cmd += ["-machine", "q35,smm=on", "-global", "driver=cfi.pflash01,property=secure,value=on"]
    if config.firmware in ("ovmf", "ovmf-secboot"):
        ovmf = find_ovmf(secure_boot=config.firmware == "ovmf-secboot")
        cmd += ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={option_value(ovmf.code)}"]
        if ovmf.vars_template is not None:
            vars_copy = workdir / "ovmf-vars.fd"
            shutil.copyfile(ovmf.vars_template, vars_copy)
            cmd += ["-drive", f"if=pflash,format=raw,unit=1,file={option_value(vars_copy)}"]
    image = option_value(config.image)
    if config.media == "kernel":
        cmd += ["-kernel", str(config.image)]
        if config.append:
            cmd += ["-append", config.append]
    elif config.media == "cd":
        cmd += ["-drive", f"file={image},format=raw,media=cdrom,readonly=on,if=ide,index=2", "-boot", "d"]
    else:
        cmd += ["-drive", f"file={image},format=raw,if=ide,index=0,snapshot=on", "-boot", "c"]
    return cmd
