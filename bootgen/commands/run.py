"""`bootgen run`: build what is needed, boot it on a backend, decide and print the verdict."""

from __future__ import annotations

import argparse
import sys

from ..backends import defaults
from ..contract import options, ports
from ..contract.exit_status import ExitStatus
from ..errors import UsageError
from ..files import write_atomically
from ..locations import cache_dir
from ..outputs import distinct, writable_output
from .emit import emit
from .images import run_elf, run_iso


def _beside(keep_log, backend: str):
    """Where the emulator's own log goes when a run fails: beside the serial log."""
    return keep_log.with_name(f"{keep_log.name}.{backend}.log")


def cmd_run(args: argparse.Namespace) -> int:
    for path in (args.keep_log, args.junit):
        if path is not None:
            writable_output(path)
    emulator_logs = {f"--keep-log's {b} log": _beside(args.keep_log, b) for b in ("qemu", "bochs")} \
        if args.keep_log else {}
    distinct({"--keep-log": args.keep_log, "--junit": args.junit, **emulator_logs}, {"--image": args.image})
    if args.backend == "auto":
        from ..backends.choice import choose_backend
        # What Bochs cannot honour keeps auto on QEMU; an --accel given stays as given.
        choice = choose_backend(qemu_only=bool(_bochs_cannot(args)))
        args.backend = choice.backend
        if args.accel == defaults.QEMU_ACCELS[0]:
            args.accel = choice.accel
        if not args.quiet:
            print(f"bootgen: testing {choice.tested}", file=sys.stderr)
    if args.backend != "serial" and (args.device or args.power_cycle or args.baud):
        raise UsageError("--device, --baud and --power-cycle are for --backend serial (a real box's console)")
    if args.backend != "labgrid" and (args.lg_env or args.lg_target):
        raise UsageError("--lg-env and --lg-target are for --backend labgrid (a labgrid environment's target)")
    from ..render.progress import Progress, wanted
    with Progress(wanted(args.quiet, args.json)) as progress:
        if args.backend == "qemu":
            outcome, extra, suite = _run_qemu(args, progress)
        elif args.backend == "serial":
            outcome, extra, suite = _run_serial(args, progress)
        elif args.backend == "labgrid":
            outcome, extra, suite = _run_labgrid(args, progress)
        else:
            outcome, extra, suite = _run_bochs(args, progress)
    from ..contract.exit_status import exit_status
    from ..verdict.evaluate import evaluate  # usually imported already, while the guest ran
    result = evaluate(outcome.serial, outcome)
    if args.keep_log is not None:  # saved before printing: a closed stdout must not lose the log
        write_atomically(args.keep_log, outcome.serial)
        if exit_status(result.verdict, args.expect) != ExitStatus.OK and outcome.emulator_log:
            write_atomically(_beside(args.keep_log, outcome.backend), outcome.emulator_log.encode())
    return emit(result, args, extra, suite)


