"""Read one box's report from its console: open the console, power-cycle the box if asked, and read until a
whole report (its begin line to its end line) has arrived, or the timeout.

The last report counts: a box that reboots (or was still printing an earlier run's report when the console
was opened) sends its report again, and the framer keeps the last one.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

from ...contract import project
from ...errors import ToolMissing
from ..outcome import Ending, RunOutcome
from .config import SerialConfig
from .console import open_console

BACKEND = "serial"
#: A capture is bounded: what lies before the last begin line beyond this is dropped.
MAX_CAPTURE_BYTES = 64 << 20
_BEGIN, _END = project.BEGIN_MARK.encode(), project.END_MARK.encode()


def report_complete(capture: bytes) -> bool:
    """Whether the last report in the capture has its end line, and that line its line ending."""
    begin = capture.rfind(_BEGIN)
    if begin < 0:
        return False
    end = capture.find(_END, begin)
    return end >= 0 and capture.find(b"\n", end) >= 0


def _trim(capture: bytes) -> bytes:
    if len(capture) <= MAX_CAPTURE_BYTES:
        return capture
    begin = capture.rfind(_BEGIN)
    return capture[begin:] if begin >= 0 else capture[-MAX_CAPTURE_BYTES:]


def _power_cycle(command: str) -> None:
    """The user's command, through the shell as they wrote it; its failure stops the run (exit 4)."""
    try:
        done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        raise ToolMissing(f"the power-cycle command did not finish within 120 s: {command}") from None
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip().splitlines()
        raise ToolMissing(f"the power-cycle command failed (status {done.returncode})"
                          + (f": {why[-1]}" if why else ""))


def run_serial(config: SerialConfig, started: float | None = None,
               on_phase: Callable[[str], object] | None = None) -> RunOutcome:
    """Read the box's console until its report is whole or ``config.timeout_s`` (from ``started``) has passed."""
    started = time.monotonic() if started is None else started
    say = on_phase or (lambda text: None)
    console = open_console(config.device, config.baud)  # first: nothing the box sends is missed
    capture = b""
    try:
        if config.power_cycle:
            say("power-cycling the box")
            _power_cycle(config.power_cycle)
        say(f"reading {config.device}")
        deadline = started + config.timeout_s
        while time.monotonic() < deadline:
            try:
                chunk = console.read()
            except EOFError as exc:
                return RunOutcome(BACKEND, capture, Ending.CONSOLE_CLOSED, str(exc), None,
                                  time.monotonic() - started)
            if chunk:
                if _BEGIN in capture[-len(_BEGIN):] + chunk:
                    say("the stub is reporting")
                capture = _trim(capture + chunk)
                if report_complete(capture):
                    return RunOutcome(BACKEND, capture, Ending.REPORT_END, "the report's end line arrived", None,
                                      time.monotonic() - started)
        return RunOutcome(BACKEND, capture, Ending.TIMEOUT, f"no whole report after {config.timeout_s:g} s", None,
                          time.monotonic() - started)
    finally:
        console.close()
