"""Read one box's report from its console: open the console, power-cycle the box if asked, and read until a
whole report (its begin line to its end line) has arrived, or the timeout.

The last report counts: a box that reboots (or was still printing an earlier run's report when the console
was opened) sends its report again, and the framer keeps the last one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ...contract import project
from ...errors import ToolMissing
from ..outcome import Ending, RunOutcome
from .config import SerialConfig
from .console import open_console

BACKEND = "serial"
#: A capture is bounded: what lies before the last begin line beyond this is dropped.
MAX_CAPTURE_BYTES = 64 << 20
_BEGIN, _END = project.BEGIN_MARK.encode(), project.END_MARK.encode()
#: With --power-cycle: the console is read until it has been quiet this long (a replay) before the command runs.
REPLAY_QUIET_S = 0.5


def report_complete(capture: bytes, since: int = 0) -> bool:
    """Whether the last report that begins at or after ``since`` has its end line (with its line ending)."""
    begin = capture.rfind(_BEGIN, since)
    if begin < 0:
        return False
    end = capture.find(_END, begin)
    return end >= 0 and capture.find(b"\n", end) >= 0


def _trim(capture: bytes) -> bytes:
    if len(capture) <= MAX_CAPTURE_BYTES:
        return capture
    begin = capture.rfind(_BEGIN)
    return capture[begin:] if begin >= 0 else capture[-MAX_CAPTURE_BYTES:]


class _PowerCycle:
    """The user's command, through the shell as they wrote it, in a session of its own (no terminal, no stdin:
    it cannot take the console's bytes), its output in a file; stopped with its whole group when bootgen stops.
    Its failure ends the run (exit 4); the command line itself is never echoed (it may carry a password)."""

    def __init__(self, command: str, workdir: Path) -> None:
        self.output = workdir / "power-cycle.out"
        with open(self.output, "wb") as out:
            self.proc = subprocess.Popen(["sh", "-c", command], stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def finished(self) -> bool:
        status = self.proc.poll()
        if status is None:
            return False
        if status != 0:
            lines = self.output.read_text(errors="replace").strip().splitlines()
            raise ToolMissing(f"the power-cycle command failed (status {status})" + (f": {lines[-1]}" if lines else ""))
        return True

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


def run_serial(config: SerialConfig, started: float | None = None,
               on_phase: Callable[[str], object] | None = None) -> RunOutcome:
    """Read the box's console until its report is whole or ``config.timeout_s`` (from ``started``) has passed.

    With ``--power-cycle`` only a report that begins after the command has finished counts: a console server
    may replay an earlier boot's output on connecting."""
    started = time.monotonic() if started is None else started
    say = on_phase or (lambda text: None)
    deadline = started + config.timeout_s
    console = open_console(config.device, config.baud)  # first: nothing the box sends is missed
    chunks: list[bytes] = []
    size, since = 0, 0                # bytes so far; where an acceptable report may begin
    tail = b""                        # the last bytes read, for markers split between reads
    power: _PowerCycle | None = None

    def outcome(ending: Ending, detail: str) -> RunOutcome:
        return RunOutcome(BACKEND, _trim(b"".join(chunks)), ending, detail, None, time.monotonic() - started)

    with tempfile.TemporaryDirectory(prefix="bootgen-serial-") as tmp:
        try:
            if config.power_cycle:
                # What a console server replays on connecting comes at once: take it in, and count only a report
                # that begins after it, once the box has been power-cycled.
                quiet_until = time.monotonic() + REPLAY_QUIET_S
                while time.monotonic() < min(quiet_until, deadline):
                    try:
                        chunk = console.read()
                    except EOFError as exc:
                        return outcome(Ending.CONSOLE_CLOSED, str(exc))
                    if chunk:
                        chunks.append(chunk)
                        size += len(chunk)
                        quiet_until = time.monotonic() + REPLAY_QUIET_S
                since = size
                tail = b"".join(chunks)[-(len(_BEGIN) + len(_END) + 256):]
                say("power-cycling the box")
                power = _PowerCycle(config.power_cycle, Path(tmp))
            else:
                say(f"reading {config.device}")
            complete = False
            while time.monotonic() < deadline:
                if power is not None and power.finished():
                    power = None
                    say(f"reading {config.device}")
                try:
                    chunk = console.read()
                except EOFError as exc:
                    capture = b"".join(chunks)
                    if report_complete(capture + b"\n", since):  # the end line came without its line ending
                        return outcome(Ending.REPORT_END, "the report's end line arrived; then the console closed")
                    return outcome(Ending.CONSOLE_CLOSED, str(exc))
                if not chunk:
                    continue
                chunks.append(chunk)
                window = tail + chunk
                size += len(chunk)
                tail = window[-(len(_BEGIN) + len(_END) + 256):]
                if _BEGIN in window:
                    say("the stub is reporting")
                if _END in window:  # only then can the report be whole: no rescans of all of it
                    capture = _trim(b"".join(chunks))
                    size, since = len(capture), max(0, since - (size - len(capture)))
                    chunks[:] = [capture]
                    complete = report_complete(capture, since)
                if complete:
                    while power is not None and not power.finished() and time.monotonic() < deadline:
                        time.sleep(0.1)  # the user's command ends by itself (a PDU's, a BMC's)
                    return outcome(Ending.REPORT_END, "the report's end line arrived")
            if power is not None:
                power.stop()
                return outcome(Ending.TIMEOUT, f"the power-cycle command still ran after {config.timeout_s:g} s")
            return outcome(Ending.TIMEOUT, f"no whole report after {config.timeout_s:g} s")
        finally:
            if power is not None:
                power.stop()
            console.close()
