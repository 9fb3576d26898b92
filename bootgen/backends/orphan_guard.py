"""A guard for an emulator that bootgen did not start itself, so could not tie to its own life (labgrid's
QEMUDriver starts QEMU without a parent-death signal): a small process that waits on a pipe whose other end only
bootgen holds. The pipe closes when bootgen ends, however it ends (SIGKILL included); the guard then kills the
emulator if it still runs, known by its PID and its start time (so a PID reused since is left alone). bootgen
stands it down (``release``) when the emulator is stopped the ordinary way.

    python -m bootgen.backends.orphan_guard PID START_TIME   (stdin: the pipe)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22), or None when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def guard(pid: int) -> int | None:
    """Start a guard for ``pid``; the pipe's write end (a descriptor no child inherits) is returned, for the
    caller to keep open as long as it lives. None when the process is already gone."""
    started = start_time(pid)
    if started is None:
        return None
    read_end, write_end = os.pipe()  # not inheritable (PEP 446): only the guard gets the read end, as its stdin
    try:
        subprocess.Popen([sys.executable, "-m", __name__, str(pid), started], stdin=read_end,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    finally:
        os.close(read_end)
    return write_end


#: What bootgen writes to stand a guard down: the emulator is stopped, or another one took its place.
RELEASE = b"r"


def release(held: int) -> None:
    """Stand the guard down and close bootgen's end of its pipe."""
    try:
        os.write(held, RELEASE)
    except OSError:  # the guard is gone already
        pass
    os.close(held)


def main(argv: list[str]) -> int:
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):  # a terminal's or a job's signals are bootgen's
        signal.signal(sig, signal.SIG_IGN)
    pid, started = int(argv[0]), argv[1]
    while data := os.read(0, 4096):  # b"" once bootgen's end is closed: bootgen ended
        if RELEASE in data:
            return 0
    if start_time(pid) == started:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
