"""Stopping cleanly on the signals CI and terminals send: SIGINT, SIGTERM (`timeout`, job cancellation), SIGHUP.

The first such signal raises :class:`Interrupted` in the main thread, so that every
``finally`` and ``with`` on the way out runs: the emulator is stopped, its private
directory removed. Any further signal is ignored while that happens, so a second
Ctrl-C cannot interrupt the clean-up (or print a traceback). The command line then
exits with 128 + the signal's number.
"""

from __future__ import annotations

import signal

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A signal asked bootgen to stop."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


def _stop(signum: int, frame: object) -> None:
    for sig in HANDLED:
        signal.signal(sig, signal.SIG_IGN)
    raise Interrupted(signum)


def install() -> None:
    """Turn the handled signals into :class:`Interrupted` (main thread only)."""
    for sig in HANDLED:
        signal.signal(sig, _stop)
