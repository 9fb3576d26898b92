"""Boot an ISO under Bochs, which emulates VT-x, and capture what the stub wrote to COM1.

Bochs cannot load a multiboot ELF: it boots the ISO from an emulated ATAPI CD-ROM
through its own BIOS, and GRUB on the ISO loads the stub. Each run gets a private
directory (mode 0700, removed afterwards) holding the generated bochsrc, a debugger
command file, Bochs's log, its console output and the serial capture.

How a run ends is read from Bochs's log, because the two normal endings share exit
status 1:

* the stub wrote ``Shutdown`` to port 0x8900 (Bochs's "unmapped" device):
  ``>>PANIC<< Shutdown port: shutdown requested``
* a triple fault, which ``reset_on_triple_fault=0`` turns into a panic and
  ``panic: action=fatal`` into an exit instead of an endless reset loop:
  ``>>PANIC<< exception(): 3rd (13) exception with no resolution``
* any other ``>>PANIC<<`` line is Bochs giving up for its own reasons.

Two guest-side rules follow from Bochs's UART model (nothing host-side can fix them):
the stub must program the line control register (Bochs masks each byte to the
configured word length, and the reset value is 5 bits), and it must wait for
LSR.TEMT (bit 6) before writing ``Shutdown``, because Bochs drops the bytes still in
the transmitter when it exits.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bootgen.errors import BootgenError, ToolMissing, UsageError
from bootgen.runners.base import Ending, RunOutcome

BACKEND = "bochs"
DEFAULT_CPU_MODEL = "corei7_sandy_bridge_2600k"

# Emulated instructions per emulated second. With `clock: sync=none` this does not
# change how fast the host emulates, only how many instructions a stretch of emulated
# time costs: timed waits, and above all the guest spinning on LSR while the UART
# shifts each byte out at its baud rate (at 50 million, a 4 KiB report costs
# 17 million extra instructions; at 1 million, 0.35 million). Bochs's minimum is best.
IPS_MIN = 1_000_000
IPS_MAX = 2**32 - 1
DEFAULT_IPS = IPS_MIN

# A fixed boot date (2000-01-01 00:00:00 UTC) for the emulated RTC, so that two runs
# of the same image execute the same instructions.
RTC_TIME0 = 946684800

# Debian's locations (packages bochsbios, vgabios, bochs-sdl).
BIOS_CANDIDATES = (Path("/usr/share/bochs/BIOS-bochs-latest"),)
VGA_BIOS_CANDIDATES = (
    Path("/usr/share/vgabios/vgabios.bin"),
    Path("/usr/share/bochs/VGABIOS-lgpl-latest"),
)
PLUGIN_DIR_GLOBS = ("/usr/lib/*/bochs/plugins", "/usr/lib/bochs/plugins", "/usr/local/lib/bochs/plugins")
SDL2_PLUGIN = "libbx_sdl2_gui.so"
INSTALL_HINT = "install the Debian packages bochs, bochs-sdl, bochsbios and vgabios"

# File names inside the private run directory (bochsrc refers to them relatively).
BOCHSRC_NAME = "bochsrc"
DEBUGGER_RC_NAME = "debugger.rc"
LOG_NAME = "bochs.log"
SERIAL_NAME = "serial.log"
CONSOLE_NAME = "console.log"
IMAGE_LINK_NAME = "image.iso"

# How long Bochs gets to exit after SIGTERM (its SDL2 front end treats it as a
# window close and shuts down cleanly, flushing the log) before SIGKILL.
TERM_GRACE_S = 3.0
# Emulator log kept in RunOutcome.emulator_log (the tail, if a run logged more).
MAX_LOG_CHARS = 1 << 20

_LOG_LINE = re.compile(r"^(?P<tick>\d{11,})(?P<level>[idep])\[(?P<device>[^\]]*)\] ?(?P<text>.*)$", re.M)
_PANIC = re.compile(r">>PANIC<< (?P<message>.*?)\s*$", re.M)
_SHUTDOWN_PORT = "Shutdown port: shutdown requested"
_TRIPLE_FAULT = re.compile(r"exception\(\): 3rd \((?P<vector>\d+)\) exception with no resolution")
_SOFTWARE_RESET = "bx_pc_system_c::Reset(SOFTWARE) called"
_MODEL_NAME = re.compile(r"^[a-z0-9_]+$")
_PLUGIN_DEFAULT = re.compile(r"using compile time default '(?P<dir>[^']+)'")

_VECTOR_NAMES = {
    0: "#DE", 1: "#DB", 2: "NMI", 3: "#BP", 4: "#OF", 5: "#BR", 6: "#UD", 7: "#NM",
    8: "#DF", 10: "#TS", 11: "#NP", 12: "#SS", 13: "#GP", 14: "#PF", 16: "#MF",
    17: "#AC", 18: "#MC", 19: "#XM", 20: "#VE", 21: "#CP",
}


@dataclass(frozen=True)
class BochsConfig:
    """One Bochs boot of an ISO."""

    image: Path  # an ISO (Bochs can't load multiboot ELFs directly; it boots the ISO as a CD)
    cpu_model: str = DEFAULT_CPU_MODEL
    smp: int = 1
    memory_mib: int = 64
    timeout_s: float = 120.0
    # If set, bochsrc, bochs.log, serial.log and console.log are copied here after every run.
    keep_dir: Path | None = None
    ips: int = DEFAULT_IPS  # emulated instructions per emulated second (Bochs accepts 1e6 .. 2**32-1)


@dataclass(frozen=True)
class BochsInstallation:
    """The programs and files one Bochs run needs."""

    bochs: Path
    bios: Path
    vga_bios: Path
    plugin_dir: Path


@dataclass(frozen=True)
class _ProcessResult:
    returncode: int | None
    timed_out: bool
    elapsed_s: float
    start_error: str = ""


# --------------------------------------------------------------------------- discovery


@functools.cache
def _help_cpu_output(bochs: str) -> str:
    """Bochs's answer to ``--help cpu`` (model list on stderr, banner on stdout)."""
    try:
        done = subprocess.run(
            [bochs, "--help", "cpu"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=30,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ToolMissing(f"bochs not found ({bochs}); {INSTALL_HINT}") from exc
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolMissing(f"could not run {bochs} --help cpu: {exc}") from exc
    return done.stdout.decode("utf-8", errors="replace")


def parse_cpu_models(help_text: str) -> list[str]:
    """The model names listed after ``Supported CPU models:``."""
    models: list[str] = []
    lines = iter(help_text.splitlines())
    for line in lines:
        if line.strip() == "Supported CPU models:":
            break
    for line in lines:
        name = line.strip()
        if not name:
            if models:
                break
            continue
        if not _MODEL_NAME.match(name):
            break
        models.append(name)
    return models


def list_cpu_models(bochs: str = "bochs") -> list[str]:
    """The CPU models this Bochs build emulates (``bochs --help cpu``)."""
    models = parse_cpu_models(_help_cpu_output(bochs))
    if not models:
        raise ToolMissing(f"{bochs} --help cpu listed no CPU models")
    return list(models)


def _first_existing(candidates: tuple[Path, ...]) -> Path | None:
    return next((path for path in candidates if path.is_file()), None)


def _plugin_dirs(help_text: str) -> list[Path]:
    """Where Bochs loads plugins from: LTDL_LIBRARY_PATH, else its compiled-in default."""
    env = os.environ.get("LTDL_LIBRARY_PATH")
    if env:
        return [Path(part) for part in env.split(os.pathsep) if part]
    found = _PLUGIN_DEFAULT.search(help_text)
    dirs = [Path(found["dir"])] if found else []
    for pattern in PLUGIN_DIR_GLOBS:
        dirs.extend(sorted(Path("/").glob(pattern.lstrip("/"))))
    return dirs


def find_installation(bochs: str = "bochs") -> BochsInstallation:
    """Locate bochs, its BIOS, VGA BIOS and SDL2 display plugin, or raise ToolMissing."""
    program = shutil.which(bochs)
    if program is None:
        raise ToolMissing(f"{bochs} not found; {INSTALL_HINT}")
    bios = _first_existing(BIOS_CANDIDATES)
    if bios is None:
        raise ToolMissing(f"Bochs BIOS not found ({BIOS_CANDIDATES[0]}); install the Debian package bochsbios")
    vga_bios = _first_existing(VGA_BIOS_CANDIDATES)
    if vga_bios is None:
        raise ToolMissing(f"VGA BIOS not found ({VGA_BIOS_CANDIDATES[0]}); install the Debian package vgabios")
    plugin_dir = next((d for d in _plugin_dirs(_help_cpu_output(program)) if (d / SDL2_PLUGIN).is_file()), None)
    if plugin_dir is None:
        raise ToolMissing(f"Bochs display plugin {SDL2_PLUGIN} not found; install the Debian package bochs-sdl")
    return BochsInstallation(Path(program), bios, vga_bios, plugin_dir)


def bochs_unavailable_reason(bochs: str = "bochs") -> str | None:
    """Why Bochs cannot run here, or None when everything it needs is installed."""
    try:
        find_installation(bochs)
    except ToolMissing as exc:
        return str(exc)
    return None


def bochs_available() -> str | None:
    """Path of bochs when it and its BIOS, VGA BIOS and SDL2 plugin are installed, else None."""
    try:
        return str(find_installation().bochs)
    except ToolMissing:
        return None


# --------------------------------------------------------------------------- bochsrc


def render_bochsrc(config: BochsConfig, install: BochsInstallation) -> str:
    """The bochsrc for one run; paths other than the ROMs are relative to the run directory."""
    lines = [
        "# Generated by bootgen for one Bochs run.",
        "# Display: Debian's bochs has no 'nogui'; SDL2 with SDL_VIDEODRIVER=dummy draws",
        "# into memory: no window, no listening port.",
        "display_library: sdl2",
        "# Firmware: Bochs's own BIOS and the LGPL VGA BIOS.",
        f"romimage: file={install.bios}",
        f"vgaromimage: file={install.vga_bios}",
        "# CPU: the model decides CPUID and VMX support. reset_on_triple_fault=0 makes a",
        "# triple fault a panic (ended by 'panic: action=fatal') instead of a reset loop;",
        "# ignore_bad_msrs=0 makes unknown MSRs raise #GP as on hardware instead of",
        "# reading 0; ips only scales emulated time (see clock).",
        f"cpu: model={config.cpu_model}, count={config.smp}, ips={config.ips}, "
        "reset_on_triple_fault=0, ignore_bad_msrs=0",
        f"memory: guest={config.memory_mib}, host={config.memory_mib}",
        "# Emulated time follows the instruction count, never the host clock (fastest,",
        "# and with a fixed RTC start the run is reproducible).",
        f"clock: sync=none, time0={RTC_TIME0}",
        "# The ISO as an ATAPI CD-ROM, the only boot device.",
        f"ata0-master: type=cdrom, path={IMAGE_LINK_NAME}, status=inserted",
        "boot: cdrom",
        "# COM1 to a file; Bochs opens it at the first byte and flushes every byte.",
        f"com1: enabled=1, mode=file, dev={SERIAL_NAME}",
        "# Sound and the PC speaker off: with a real sound back end Bochs has been seen",
        "# to abort ('buffer overflow detected').",
        "sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy",
        "speaker: enabled=0",
        "# Devices the probe never uses. Keep 'unmapped' (port 0x8900, the shutdown",
        "# port), 'serial' and 'biosdev' (BIOS messages in the log) loaded.",
        "mouse: enabled=0",
        "plugin_ctrl: parallel=0, gameport=0, iodebug=0",
        "# The log decides how the run ended; keep the default prefix (tick, level,",
        "# device) that the parser and instruction_ticks() rely on.",
        f"log: {LOG_NAME}",
        "logprefix: %t%e%d",
        "# A panic ends Bochs (the shutdown port and a triple fault both are panics);",
        "# errors and info are logged and the run goes on.",
        "panic: action=fatal",
        "error: action=report",
        "info: action=report",
        "debug: action=ignore",
    ]
    return "\n".join(lines) + "\n"


# The internal debugger stops before the first instruction; 'c' lets the machine run.
DEBUGGER_COMMANDS = "c\n"


def bochs_command(install: BochsInstallation) -> list[str]:
    """The command line, run with the private run directory as working directory."""
    # -q skips the start menu; -rc feeds the built-in debugger its commands.
    return [str(install.bochs), "-q", "-f", BOCHSRC_NAME, "-rc", DEBUGGER_RC_NAME]


def bochs_environment(install: BochsInstallation) -> dict[str, str]:
    env = dict(os.environ)
    env["SDL_VIDEODRIVER"] = "dummy"
    env["SDL_AUDIODRIVER"] = "dummy"
    env.setdefault("LTDL_LIBRARY_PATH", str(install.plugin_dir))
    return env


# --------------------------------------------------------------------------- log parsing


def instruction_ticks(log_text: str) -> int | None:
    """Bochs's tick count (emulated instructions, plus idle time skipped while halted)
    at the last line of its log, which at exit is the ``quit_sim`` line."""
    last = None
    for match in _LOG_LINE.finditer(log_text):
        last = match
    return int(last["tick"]) if last else None


def first_panic(log_text: str) -> str | None:
    """The message of the first ``>>PANIC<<`` line (with ``panic: action=fatal`` the one that ended Bochs)."""
    found = _PANIC.search(log_text)
    return found["message"] if found else None


def _vector_name(vector: int) -> str:
    name = _VECTOR_NAMES.get(vector)
    return f"vector {vector} ({name})" if name else f"vector {vector}"


def _reset_note(log_text: str) -> str:
    resets = log_text.count(_SOFTWARE_RESET)
    if not resets:
        return ""
    return f"; the guest reset the machine {resets} time(s) before"


def classify(
    log_text: str, returncode: int | None, timed_out: bool, timeout_s: float | None = None
) -> tuple[Ending, str]:
    """How a run ended, from Bochs's log (or console output), exit status and the deadline."""
    if timed_out:
        deadline = f"within {timeout_s:g} s" if timeout_s is not None else "before the deadline"
        return Ending.TIMEOUT, f"no exit {deadline}; Bochs was killed{_reset_note(log_text)}"
    if returncode is not None and returncode < 0:
        return Ending.EMULATOR_CRASH, f"Bochs was killed by {_signal_name(-returncode)}"
    message = first_panic(log_text)
    if message is not None and message.startswith(_SHUTDOWN_PORT):
        return Ending.GUEST_EXIT, "the guest wrote 'Shutdown' to port 0x8900"
    # The panic line; or, had the CPU been set to reset on a triple fault, the error
    # line "..., shutdown status is 00h, resetting" that precedes the reset.
    triple = _TRIPLE_FAULT.search(message) if message is not None else _TRIPLE_FAULT.search(log_text)
    if triple:
        vector = _vector_name(int(triple["vector"]))
        return Ending.TRIPLE_FAULT, f"triple fault (third exception: {vector}){_reset_note(log_text)}"
    if message is not None:
        return Ending.EMULATOR_EXIT, f"Bochs panic: {message}"
    return Ending.EMULATOR_EXIT, f"Bochs exited with status {returncode} without a panic message"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


# --------------------------------------------------------------------------- process


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop Bochs and anything it started: SIGTERM, then SIGKILL; always reap."""
    for sig, grace in ((signal.SIGTERM, TERM_GRACE_S), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    proc.wait()


def _run_process(command: list[str], cwd: Path, env: dict[str, str], timeout_s: float) -> _ProcessResult:
    """Run Bochs in its own session (own process group), console output to a file."""
    start = time.monotonic()
    with open(cwd / CONSOLE_NAME, "wb") as console:
        try:
            proc = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,  # a debugger prompt reads EOF and quits instead of waiting
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            return _ProcessResult(None, False, time.monotonic() - start, start_error=str(exc))
        timed_out = False
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            if proc.returncode is None:
                _kill_group(proc)
    return _ProcessResult(proc.returncode, timed_out, time.monotonic() - start)


# --------------------------------------------------------------------------- run


def _validate(config: BochsConfig, install: BochsInstallation) -> Path:
    models = list_cpu_models(str(install.bochs))
    if config.cpu_model not in models:
        raise UsageError(f"unknown Bochs CPU model {config.cpu_model!r}; choose one of: {', '.join(models)}")
    if config.smp < 1:
        raise UsageError(f"smp must be at least 1, not {config.smp}")
    if config.memory_mib < 1:
        raise UsageError(f"memory_mib must be at least 1, not {config.memory_mib}")
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


def _keep(run_dir: Path, keep_dir: Path) -> list[Path]:
    kept = []
    try:
        keep_dir.mkdir(parents=True, exist_ok=True)
        for name in (BOCHSRC_NAME, LOG_NAME, SERIAL_NAME, CONSOLE_NAME):
            source = run_dir / name
            if source.is_file():
                kept.append(Path(shutil.copy2(source, keep_dir / name)))
    except OSError as exc:
        raise BootgenError(f"cannot keep Bochs's files in {keep_dir}: {exc.strerror or exc}") from None
    return kept


def run_bochs(config: BochsConfig) -> RunOutcome:
    """Boot config.image under Bochs and return the serial bytes and how the run ended."""
    if not Path(config.image).is_file():
        raise UsageError(f"image not found: {config.image}")
    install = find_installation()
    image = _validate(config, install)
    command = bochs_command(install)
    with tempfile.TemporaryDirectory(prefix="bootgen-bochs-") as tmp:
        run_dir = Path(tmp)
        run_dir.chmod(0o700)
        _prepare(run_dir, config, install, image)
        result = _run_process(command, run_dir, bochs_environment(install), config.timeout_s)
        log_text = _read_text(run_dir / LOG_NAME)
        console_text = _read_text(run_dir / CONSOLE_NAME)
        serial = _read_bytes(run_dir / SERIAL_NAME)
        kept = _keep(run_dir, config.keep_dir) if config.keep_dir is not None else []
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
        kept_files=kept,
    )
