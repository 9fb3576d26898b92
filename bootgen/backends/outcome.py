"""What every backend returns: the raw serial bytes and how the emulator ended."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Ending(str, enum.Enum):
    """How an emulator run ended, as seen from the host."""

    GUEST_EXIT = "guest-exit"        # the stub asked to stop (isa-debug-exit, Bochs shutdown port)
    TRIPLE_FAULT = "triple-fault"    # CPU reset / triple fault
    TIMEOUT = "timeout"              # still running at the deadline; killed
    EMULATOR_EXIT = "emulator-exit"  # the emulator exited on its own for another reason
    EMULATOR_CRASH = "emulator-crash"  # killed by a signal or failed to start
    NOTHING_BOOTED = "nothing-booted"  # the firmware said it found nothing it would boot; stopped then
    REPORT_END = "report-end"        # a real box's console: the report's end line arrived (the box halts)
    CONSOLE_CLOSED = "console-closed"  # a real box's console closed (standard input ended, the socket shut)


@dataclass
class RunOutcome:
    """The raw result of one boot: serial bytes plus how it ended."""

    backend: str
    serial: bytes
    ending: Ending
    detail: str = ""
    exit_status: int | None = None
    elapsed_s: float = 0.0
    command: list[str] = field(default_factory=list)
    emulator_log: str = ""
