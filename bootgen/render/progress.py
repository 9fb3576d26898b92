"""A live status line on stderr for work that takes more than a moment (rich), or nothing at all.

Shown only when stderr is a terminal and the user did not ask for quiet or
machine output: not with ``--quiet`` or ``--json``, not when ``NO_COLOR`` is
set (no-color.org), ``CI`` is set (CI systems' convention) or ``TERM`` is ``dumb``. The line is transient: it is gone
before the result is printed, so stdout and logs never hold any of it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.status import Status


def wanted(quiet: bool = False, machine_output: bool = False, stream: TextIO | None = None,
           environ: Mapping[str, str] | None = None) -> bool:
    """Whether a status line belongs on ``stream`` (stderr by default)."""
    stream = sys.stderr if stream is None else stream
    environ = os.environ if environ is None else environ
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # closed, or not a real stream
        return False
    # CI: a CI job's pseudo-terminal (docker run -t) still goes to a log, where a spinner is noise.
    return tty and not quiet and not machine_output and "NO_COLOR" not in environ and "CI" not in environ and \
        environ.get("TERM", "") != "dumb"


class _Line:
    """The status text, rendered afresh at each refresh: the phase, its seconds, the timeout left."""

    def __init__(self) -> None:
        self.text = ""
        self.since = time.monotonic()
        self.deadline: float | None = None   # time.monotonic() at which the run is given up

    def __rich__(self) -> str:
        now = time.monotonic()
        line = f"{self.text}  {now - self.since:.0f} s"
        if self.deadline is not None:
            line += f", timeout in {max(self.deadline - now, 0):.0f} s"
        return line


class Progress:
    """``with Progress(enabled) as progress: progress.phase("booting", deadline=...)``; a no-op when disabled."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._line = _Line()
        self._status: Status | None = None

    def __enter__(self) -> "Progress":
        if self.enabled:
            try:
                from rich.console import Console
                from rich.status import Status
            except ImportError:  # a declared dependency (doctor says when it is missing): no status line then
                return self
            console = Console(stderr=True, highlight=False, markup=False, emoji=False)
            self._status = Status(self._line, console=console, spinner="dots")
            self._status.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._status is not None:
            self._status.stop()  # transient: the line is erased
            self._status = None

    def phase(self, text: str, deadline: float | None = None) -> None:
        """A new phase from now; ``deadline`` (time.monotonic()) keeps the previous one when None."""
        self._line.text = text
        self._line.since = time.monotonic()
        if deadline is not None:
            self._line.deadline = deadline

    def __call__(self, text: str) -> None:
        """A backend's phase callback: the text changes, the deadline stays."""
        self.phase(text)