def _run_qemu(args: argparse.Namespace, progress):
    from ..backends.qemu import QemuConfig, run_qemu
    if args.cpu_model:
        raise UsageError("--cpu-model is for Bochs; use --cpu with QEMU")
    if args.cpu and args.cpu.split(",", 1)[0] == "host" and args.accel != "kvm":
        raise UsageError("--cpu host needs --accel kvm (TCG emulates named CPU models only; try --cpu max)")
    append = args.append
    if args.image is not None:
        image = args.image
        is_iso = image.suffix.lower() == ".iso"
        media = args.media or ("cd" if is_iso else "kernel")
    else:
        # No image given: the stub for -kernel, or an ISO built for this run (with the command line in it)
        # when the medium or the firmware needs one.
        media = args.media or ("kernel" if args.firmware == defaults.QEMU_FIRMWARES[0] else "cd")
        is_iso = media != "kernel"
        progress.phase("building the ISO" if is_iso else "building the stub")
        image = run_iso(append) if is_iso else run_elf()
        if is_iso:
            append = ""
    if media == "kernel" and is_iso:
        raise UsageError("an ISO boots as --media cd or disk, not kernel")
    cmdline = args.append
    if media == "kernel" and image.is_file():
        from ..image import elf
        layout = elf.inspect_stub_cached(image, cache_dir())  # a corrupt ELF: one clear line, before QEMU starts
        if args.serial_port is None:
            cmdline = f"{elf.embedded_cmdline(image, layout=layout)} {args.append}"
    port = args.serial_port or options.serial_port(cmdline) or ports.DEFAULT_SERIAL_PORT
    memory = args.memory or defaults.QEMU_MEMORY_MIB[args.firmware]
    timeout = args.timeout or defaults.QEMU_TIMEOUT_S[media]
    config = QemuConfig(image=image, accel=args.accel, cpu=args.cpu, smp=args.smp, memory_mib=memory,
                        append=append, timeout_s=timeout, serial_port=port, firmware=args.firmware,
                        media=media, acpi=not args.no_acpi)
    progress.phase(f"starting QEMU ({config.accel.upper()}, {config.cpu_model})", deadline=args.started + timeout)
    outcome = run_qemu(config, while_guest_runs=_import_result_modules, started=args.started, on_phase=progress)
    chosen = (("accel", config.accel), ("firmware", config.firmware), ("media", config.media)) + \
        ((("acpi", "off"),) if not config.acpi else ())
    suite = _suite(args, "qemu", config.cpu_model, chosen, cmdline, config.memory_mib)
    return outcome, {"accel": config.accel, "cpu": config.cpu_model, "firmware": config.firmware,
                     "media": config.media, "image": str(image)}, suite


def _import_result_modules() -> None:
    """Start-up work that can overlap the guest's run instead of following it."""
    import importlib
    for module in ("bootgen.verdict.evaluate", "bootgen.render.text", "bootgen.render.jsondoc"):
        importlib.import_module(module)


def _bochs_cannot(args: argparse.Namespace) -> list[str]:
    """What in this run's options Bochs cannot honour, each said as a usage error with its fix."""
    problems = [f"{option} is a QEMU option: {fix}" for given, option, fix in (
        (args.cpu, "--cpu", "use --cpu-model (bootgen models lists them)"),
        (args.accel != defaults.QEMU_ACCELS[0], "--accel", "Bochs emulates every CPU"),
        (args.media, "--media", "Bochs boots the ISO from CD"),
        (args.firmware != defaults.QEMU_FIRMWARES[0], "--firmware", "Bochs has its BIOS"),
        (args.no_acpi, "--no-acpi", "Bochs's BIOS always has ACPI tables")) if given]
    if args.serial_port not in (None, ports.DEFAULT_SERIAL_PORT) or \
            options.serial_port(args.append) not in (None, ports.DEFAULT_SERIAL_PORT):
        problems.append(f"Bochs's serial log is COM1 ({ports.DEFAULT_SERIAL_PORT:#x}) only: leave out "
                        "--serial-port and serial= in --append")
    if args.image is not None and args.image.suffix.lower() != ".iso":
        problems.append(f"Bochs boots an ISO, not {args.image.name}: leave out --image, or make one with "
                        f"`bootgen iso --image {args.image}`")
    return problems


def _run_bochs(args: argparse.Namespace, progress):
    from ..backends.bochs import BochsConfig, run_bochs
    if problems := _bochs_cannot(args):
        raise UsageError(problems[0])
    if args.image is not None and args.append:
        raise UsageError("--append builds the ISO for this run: leave out --image, or bake the command line into "
                         "your ISO with `bootgen iso --append`")
    if args.image is None:
        progress.phase("building the ISO")
    image = args.image if args.image is not None else run_iso(args.append)
    kwargs = {"image": image, "smp": args.smp}
    if args.cpu_model:
        kwargs["cpu_model"] = args.cpu_model
    if args.memory:
        kwargs["memory_mib"] = args.memory
    if args.timeout:
        kwargs["timeout_s"] = args.timeout
    config = BochsConfig(**kwargs)
    progress.phase(f"Bochs emulating {config.cpu_model}", deadline=args.started + config.timeout_s)
    outcome = run_bochs(config, started=args.started)
    return outcome, {"cpu": config.cpu_model, "image": str(image)}, \
        _suite(args, "bochs", config.cpu_model, (), args.append, config.memory_mib)


