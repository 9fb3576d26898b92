"""The command line: build, iso, run, report, doctor.

Errors become one line on stderr and an exit status (2: usage, 4: environment
or build failure); a run's status says what the verdict was (see
contract.exit_status.ExitStatus).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from . import signals
from .backends import defaults
from .commands.doctor import cmd_doctor
from .commands.images import cmd_build, cmd_iso
from .commands.matrix import cmd_matrix
from .commands.models import cmd_models
from .commands.report import DEFAULT_MAX_BYTES, cmd_report
from .commands.run import cmd_run
from .contract import ports, project
from .contract.exit_status import SIGNAL_BASE, ExitStatus
from .contract.verdicts import Verdict
from .errors import BootgenError, UsageError
from .locations import DEFAULT_ELF, DEFAULT_ISO
from .render import escape


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line and exits 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def _positive_int(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number: {text}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 < value <= ports.MAX_SERIAL_PORT:
        raise argparse.ArgumentTypeError(f"I/O port out of range: {text}")
    return value


def _verdict(text: str) -> Verdict:
    try:
        return Verdict(text)
    except ValueError:
        names = ", ".join(v.value for v in Verdict)
        raise argparse.ArgumentTypeError(f"unknown verdict {text!r} (choose from {names})") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bootgen", description="Build and boot a bare-metal VT-x readiness probe.")
    parser.add_argument("--version", action="version", version=f"bootgen {project.VERSION}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    b = sub.add_parser("build", help="compile and link the stub (default build/stub.elf)")
    b.add_argument("-o", "--output", type=Path, default=DEFAULT_ELF, help=f"where the ELF goes (default {DEFAULT_ELF})")
    b.add_argument("--append", default="", metavar="ARGS",
                   help=f"default stub command line embedded in the image, e.g. 'serial={ports.COM_PORTS['COM2']:#x}'")

    i = sub.add_parser("iso", help="build a BIOS+UEFI bootable ISO (default build/bootgen.iso)")
    i.add_argument("-o", "--output", type=Path, default=DEFAULT_ISO, help=f"where the ISO goes (default {DEFAULT_ISO})")
    i.add_argument("--image", type=Path, help="stub ELF to package (default: build it)")
    i.add_argument("--append", default="", metavar="ARGS", help="stub command line baked into the ISO")

    r = sub.add_parser("run", help="boot the stub under an emulator and report the verdict")
    r.add_argument("--backend", choices=defaults.BACKENDS, default=defaults.DEFAULT_BACKEND,
                   help=f"default {defaults.DEFAULT_BACKEND}; auto: nested KVM if the host offers VMX, else Bochs, "
                        "else QEMU TCG")
    r.add_argument("--image", type=Path, help="ELF (QEMU -kernel) or ISO; default: build the stub, or an ISO "
                   "for Bochs, --media cd|disk and OVMF")
    r.add_argument("--accel", choices=defaults.QEMU_ACCELS, default=defaults.QEMU_ACCELS[0],
                   help=f"QEMU accelerator (default {defaults.QEMU_ACCELS[0]})")
    r.add_argument("--cpu", metavar="MODEL", help="QEMU CPU model (default " + ", ".join(
        f"{cpu} under {accel.upper()}" for accel, cpu in defaults.QEMU_CPU.items()) + ")")
    r.add_argument("--cpu-model", metavar="MODEL", help=f"Bochs CPU model (default {defaults.BOCHS_CPU_MODEL})")
    r.add_argument("--firmware", choices=defaults.QEMU_FIRMWARES, default=defaults.QEMU_FIRMWARES[0],
                   help=f"QEMU firmware (default {defaults.QEMU_FIRMWARES[0]}; ovmf-secboot: Secure Boot on)")
    r.add_argument("--media", choices=defaults.QEMU_MEDIA, help="how QEMU boots the image "
                   "(default: kernel for an ELF, cd for an ISO or OVMF)")
    r.add_argument("--smp", type=_positive_int, default=1, help="logical CPUs (default 1); the stub checks each")
    r.add_argument("--no-acpi", action="store_true",
                   help="QEMU: no ACPI tables (SeaBIOS), so the stub finds the CPUs by a broadcast INIT-SIPI-SIPI")
    r.add_argument("--memory", type=_positive_int, metavar="MiB",
                   help=f"guest memory (default: QEMU {defaults.QEMU_MEMORY_MIB['seabios']}, "
                        f"{defaults.QEMU_MEMORY_MIB['ovmf']} with OVMF; Bochs {defaults.BOCHS_MEMORY_MIB}; "
                        f"at least {defaults.MIN_MEMORY_MIB})")
    r.add_argument("--append", default="", metavar="ARGS",
                   help="stub command line (for an ISO the run builds, baked into it)")
    r.add_argument("--serial-port", type=_port, metavar="PORT",
                   help=f"UART port the stub writes to (default: from serial= in --append, else "
                        f"{ports.DEFAULT_SERIAL_PORT:#x})")
    r.add_argument("--device", metavar="PATH",
                   help="serial backend: the box's console: a serial device (/dev/ttyUSB0), tcp://HOST:PORT (ser2net, "
                        "a console server, a BMC's Serial-over-LAN), rfc2217://HOST:PORT, or - (standard input)")
    r.add_argument("--baud", type=_positive_int,
                   help="serial backend: the line speed (default 115200; the stub sends 8N1)")
    r.add_argument("--power-cycle", metavar="CMD",
                   help="serial backend: a shell command run once the console is open, to (re)boot the box (a PDU, "
                        "`ipmitool ... chassis power cycle`)")
    r.add_argument("--lg-env", type=Path, metavar="FILE",
                   help="labgrid backend: the labgrid environment file (default $LG_ENV); its target's console and "
                        "power drivers boot and read the box")
    r.add_argument("--lg-target", metavar="NAME",
                   help="labgrid backend: the environment's target (default main)")
    r.add_argument("--timeout", type=_positive_float, metavar="S",
                   help=f"seconds from start to verdict (default: QEMU {defaults.QEMU_TIMEOUT_S['kernel']:g} for "
                        f"-kernel, {defaults.QEMU_TIMEOUT_S['cd']:g} for an ISO; Bochs {defaults.BOCHS_TIMEOUT_S:g}; "
                        f"serial {defaults.SERIAL_TIMEOUT_S:g}; labgrid: the BootgenDriver's, "
                        f"{defaults.SERIAL_TIMEOUT_S:g} unless its environment says)")
    r.add_argument("--expect", type=_verdict, metavar="VERDICT",
                   help="exit 0 only if this verdict is reached")
    r.add_argument("--json", action="store_true", help="print the result as JSON")
    r.add_argument("--quiet", "-q", action="store_true", help="print only the verdict line")
    r.add_argument("--keep-log", type=Path, metavar="PATH", help="save the serial log here")
    r.add_argument("--junit", type=Path, metavar="PATH", help="write a JUnit XML report here")
    r.add_argument("--junit-suite", metavar="NAME", help="JUnit suite name (default: from the backend, the CPU "
                   "model and the options, e.g. bootgen.qemu.max.accel=tcg.firmware=seabios.media=kernel.smp=1)")

    rep = sub.add_parser("report", help="decode a serial log captured elsewhere")
    rep.add_argument("log", help="the captured serial log; - reads standard input")
    rep.add_argument("--max-bytes", type=_positive_int, default=DEFAULT_MAX_BYTES, metavar="N",
                     help=f"refuse a log larger than this (default {DEFAULT_MAX_BYTES})")
    rep.add_argument("--expect", type=_verdict, metavar="VERDICT", help="exit 0 only if this verdict is reached")
    rep.add_argument("--json", action="store_true", help="print the result as JSON")
    rep.add_argument("--quiet", "-q", action="store_true", help="print only the verdict line")
    rep.add_argument("--junit", type=Path, metavar="PATH", help="write a JUnit XML report here")
    rep.add_argument("--junit-suite", metavar="NAME",
                     help="JUnit suite name (default: bootgen.report. and the CPU the report names)")

    mat = sub.add_parser("matrix", help="run every entry of a matrix file (TOML) in parallel against its expected "
                         "verdict")
    mat.add_argument("file", help="a matrix file, or the name of one shipped with bootgen: bochs-models, faults")
    mat.add_argument("-j", "--jobs", type=_positive_int, metavar="N",
                     help="runs at a time (default: the number of cores)")
    mat.add_argument("--junit", type=Path, metavar="PATH", help="write JUnit XML here: one case per entry")
    mat.add_argument("--json", type=Path, metavar="PATH", help="write every run's result as JSON here")
    mat.add_argument("--quiet", "-q", action="store_true", help="print only the count of runs as expected")

    mod = sub.add_parser("models", help="list the CPU models each backend offers and the technology "
                         "(VT-x, AMD-V, none) each gives its guest")
    mod.add_argument("--backend", choices=("all", "qemu", "bochs"), default="all",
                     help="which emulator to ask (default all: each that is installed)")
    mod.add_argument("--accel", choices=defaults.QEMU_ACCELS, default=defaults.QEMU_ACCELS[0],
                     help=f"the QEMU accelerator whose view to show (default {defaults.QEMU_ACCELS[0]})")
    mod.add_argument("--json", action="store_true", help="print the models as JSON")

    doc = sub.add_parser("doctor", help="check that this host has what bootgen needs")
    doc.add_argument("--json", action="store_true", help="print the checks as JSON")
    return parser


COMMANDS = {"build": cmd_build, "iso": cmd_iso, "run": cmd_run, "report": cmd_report, "matrix": cmd_matrix,
            "models": cmd_models, "doctor": cmd_doctor}


def main(argv: list[str] | None = None) -> int:
    """The command line; every failure is one line on stderr and a documented exit status."""
    started = time.monotonic()  # a run's timeout counts from here: start-up is part of the wait
    signals.install()
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
        sys.stderr.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    try:
        parser = build_parser()
        if not (sys.argv[1:] if argv is None else argv):
            parser.print_help(sys.stderr)  # no command: say what there is
            return ExitStatus.USAGE
        args = parser.parse_args(argv)
        args.started = started
        return COMMANDS[args.command](args)
    except BootgenError as exc:
        _say(f"error: {exc}")
        return exc.exit_code
    except signals.Interrupted as exc:
        _say(f"interrupted ({exc.name}): the emulator was stopped and its files removed")
        return SIGNAL_BASE + exc.signum
    except KeyboardInterrupt:
        _say("interrupted")
        return SIGNAL_BASE + signal.SIGINT
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the stdout reader went away
        return SIGNAL_BASE + signal.SIGPIPE
    except Exception as exc:  # a bug: never status 1 (a verdict) and never a traceback
        _say(f"internal error: {type(exc).__name__}: {exc} (a bootgen bug: please report it with the command "
             "line that caused it)")
        return ExitStatus.INTERNAL


def _say(line: str) -> None:
    with contextlib.suppress(OSError):
        print(f"bootgen: {escape.one_line(line)}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
