"""Exit statuses of ``bootgen run`` and ``bootgen report``: what CI reads from bootgen."""

from __future__ import annotations

import enum

from .verdicts import Verdict


class ExitStatus(enum.IntEnum):
    OK = 0            # a ready verdict, or the verdict given with --expect
    VERDICT = 1       # a definite verdict other than ready / the expected one
    USAGE = 2         # bad command line or input
    NO_VERDICT = 3    # hang, triple fault, crash, truncated report (and not expected)
    ENVIRONMENT = 4   # a tool is missing, the build failed, the emulator could not start
    INTERNAL = 5      # bootgen itself failed unexpectedly (a bug): never 1, which CI reads as a verdict


def exit_status(verdict: Verdict, expect: Verdict | None) -> ExitStatus:
    if (verdict is expect) if expect is not None else verdict.ready:
        return ExitStatus.OK
    return ExitStatus.NO_VERDICT if verdict is Verdict.NO_VERDICT else ExitStatus.VERDICT


#: A signal ended bootgen (SIGINT, SIGTERM, SIGHUP): it exits with this plus the signal's number.
SIGNAL_BASE = 128