def _suite(args: argparse.Namespace, backend: str, cpu_model: str, chosen: tuple[tuple[str, str], ...],
           cmdline: str, memory_mib: int):
    """The JUnit suite's identity: what tells this configuration's runs from another's."""
    from ..render.junit_plan import SuiteIdentity
    append = " ".join(sorted(args.append.split()))  # the same options in another order: the same suite
    given = (("smp", str(args.smp)), ("memory", str(memory_mib))) + ((("append", append),) if append else ())
    return SuiteIdentity(backend, cpu_model, chosen + given, options.mode(cmdline), args.junit_suite)


def _serial_cannot(args: argparse.Namespace) -> list[str]:
    """What in this run's options has no meaning for a real box, which boots its own stick."""
    baked = "the box boots the image it was given: bake options into it with `bootgen iso --append`"
    return [f"{option} is for an emulator: {fix}" for given, option, fix in (
        (args.image, "--image", "the box boots its own stick or CD (write it with `bootgen iso`)"),
        (args.cpu or args.cpu_model, "--cpu/--cpu-model", "the box has its own CPU"),
        (args.accel != defaults.QEMU_ACCELS[0], "--accel", "the box is real hardware"),
        (args.firmware != defaults.QEMU_FIRMWARES[0] or args.media, "--firmware/--media", "the box has its own"),
        (args.smp != 1 or args.memory or args.no_acpi, "--smp/--memory/--no-acpi", "the box has its own"),
        (args.append, "--append", baked), (args.serial_port, "--serial-port", baked)) if given]


def _run_serial(args: argparse.Namespace, progress):
    from ..backends.serial import SerialConfig, run_serial
    from ..backends.serial.config import DEFAULT_BAUD
    if problems := _serial_cannot(args):
        raise UsageError(problems[0])
    if not args.device:
        raise UsageError("--backend serial needs --device: /dev/ttyUSB0, tcp://HOST:PORT or - (standard input)")
    config = SerialConfig(device=args.device, baud=args.baud or DEFAULT_BAUD,
                          timeout_s=args.timeout or defaults.SERIAL_TIMEOUT_S,
                          power_cycle=args.power_cycle)
    progress.phase(f"waiting for the box on {args.device}", deadline=args.started + config.timeout_s)
    outcome = run_serial(config, started=args.started, on_phase=progress)
    from ..render.junit_plan import SuiteIdentity
    suite = SuiteIdentity("serial", args.device.removeprefix("/dev/"), custom_name=args.junit_suite)
    return outcome, {"device": args.device, "baud": config.baud}, suite


def _run_labgrid(args: argparse.Namespace, progress):
    if problems := _serial_cannot(args):
        raise UsageError(problems[0])
    from ..lab.run import DEFAULT_TARGET, LabgridConfig, env_file, run_labgrid  # one line if labgrid is missing
    config = LabgridConfig(env_file(args.lg_env), args.lg_target or DEFAULT_TARGET, args.timeout)
    import logging
    if not logging.getLogger().handlers:  # labgrid logs its errors too: the one line below says it
        logging.getLogger().addHandler(logging.NullHandler())
    progress.phase(f"labgrid target {config.target} of {config.env_file.name}",
                   deadline=args.started + (config.timeout_s or defaults.SERIAL_TIMEOUT_S))
    outcome = run_labgrid(config, started=args.started, on_phase=progress)
    from ..render.junit_plan import SuiteIdentity
    suite = SuiteIdentity("labgrid", config.target, custom_name=args.junit_suite)
    return outcome, {"env": str(config.env_file), "target": config.target}, suite
