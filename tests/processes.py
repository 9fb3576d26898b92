"""Finding and stopping the processes a test started itself, by PID (never by a name or a pattern)."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from bootgen.backends import process


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def alive(pid: int) -> bool:
    """Running, and not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_for(predicate, timeout: float = 20.0, step: float = 0.02):
    """Poll until ``predicate()`` gives something true; that value, or None at the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(step)
    return None


class Recorder:
    """Records the PIDs of the emulators bootgen starts in this process (EmulatorProcess.start)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.pids: list[int] = []
        real = process.EmulatorProcess.start.__func__  # type: ignore[attr-defined]

        def start(cls, *args, **kwargs):  # type: ignore[no-untyped-def]
            proc = real(cls, *args, **kwargs)
            self.pids.append(proc.pid)
            return proc

        monkeypatch.setattr(process.EmulatorProcess, "start", classmethod(start))

    def kill_after(self, delay_s: float, sig: int = signal.SIGKILL) -> threading.Thread:
        """SIGKILL the first recorded emulator ``delay_s`` after it starts (in a thread)."""
        def killer() -> None:
            if wait_for(lambda: self.pids):
                time.sleep(delay_s)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pids[0], sig)
        thread = threading.Thread(target=killer)
        thread.start()
        return thread
