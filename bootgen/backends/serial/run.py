"""``--backend serial``: open the box's console, power-cycle the box with the user's command if asked, and read
its report (``reader.read_report``)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from ...errors import ToolMissing
from ..outcome import RunOutcome
from .config import SerialConfig
from .console import open_console
from .reader import read_report

BACKEND = "serial"


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
    console = open_console(config.device, config.baud)  # first: nothing the box sends is missed
    try:
        with tempfile.TemporaryDirectory(prefix="bootgen-serial-") as tmp:
            command = config.power_cycle
            cycle = (lambda: _PowerCycle(command, Path(tmp))) if command else None
            return read_report(console, config.device, config.timeout_s, backend=BACKEND, power_cycle=cycle,
                               power_name="the power-cycle command", started=started, on_phase=on_phase)
    finally:
        console.close()
