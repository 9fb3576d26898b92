"""The one way bootgen runs an emulator: its own session, a private directory, always stopped and reaped.

An emulator runs in a new session (its own process group), so that stopping
it stops whatever it started, and nothing outside bootgen is ever signalled:
signals go to that group only, by its PID. Its files live in a private 0700
directory that is removed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ..errors import UsageError


def private_dir(prefix: str) -> Path:
    """A new 0700 directory under $TMPDIR (tempfile.mkdtemp's contract, without its import cost)."""
    base = Path(os.environ.get("TMPDIR") or "/tmp")
    for _ in range(100):
        path = base / f"{prefix}{os.urandom(6).hex()}"
        try:
            path.mkdir(mode=0o700)
            path.chmod(0o700)
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise UsageError(f"cannot create a private directory in {base}: {exc.strerror or exc}") from None
    raise UsageError(f"no free temporary directory name under {base}")


@contextlib.contextmanager
def private_directory(prefix: str) -> Iterator[Path]:
    """A private directory for one run, removed when the run is over, whatever happened."""
    path = private_dir(prefix)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


#: prctl(2) option: the signal a process gets when the thread that created it ends.
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec function that makes the child die with its parent (Linux), or None elsewhere."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:  # in the child, between fork and exec: no allocation, no locks
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


class EmulatorProcess:
    """A started emulator. ``stop()`` (also on leaving a ``with`` block) ends it and its children."""

    def __init__(self, popen: subprocess.Popen) -> None:
        self.popen = popen

    @classmethod
    def start(cls, command: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
              output: Path | None = None, stderr: Path | None = None,
              pass_fds: tuple[int, ...] = ()) -> "EmulatorProcess":
        """Start ``command`` in a new session; ``output`` takes stdout and stderr, or ``stderr`` just stderr.

        The emulator dies with bootgen: it gets SIGKILL when bootgen's thread that started it ends, even
        when bootgen itself is killed with SIGKILL (prctl PR_SET_PDEATHSIG). OSError (the program is
        missing or not executable) is the caller's to turn into a message.
        """
        with contextlib.ExitStack() as files:
            out = files.enter_context(open(output, "wb")) if output else subprocess.DEVNULL
            err = files.enter_context(open(stderr, "wb")) if stderr else (subprocess.STDOUT if output else
                                                                          subprocess.DEVNULL)
            popen = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                     start_new_session=True, pass_fds=pass_fds, preexec_fn=_die_with_parent())
        return cls(popen)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    def poll(self) -> int | None:
        return self.popen.poll()

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit status, or None when it is still running at the timeout."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def wait_unreaped(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` (None: for ever) for the process to exit, without reaping it.

        True once it has exited: it stays a zombie, so its PID (and its group's ID) stays
        reserved until ``poll()``, ``wait()`` or ``stop()`` reaps it. False at the timeout.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        flags = os.WEXITED | os.WNOWAIT | (os.WNOHANG if timeout is not None else 0)
        while True:
            try:
                if os.waitid(os.P_PID, self.popen.pid, flags) is not None:
                    return True
            except ChildProcessError:  # reaped already (returncode set): nothing of it is left
                return True
            if deadline is None or time.monotonic() >= deadline:
                return deadline is None
            time.sleep(0.02)

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)

    def stop(self, grace_s: float = 0.0, reap_timeout_s: float = 5.0) -> None:
        """SIGTERM and up to ``grace_s`` to exit (when given), then SIGKILL to its whole group; then reap.

        A group is signalled only while its leader is not reaped: until then the leader's
        PID, and so the group's ID, cannot belong to anyone else. bootgen reaps its
        emulators only through this object, from the thread that drives the run.
        """
        if self.popen.poll() is not None:
            return
        if grace_s > 0:
            self._signal_group(signal.SIGTERM)
            self.wait_unreaped(grace_s)
            if self.popen.poll() is not None:
                return
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(reap_timeout_s)

    def __enter__(self) -> "EmulatorProcess":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
