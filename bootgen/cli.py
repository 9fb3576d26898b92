"""The command line: build, iso, run, report, doctor.

Errors become one line on stderr and an exit status (2: usage, 4: environment
or build failure); a run's status says what the verdict was (see
contract.exit_status.ExitStatus).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .backends import defaults
from .contract import options, ports
from .contract.exit_status import ExitStatus
from .contract.verdicts import Verdict
from .errors import BootgenError, UsageError
from .files import write_atomically
from .locations import DEFAULT_BUILD_DIR, DEFAULT_ELF, DEFAULT_ISO, cache_dir


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


def _writable_output(path: Path) -> Path:
    if path.exists() and path.is_dir():
        raise UsageError(f"output path is a directory: {path}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"output directory does not exist: {parent}")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"output directory is not writable: {parent}")
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bootgen", description="Build and boot a bare-metal VT-x readiness probe.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    b = sub.add_parser("build", help="compile and link the stub (default build/stub.elf)")
    b.add_argument("-o", "--output", type=Path, default=DEFAULT_ELF)
    b.add_argument("--append", default="", metavar="ARGS",
                   help=f"default stub command line embedded in the image, e.g. 'serial={ports.COM_PORTS['COM2']:#x}'")

    i = sub.add_parser("iso", help="build a BIOS+UEFI bootable ISO (default build/bootgen.iso)")
    i.add_argument("-o", "--output", type=Path, default=DEFAULT_ISO)
    i.add_argument("--image", type=Path, help="stub ELF to package (default: build it)")
    i.add_argument("--append", default="", metavar="ARGS", help="stub command line baked into the ISO")

    r = sub.add_parser("run", help="boot the stub under an emulator and report the verdict")
    r.add_argument("--backend", choices=defaults.BACKENDS, default=defaults.DEFAULT_BACKEND,
                   help="auto: nested KVM if the host offers VMX, else Bochs, else QEMU TCG")
    r.add_argument("--image", type=Path, help="ELF (QEMU -kernel) or ISO; default: build the stub "
                   "(or the ISO for Bochs)")
    r.add_argument("--accel", choices=defaults.QEMU_ACCELS, default=defaults.QEMU_ACCELS[0], help="QEMU accelerator")
    r.add_argument("--cpu", metavar="MODEL", help="QEMU CPU model (default " + ", ".join(
        f"{cpu} under {accel.upper()}" for accel, cpu in defaults.QEMU_CPU.items()) + ")")
    r.add_argument("--cpu-model", metavar="MODEL", help=f"Bochs CPU model (default {defaults.BOCHS_CPU_MODEL})")
    r.add_argument("--firmware", choices=defaults.QEMU_FIRMWARES, default=defaults.QEMU_FIRMWARES[0])
    r.add_argument("--media", choices=defaults.QEMU_MEDIA, help="how QEMU boots the image "
                   "(default: kernel for an ELF, cd for an ISO)")
    r.add_argument("--smp", type=_positive_int, default=1)
    r.add_argument("--memory", type=_positive_int, metavar="MiB")
    r.add_argument("--append", default="", metavar="ARGS", help="stub command line (ELF boots)")
    r.add_argument("--serial-port", type=_port, metavar="PORT",
                   help=f"UART port the stub writes to (default: from serial= in --append, else "
                        f"{ports.DEFAULT_SERIAL_PORT:#x})")
    r.add_argument("--timeout", type=_positive_float, metavar="S")
    r.add_argument("--expect", type=_verdict, metavar="VERDICT",
                   help="exit 0 only if this verdict is reached")
    r.add_argument("--json", action="store_true", help="print the result as JSON")
    r.add_argument("--keep-log", type=Path, metavar="PATH", help="save the serial log here")
    r.add_argument("--junit", type=Path, metavar="PATH", help="write a JUnit XML report here")

    rep = sub.add_parser("report", help="decode a serial log captured elsewhere")
    rep.add_argument("log", type=Path)
    rep.add_argument("--expect", type=_verdict, metavar="VERDICT")
    rep.add_argument("--json", action="store_true")
    rep.add_argument("--junit", type=Path, metavar="PATH", help="write a JUnit XML report here")

    doc = sub.add_parser("doctor", help="check that this host has what bootgen needs")
    doc.add_argument("--json", action="store_true", help="print the checks as JSON")
    return parser


def _build_default_elf(append: str = "") -> Path:
    from .image.build import BuildConfig, build_stub
    return build_stub(BuildConfig(output=DEFAULT_ELF, build_dir=DEFAULT_BUILD_DIR, cmdline=append,
                                  cache=cache_dir())).path


def _output_file(path: Path) -> Path:
    """An output path: the default build folder is created; any other folder must exist and be writable."""
    if path.parent == DEFAULT_BUILD_DIR:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
    return _writable_output(path)


def cmd_build(args: argparse.Namespace) -> int:
    from .image.build import BuildConfig, build_stub
    output = _output_file(args.output)
    result = build_stub(BuildConfig(output=output, cmdline=args.append, cache=cache_dir()))
    layout = result.layout
    print(f"{result.path}: {layout.loaded_bytes} bytes loaded, {layout.memory_bytes} bytes in memory, "
          f"entry {layout.entry:#x}")
    return 0


def cmd_iso(args: argparse.Namespace) -> int:
    from .image.iso import IsoConfig, build_iso
    output = _output_file(args.output)
    elf = args.image if args.image else _build_default_elf()
    if not elf.is_file():
        raise UsageError(f"image not found: {elf}")
    result = build_iso(IsoConfig(elf=elf, output=output, cmdline=args.append, cache_dir=cache_dir() / "grub"))
    print(f"{result.path}: {result.size} bytes ({result.size / 1048576:.2f} MiB)")
    return 0


def _emit(result, args: argparse.Namespace, extra: dict | None = None) -> int:
    from .contract.exit_status import exit_status
    from .render.jsondoc import to_json
    from .render.terminal import use_color
    from .render.text import to_text
    if getattr(args, "junit", None) is not None:
        from .render.junit import write_junit
        from .verdict.advice import advise
        write_junit(args.junit, result, args.expect, advise(result))
    if args.json:
        import json
        print(json.dumps(to_json(result, extra), indent=2, sort_keys=False))
    else:
        print(to_text(result, color=use_color()))
    return int(exit_status(result.verdict, args.expect))


def cmd_run(args: argparse.Namespace) -> int:
    if args.keep_log is not None:
        _writable_output(args.keep_log)
    if args.junit is not None:
        _writable_output(args.junit)
    if args.backend == "auto":
        from .backends.choice import choose_backend
        choice = choose_backend()
        args.backend, args.accel = choice.backend, choice.accel
        print(f"bootgen: testing {choice.tested}", file=sys.stderr)
    if args.backend == "qemu":
        outcome, extra = _run_qemu(args)
    else:
        outcome, extra = _run_bochs(args)
    from .contract.exit_status import exit_status
    from .verdict.evaluate import evaluate  # usually imported already, while the guest ran
    result = evaluate(outcome.serial, outcome)
    if args.keep_log is not None:  # saved before printing: a closed stdout must not lose the log
        write_atomically(args.keep_log, outcome.serial)
        if exit_status(result.verdict, args.expect) != ExitStatus.OK and outcome.emulator_log:
            # On failure, the emulator's own log goes beside the serial log.
            beside = args.keep_log.with_name(f"{args.keep_log.name}.{outcome.backend}.log")
            write_atomically(beside, outcome.emulator_log.encode())
    return _emit(result, args, extra)


def _run_qemu(args: argparse.Namespace):
    from .backends.qemu import QemuConfig, run_qemu
    if args.cpu_model:
        raise UsageError("--cpu-model is for Bochs; use --cpu with QEMU")
    image = args.image if args.image is not None else _build_default_elf()
    is_iso = image.suffix.lower() == ".iso"
    media = args.media or ("cd" if is_iso else "kernel")
    if media == "kernel" and is_iso:
        raise UsageError("an ISO boots as --media cd or disk, not kernel")
    cmdline = args.append
    if media == "kernel" and image.is_file():
        from .image import elf
        layout = elf.inspect_stub_cached(image, cache_dir())  # a corrupt ELF: one clear line, before QEMU starts
        if args.serial_port is None:
            cmdline = f"{elf.embedded_cmdline(image, layout=layout)} {args.append}"
    port = args.serial_port or options.serial_port(cmdline) or ports.DEFAULT_SERIAL_PORT
    memory = args.memory or defaults.QEMU_MEMORY_MIB[args.firmware]
    timeout = args.timeout or defaults.QEMU_TIMEOUT_S[media]
    config = QemuConfig(image=image, accel=args.accel, cpu=args.cpu, smp=args.smp, memory_mib=memory,
                        append=args.append, timeout_s=timeout, serial_port=port, firmware=args.firmware,
                        media=media)
    outcome = run_qemu(config, while_guest_runs=_import_result_modules)
    return outcome, {"accel": config.accel, "cpu": config.cpu_model, "firmware": config.firmware,
                     "media": config.media, "image": str(image)}


def _import_result_modules() -> None:
    """Start-up work that can overlap the guest's run instead of following it."""
    import importlib
    for module in ("bootgen.verdict.evaluate", "bootgen.render.text", "bootgen.render.jsondoc"):
        importlib.import_module(module)


