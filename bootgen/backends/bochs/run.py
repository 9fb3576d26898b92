"""Boot an ISO under Bochs, which emulates VT-x, and capture what the stub wrote to COM1.

Bochs cannot load a multiboot ELF: it boots the ISO from an emulated ATAPI CD-ROM
through its own BIOS, and GRUB on the ISO loads the stub. Each run gets a private
directory (mode 0700, removed afterwards) holding the generated bochsrc, a debugger
command file, Bochs's log, its console output and the serial capture; how the run
ended is read from the log (log.py).

Two guest-side rules follow from Bochs's UART model (nothing host-side can fix them):
the stub must program the line control register (Bochs masks each byte to the
configured word length, and the reset value is 5 bits), and it must wait for
LSR.TEMT (bit 6) before writing ``Shutdown``, because Bochs drops the bytes still in
the transmitter when it exits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ...errors import UsageError
from .. import defaults
from ..outcome import Ending, RunOutcome
from ..process import EmulatorProcess, private_directory
from .bochsrc import (
    BOCHSRC_NAME,
    CONSOLE_NAME,
    DEBUGGER_COMMANDS,
    DEBUGGER_RC_NAME,
    IMAGE_LINK_NAME,
    IPS_MAX,
    IPS_MIN,
    LOG_NAME,
    SERIAL_NAME,
    BochsConfig,
    bochs_command,
    bochs_environment,
    render_bochsrc,
)
from .install import BochsInstallation, find_installation, list_cpu_models
from .log import classify

BACKEND = "bochs"
# How long Bochs gets to exit after SIGTERM (its SDL2 front end treats it as a
# window close and shuts down cleanly, flushing the log) before SIGKILL.
TERM_GRACE_S = 3.0
# Emulator log kept in RunOutcome.emulator_log (the tail, if a run logged more).
MAX_LOG_CHARS = 1 << 20


@dataclass(frozen=True)
class _ProcessResult:
    returncode: int | None
    timed_out: bool
    elapsed_s: float
    start_error: str = ""


def _run_process(command: list[str], cwd: Path, env: dict[str, str], timeout_s: float) -> _ProcessResult:
    """Run Bochs in its own session, console output to a file, stopped at the deadline."""
    start = time.monotonic()
    try:
        proc = EmulatorProcess.start(command, cwd=cwd, env=env, output=cwd / CONSOLE_NAME)
    except OSError as exc:
        return _ProcessResult(None, False, time.monotonic() - start, start_error=str(exc))
    try:
        timed_out = proc.wait(timeout_s) is None
    finally:
        proc.stop(grace_s=TERM_GRACE_S)  # also when interrupted: Bochs runs in its own session
    return _ProcessResult(proc.returncode, timed_out, time.monotonic() - start)


def _validate(config: BochsConfig, install: BochsInstallation) -> Path:
    models = list_cpu_models(str(install.bochs))
    if config.cpu_model not in models:
        raise UsageError(f"unknown Bochs CPU model {config.cpu_model!r}; choose one of: {', '.join(models)} "
                         "(bootgen models --backend bochs says what each gives)")
    if config.smp < 1:
        raise UsageError(f"smp must be at least 1, not {config.smp}")
    if config.memory_mib < defaults.MIN_MEMORY_MIB:
        raise UsageError(f"--memory must be at least {defaults.MIN_MEMORY_MIB} MiB (the stub is loaded at 16 MiB), "
                         f"not {config.memory_mib}")
    if config.timeout_s <= 0:
        raise UsageError(f"timeout_s must be positive, not {config.timeout_s}")
    if not IPS_MIN <= config.ips <= IPS_MAX:
        raise UsageError(f"ips must be between {IPS_MIN} and {IPS_MAX}, not {config.ips}")
    return Path(config.image).resolve()


def _prepare(run_dir: Path, config: BochsConfig, install: BochsInstallation, image: Path) -> None:
    # A link keeps paths with spaces or commas out of the bochsrc syntax.
    (run_dir / IMAGE_LINK_NAME).symlink_to(image)
    (run_dir / BOCHSRC_NAME).write_text(render_bochsrc(config, install))
    (run_dir / DEBUGGER_RC_NAME).write_text(DEBUGGER_COMMANDS)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""  # Bochs creates the file at the first byte the guest sends


def run_bochs(config: BochsConfig, started: float | None = None) -> RunOutcome:
    """Boot config.image under Bochs and return the serial bytes and how the run ended.

    ``started`` (time.monotonic()) is when the run's timeout began, by default now.
    """
    started = time.monotonic() if started is None else started
    if not Path(config.image).is_file():
        raise UsageError(f"image not found: {config.image}")
    install = find_installation()
    image = _validate(config, install)
    command = bochs_command(install)
    with private_directory("bootgen-bochs-") as run_dir:
        _prepare(run_dir, config, install, image)
        remaining = max(config.timeout_s - (time.monotonic() - started), 0.01)
        result = _run_process(command, run_dir, bochs_environment(install), remaining)
        log_text = _read_text(run_dir / LOG_NAME)
        console_text = _read_text(run_dir / CONSOLE_NAME)
        serial = _read_bytes(run_dir / SERIAL_NAME)
    if result.start_error:
        ending, detail = Ending.EMULATOR_CRASH, f"could not start Bochs: {result.start_error}"
    else:
        # Panics raised before the log file is open (bad options) reach only the console.
        evidence = f"{log_text}\n{console_text}"
        ending, detail = classify(evidence, result.returncode, result.timed_out, config.timeout_s)
    return RunOutcome(
        backend=BACKEND,
        serial=serial,
        ending=ending,
        detail=detail,
        exit_status=result.returncode,
        elapsed_s=result.elapsed_s,
        command=command,
        emulator_log=log_text[-MAX_LOG_CHARS:],
    )
