"""Reading Bochs's log: how a run ended, and the emulated tick count.

How a run ended is read from the log, because the two normal endings share exit
status 1:

* the stub wrote ``Shutdown`` to the shutdown port (Bochs's "unmapped" device):
  ``>>PANIC<< Shutdown port: shutdown requested``
* a triple fault, which ``reset_on_triple_fault=0`` turns into a panic and
  ``panic: action=fatal`` into an exit instead of an endless reset loop:
  ``>>PANIC<< exception(): 3rd (13) exception with no resolution``
* any other ``>>PANIC<<`` line is Bochs giving up for its own reasons.
"""

from __future__ import annotations

import re
import signal

from ...arch import exceptions
from ...contract import ports
from ..outcome import Ending

_LOG_LINE = re.compile(r"^(?P<tick>\d{11,})(?P<level>[idep])\[(?P<device>[^\]]*)\] ?(?P<text>.*)$", re.M)
_PANIC = re.compile(r">>PANIC<< (?P<message>.*?)\s*$", re.M)
_SHUTDOWN_PORT = "Shutdown port: shutdown requested"
_TRIPLE_FAULT = re.compile(r"exception\(\): 3rd \((?P<vector>\d+)\) exception with no resolution")
_SOFTWARE_RESET = "bx_pc_system_c::Reset(SOFTWARE) called"


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
    name = exceptions.mnemonic(vector)
    return f"vector {vector} ({name})" if name not in ("res", f"vector {vector}") else f"vector {vector}"


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
        return Ending.GUEST_EXIT, f"the guest wrote 'Shutdown' to port {ports.BOCHS_SHUTDOWN_PORT:#x}"
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
