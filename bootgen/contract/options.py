"""The stub's command line: ``key=value`` words, from the embedded section, then the multiboot command line.

The stub (stage/probe/config.c) and the host (choosing the serial port to
listen on, checking an ``--append`` string) read it by the same grammar:
words separated by spaces or tabs; a word without ``=`` (the image path GRUB
and QEMU put first) is ignored; a later option overrides an earlier one; an
unknown option or value is reported in a ``warning`` record and ignored.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from . import ports
from .injects import Inject
from .smp import CPU_MAX, CpusOption


class Option(enum.StrEnum):
    SERIAL = "serial"
    SCREEN = "screen"
    MODE = "mode"
    INJECT = "inject"
    CPUS = "cpus"
    INJECT_CPU = "inject_cpu"


class Switch(enum.StrEnum):
    ON = "on"
    OFF = "off"


class Mode(enum.StrEnum):
    FULL = "full"     # VMXON, a VMCS and a guest
    VMXON = "vmxon"   # VMXON and VMXOFF only


_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|[0-9]+")


@dataclass(frozen=True)
class OptionSpec:
    values: str       # for people: the grammar of the value
    default: str
    meaning: str


SPECS: dict[Option, OptionSpec] = {
    Option.SERIAL: OptionSpec(
        "PORT | off", f"{ports.DEFAULT_SERIAL_PORT:#x}",
        f"UART I/O port (decimal or 0x-hex, 1-{ports.MAX_SERIAL_PORT:#x}; default COM1), or no serial output"),
    Option.SCREEN: OptionSpec(
        "on | off", Switch.ON,
        "mirror the report on the screen: VGA text mode, or, when the loader hands over an RGB framebuffer "
        "(UEFI: `framebuffer_type=1`), drawn there with an 8x16 font; nothing when the framebuffer lies above "
        "4 GiB"),
    Option.MODE: OptionSpec(
        "full | vmxon", Mode.FULL, "`full`: VMXON, a VMCS and a guest; `vmxon`: VMXON and VMXOFF only"),
    Option.INJECT: OptionSpec(
        "NAME", Inject.NONE, "test only: produce one failure on purpose (see failure-modes.md)"),
    Option.CPUS: OptionSpec(
        "all | bsp", CpusOption.ALL,
        "`all`: find every logical CPU (ACPI MADT), start the APs and check each; `bsp`: the boot CPU only"),
    Option.INJECT_CPU: OptionSpec(
        f"0-{CPU_MAX - 1}", "0", "test only: the CPU (its index in the report) the injection acts on; 0 is the "
                                 "boot CPU"),
}


def words(cmdline: str) -> list[tuple[str, str]]:
    """The ``key=value`` words of a command line, in order (words without '=' skipped)."""
    out = []
    for word in cmdline.replace("\t", " ").split(" "):
        key, eq, value = word.partition("=")
        if eq and key:
            out.append((key, value))
    return out


def parse_port(value: str) -> int | None:
    """A serial port value as the stub accepts it (decimal or 0x-hex, 1..MAX_SERIAL_PORT), else None."""
    if not _NUMBER.fullmatch(value):
        return None
    port = int(value, 0) if value[:2].lower() == "0x" else int(value, 10)
    return port if 0 < port <= ports.MAX_SERIAL_PORT else None


def serial_port(cmdline: str, default: int = ports.DEFAULT_SERIAL_PORT) -> int | None:
    """The port the stub will write to for this command line; None for ``serial=off``.

    As in the stub, an invalid value leaves the previous setting in place.
    """
    port: int | None = default
    for key, value in words(cmdline):
        if key == Option.SERIAL:
            if value == Switch.OFF:
                port = None
            elif (parsed := parse_port(value)) is not None:
                port = parsed
    return port


def mode(cmdline: str) -> Mode | None:
    """The mode the stub will run in for this command line; None when it does not say (the default).

    As in the stub (stage/probe/config.c), the last ``mode=`` wins and any value but ``vmxon`` means full.
    """
    found: Mode | None = None
    for key, value in words(cmdline):
        if key == Option.MODE:
            found = Mode.VMXON if value == Mode.VMXON else Mode.FULL
    return found