def _run_bochs(args: argparse.Namespace):
    from .backends.bochs import BochsConfig, run_bochs
    if args.cpu or args.accel != defaults.QEMU_ACCELS[0] or args.append or args.media \
            or args.firmware != defaults.QEMU_FIRMWARES[0]:
        raise UsageError("--cpu, --accel, --append, --media and --firmware are QEMU options "
                         "(Bochs boots the ISO; use --cpu-model)")
    image = args.image
    if image is None:
        from .image.iso import IsoConfig, build_iso
        DEFAULT_ISO.parent.mkdir(parents=True, exist_ok=True)
        image = build_iso(IsoConfig(elf=_build_default_elf(), output=DEFAULT_ISO,
                                    cache_dir=cache_dir() / "grub")).path
    kwargs = {"image": image, "smp": args.smp}
    if args.cpu_model:
        kwargs["cpu_model"] = args.cpu_model
    if args.memory:
        kwargs["memory_mib"] = args.memory
    if args.timeout:
        kwargs["timeout_s"] = args.timeout
    config = BochsConfig(**kwargs)
    outcome = run_bochs(config)
    return outcome, {"cpu": config.cpu_model, "image": str(image)}


def cmd_report(args: argparse.Namespace) -> int:
    from .verdict.evaluate import evaluate
    if args.junit is not None:
        _writable_output(args.junit)
    try:
        serial = args.log.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.log}: {exc.strerror}") from None
    return _emit(evaluate(serial), args)


def cmd_doctor(args: argparse.Namespace) -> int:
    from .render.terminal import use_color
    from .tools.doctor import exit_status, run_checks, to_json, to_text
    checks = run_checks()
    if args.json:
        import json
        print(json.dumps(to_json(checks), indent=2))
    else:
        print(to_text(checks, color=use_color()))
    return exit_status(checks)


COMMANDS = {"build": cmd_build, "iso": cmd_iso, "run": cmd_run, "report": cmd_report, "doctor": cmd_doctor}


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except BootgenError as exc:
        print(f"bootgen: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # stdout reader went away
        return 1
    except KeyboardInterrupt:
        print("bootgen: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
