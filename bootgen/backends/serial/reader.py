"""Read one report from a box's console: optionally power-cycle the box, then read until a whole report (its
begin line to its end line) has arrived, or the timeout. Shared by ``--backend serial`` (bootgen's own console
and power command) and ``--backend labgrid`` (labgrid's console and power drivers).

The last report counts: a box that reboots (or was still printing an earlier run's report when the console
was opened) sends its report again, and the framer keeps the last one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from ...contract import project
from ..outcome import Ending, RunOutcome
from .console import Console

#: A capture is bounded: what lies before the last begin line beyond this is dropped.
MAX_CAPTURE_BYTES = 64 << 20
_BEGIN, _END = project.BEGIN_MARK.encode(), project.END_MARK.encode()
#: Before a power cycle: the console is read until it has been quiet this long (a replay) before the cycle.
REPLAY_QUIET_S = 0.5
#: ... but no longer than this: only a report that begins after the cycle counts anyway.
REPLAY_MAX_S = 5.0


class PowerCycle(Protocol):
    """A power cycle under way: done once ``finished()`` (which raises when it failed); ``stop()`` abandons it."""

    def finished(self) -> bool: ...
    def stop(self) -> None: ...


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


def read_report(console: Console, label: str, timeout_s: float, *, backend: str,
                power_cycle: Callable[[], PowerCycle] | None = None, power_name: str = "the power cycle",
                replay: bool = True, read_while_cycling: bool = True,
                started: float | None = None, on_phase: Callable[[str], object] | None = None) -> RunOutcome:
    """Read ``console`` (named ``label`` in messages) until its report is whole or ``timeout_s`` (from
    ``started``) has passed. The caller opened the console, and closes it.

    With ``power_cycle`` only a report that begins after the cycle has finished counts: a console server may
    replay an earlier boot's output on connecting, so that is read first (``replay``; not for a console that
    only exists once the box is powered, such as an emulator's). ``read_while_cycling``: read the console while
    the power cycle runs (a command in a process of its own), or only once it has finished."""
    started = time.monotonic() if started is None else started
    say = on_phase or (lambda text: None)
    deadline = started + timeout_s
    chunks: list[bytes] = []
    size, since = 0, 0                # bytes so far; where an acceptable report may begin
    tail = b""                        # the last bytes read, for markers split between reads
    power: PowerCycle | None = None

    def outcome(ending: Ending, detail: str) -> RunOutcome:
        return RunOutcome(backend, _trim(b"".join(chunks)), ending, detail, None, time.monotonic() - started)

    try:
        if power_cycle is not None:
            # What a console server replays on connecting comes at once: take it in, and count only a report
            # that begins after it, once the box has been power-cycled.
            quiet_until = time.monotonic() + REPLAY_QUIET_S if replay else 0.0
            drain_until = min(time.monotonic() + REPLAY_MAX_S, deadline)  # a console that chatters: cycle anyway
            while time.monotonic() < min(quiet_until, drain_until):
                try:
                    chunk = console.read()
                except EOFError as exc:
                    return outcome(Ending.CONSOLE_CLOSED, str(exc))
                if chunk:
                    chunks.append(chunk)
                    size += len(chunk)
                    quiet_until = time.monotonic() + REPLAY_QUIET_S
            if time.monotonic() >= deadline:  # the console never went quiet, or the run came late: no cycle
                return outcome(Ending.TIMEOUT, f"the console never went quiet for {REPLAY_QUIET_S:g} s, so the box "
                                               f"was not power-cycled within {timeout_s:g} s")
            since = size
            tail = b"".join(chunks)[-(len(_BEGIN) + len(_END) + 256):]
            say("power-cycling the box")
            power = power_cycle()
        else:
            say(f"reading {label}")
        complete = False
        while time.monotonic() < deadline:
            if power is not None and power.finished():
                power = None
                say(f"reading {label}")
            if power is not None and not read_while_cycling:
                time.sleep(0.05)
                continue
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
            return outcome(Ending.TIMEOUT, f"{power_name} still ran after {timeout_s:g} s")
        return outcome(Ending.TIMEOUT, f"no whole report after {timeout_s:g} s")
    finally:
        if power is not None:
            power.stop()
