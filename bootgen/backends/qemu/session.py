"""Boot the stub under QEMU, driven over QMP (qemu.qmp), and capture its serial output.

QEMU is started paused (-S), before bootgen imports asyncio and qemu.qmp, so
that both start up at the same time. Nothing of the run has a name another
process could open:

* the serial port writes to a file that bootgen created in its private 0700
  directory, opened, and unlinked at once; QEMU gets the open descriptor
  (``-add-fd``, chardev ``file`` on ``/dev/fdset/N``). A file never drops a byte,
  however long bootgen is kept from reading it, and only QEMU writes to it;
* QMP runs over one end of a socket pair, the other end QEMU's
  (``-chardev socket,fd=N``).

No TCP port and no socket file is ever opened. The run ends when the stub exits
through isa-debug-exit, the machine resets (triple fault; -no-reboot turns it
into an exit and a SHUTDOWN event), QEMU exits for another reason, or the
deadline passes (``started`` + the timeout, QEMU's own start-up included).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

from ...contract import ports
from ...errors import ToolMissing
from ..firmware_output import BEGIN_LINE, gave_up
from ..outcome import Ending, RunOutcome
from ..process import EmulatorProcess, private_directory
from .command import NO_SANDBOX, qemu_command
from .config import QemuConfig, validate

#: The most serial output kept from one run (the report is at its end).
MAX_SERIAL_BYTES = 16 << 20


class SerialCapture:
    """An unnamed file QEMU's serial port writes to and bootgen reads once the run is over."""

    def __init__(self, directory: Path) -> None:
        path = directory / "serial.out"
        self.write_fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC, 0o600)
        self.read_fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        path.unlink()  # from now on only the two descriptors reach it

    def size(self) -> int:
        return os.fstat(self.read_fd).st_size

    def read_from(self, offset: int, limit: int = 1 << 16) -> bytes:
        return os.pread(self.read_fd, limit, offset)

    def read(self) -> bytes:
        size = os.fstat(self.read_fd).st_size
        start = max(size - MAX_SERIAL_BYTES, 0)
        return os.pread(self.read_fd, size - start, start)

    def close(self) -> None:
        for fd in (self.write_fd, self.read_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


def run_qemu(config: QemuConfig, while_guest_runs: Callable[[], object] | None = None,
             started: float | None = None, on_phase: Callable[[str], object] | None = None) -> RunOutcome:
    """Boot once. QEMU is started (paused) before the slow imports, which then overlap its start-up.

    ``while_guest_runs`` is called once the guest has been started, for work (such as
    imports) that the caller would otherwise do after the run. ``started`` (time.monotonic())
    is when the run's timeout began, by default now. ``on_phase`` hears what the run is waiting for
    (called from the thread that drives QEMU).
    """
    started = time.monotonic() if started is None else started
    validate(config)
    with private_directory("bootgen-qemu-") as workdir:
        outcome = _run_once(config, workdir, started, while_guest_runs, sandbox=True, on_phase=on_phase)
        if outcome.ending is Ending.EMULATOR_CRASH and NO_SANDBOX in outcome.detail:
            # A QEMU built without seccomp: run unsandboxed rather than not at all, and say so.
            outcome = _run_once(config, workdir, started, while_guest_runs, sandbox=False, on_phase=on_phase)
            outcome.detail = f"{outcome.detail}; QEMU has no -sandbox support".lstrip("; ")
        return outcome


def _run_once(config: QemuConfig, workdir: Path, started: float, while_guest_runs: Callable[[], object] | None,
              sandbox: bool, on_phase: Callable[[str], object] | None = None) -> RunOutcome:
    serial = SerialCapture(workdir)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    stderr_path = workdir / "qemu.stderr"
    try:
        cmd = qemu_command(config, qmp_fd=theirs.fileno(), serial_fd=serial.write_fd, workdir=workdir,
                           sandbox=sandbox)
        try:
            proc = EmulatorProcess.start(cmd, stderr=stderr_path, pass_fds=(theirs.fileno(), serial.write_fd))
        except OSError as exc:
            raise ToolMissing(f"cannot start {config.qemu}: {exc.strerror}") from None
        theirs.close()
        os.close(serial.write_fd)
        with proc:
            import asyncio  # slow to import: QEMU is already starting meanwhile

            outcome = asyncio.run(_drive(config, proc, ours, stderr_path, cmd, started, while_guest_runs,
                                         serial, on_phase or (lambda text: None)))
        outcome.serial = serial.read()
        return outcome
    finally:
        theirs.close()
        ours.close()
        serial.close()


def _exit_future(loop, proc: EmulatorProcess):
    """A future resolved with QEMU's exit status (a pidfd watched by the event loop)."""
    future = loop.create_future()
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # not Linux 5.3+: a thread waits (without reaping) instead
        waiting = loop.run_in_executor(None, proc.wait_unreaped)
        waiting.add_done_callback(lambda _: future.done() or future.set_result(proc.poll()))
        return future

    def exited() -> None:
        loop.remove_reader(fd)
        os.close(fd)
        if not future.done():
            future.set_result(proc.wait())

    def cancelled(fut) -> None:
        if fut.cancelled():
            loop.remove_reader(fd)
            os.close(fd)

    loop.add_reader(fd, exited)
    future.add_done_callback(cancelled)
    return future


def _crash(why: str, proc: EmulatorProcess, stderr_path: Path, cmd: list[str], started: float) -> RunOutcome:
    return RunOutcome("qemu", b"", Ending.EMULATOR_CRASH, f"{why}: {_tail(stderr_path)}".rstrip(": "),
                      proc.poll(), time.monotonic() - started, cmd)


async def _drive(config: QemuConfig, proc: EmulatorProcess, qmp_socket: socket.socket, stderr_path: Path,
                 cmd: list[str], started: float, while_guest_runs: Callable[[], object] | None,
                 serial: SerialCapture, on_phase: Callable[[str], object]) -> RunOutcome:
    import asyncio

    try:
        from qemu.qmp import EventListener, QMPClient
    except ImportError:
        raise ToolMissing("the Python package qemu.qmp is not installed (pip install qemu.qmp)") from None

    loop = asyncio.get_running_loop()
    deadline = started + config.timeout_s
    exited = _exit_future(loop, proc)
    qmp = QMPClient("bootgen")
    listener = EventListener(("SHUTDOWN", "RESET", "STOP", "GUEST_PANICKED"))
    qmp.register_listener(listener)
    try:
        # QEMU's start-up counts against the run's deadline, however slow a loaded host makes it.
        # qemu.qmp has no timeout of its own: a QEMU that never greets must not hang us.
        connect = asyncio.ensure_future(qmp.connect(qmp_socket))
        await asyncio.wait({connect, exited}, timeout=max(deadline - time.monotonic(), 0.05),
                           return_when=asyncio.FIRST_COMPLETED)
        if not connect.done() or connect.cancelled() or connect.exception() is not None:
            connect.cancel()
            if exited.done():
                return _crash(f"QEMU exited with status {exited.result()} before starting the guest", proc,
                              stderr_path, cmd, started)
            if time.monotonic() >= deadline:
                return RunOutcome("qemu", b"", Ending.TIMEOUT, f"QEMU did not offer QMP within the "
                                  f"{config.timeout_s:g} s timeout", None, time.monotonic() - started, cmd)
            return _crash(f"QMP failed ({type(connect.exception()).__name__})", proc, stderr_path, cmd, started)
        try:
            await asyncio.wait_for(qmp.execute("cont"), max(deadline - time.monotonic(), 0.05))
        except (asyncio.TimeoutError, Exception) as exc:  # QMP broke down: QEMU is gone or hung
            return RunOutcome("qemu", b"", Ending.EMULATOR_CRASH,
                              f"QMP 'cont' failed ({type(exc).__name__}): {_first_error(stderr_path)}",
                              proc.poll(), time.monotonic() - started, cmd)
        on_phase("firmware and loader starting")
        stub_running = asyncio.ensure_future(_announce_stub(serial, on_phase))
        if while_guest_runs is not None:
            # In a thread: the event loop must stay free to act at the deadline, however slow a loaded
            # host makes the work.
            loop.run_in_executor(None, while_guest_runs)
        shutdown = asyncio.ensure_future(_next_stop_or_shutdown(listener))
        nmis = asyncio.ensure_future(_send_nmis(qmp, config.nmi_every_s, serial)) if config.nmi_every_s else None
        nothing_booted = asyncio.ensure_future(_firmware_gave_up(serial))
        await asyncio.wait({exited, shutdown, nothing_booted}, timeout=max(deadline - time.monotonic(), 0.01),
                           return_when=asyncio.FIRST_COMPLETED)
        for task in (nmis, nothing_booted, stub_running):
            if task is not None:
                task.cancel()
        if not exited.done() and shutdown.done() and shutdown.result() != "stopped":
            # -no-reboot: QEMU exits right after the SHUTDOWN event.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(exited), 2.0)
        status = None
        if exited.done():
            if not shutdown.done():
                # An event sent just before QEMU exited may still be in flight: read QMP to its end.
                closed = asyncio.ensure_future(_qmp_closed(qmp))
                await asyncio.wait({shutdown, closed}, timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
                closed.cancel()
            reason = shutdown.result() if shutdown.done() and not shutdown.cancelled() else None
            status = exited.result()
            ending, detail = _classify_exit(status, reason)
        elif nothing_booted.done() and not nothing_booted.cancelled() and nothing_booted.exception() is None:
            ending, detail = Ending.NOTHING_BOOTED, "the firmware found nothing it would boot"
        elif shutdown.done() and shutdown.result() == "stopped":
            # The VM stopped without exiting: QEMU paused it on an internal error (e.g. KVM emulation failure).
            ending, detail = Ending.EMULATOR_CRASH, f"the VM stopped: {_first_error(stderr_path)}"
        else:
            ending, detail = Ending.TIMEOUT, f"no exit after {config.timeout_s:g} s"
        shutdown.cancel()
        if ending is Ending.EMULATOR_EXIT and status == 1:
            detail = f"{detail}: {_tail(stderr_path)}".rstrip(": ")
        return RunOutcome("qemu", b"", ending, detail, status, time.monotonic() - started, cmd,
                          emulator_log=_tail(stderr_path, 4000))
    finally:
        if not exited.done():
            exited.cancel()
            proc.stop()  # at the deadline, or on the way out of an error: no QMP 'quit', no grace
        with contextlib.suppress(Exception, EOFError):
            await asyncio.wait_for(qmp.disconnect(), 1.0)


async def _follow(serial: SerialCapture, poll_s: float):
    """The serial output as it grows: after each read that brought bytes, those bytes with the tail of what came
    before (a message split between reads still matches). Ends, quietly, if the capture cannot be read."""
    import asyncio

    seen, offset = b"", 0
    while True:
        try:
            chunk = serial.read_from(offset)
        except OSError:  # cannot happen with an open file; if it does, the watchers stand down
            return
        if chunk:
            offset += len(chunk)
            seen = seen[-256:] + chunk
            yield seen
        else:
            await asyncio.sleep(poll_s)


async def _until_begin_line(serial: SerialCapture, poll_s: float) -> bool:
    """Whether the stub's begin line arrived (False: the capture could not be read)."""
    async for seen in _follow(serial, poll_s):
        if BEGIN_LINE in seen:
            return True
    return False


async def _announce_stub(serial: SerialCapture, on_phase: Callable[[str], object]) -> None:
    if await _until_begin_line(serial, poll_s=0.1):
        on_phase("the stub is running")


async def _send_nmis(qmp, every_s: float, serial: SerialCapture) -> None:
    """QMP inject-nmi at a steady rate, as a watchdog or a BMC would, until the run ends.

    The first NMI waits for the stub's begin line: by then its IDT is loaded (stage/main.c). Before, the
    firmware or the loader runs, and an NMI there can reset or hang the machine. With serial=off or the
    report on another port the line never comes, and no NMI is sent.
    """
    import asyncio

    if not await _until_begin_line(serial, 0.01):
        return
    while True:
        await asyncio.sleep(every_s)
        try:
            await qmp.execute("inject-nmi")
        except Exception:  # QEMU is going away: the run's ending says why
            return


async def _firmware_gave_up(serial: SerialCapture) -> None:
    """Returns once the firmware has said it has nothing left to boot: no report can follow.

    Only the firmware's output is watched: once the stub's begin line has arrived (or the capture cannot be
    read), never again: this never ends a run the stub is in."""
    import asyncio

    async for seen in _follow(serial, 0.25):
        if BEGIN_LINE in seen:
            break
        if gave_up(seen):
            return
    await asyncio.Event().wait()


async def _qmp_closed(qmp) -> None:
    """Returns once the QMP connection has ended (QEMU closed it)."""
    from qemu.qmp import Runstate
    while qmp.runstate is Runstate.RUNNING:
        await qmp.runstate_changed()


async def _next_stop_or_shutdown(listener) -> str:
    """'stopped' for a STOP event, else the SHUTDOWN event's reason (QMP reference: SHUTDOWN, STOP)."""
    event = await listener.get()
    if event["event"] in ("STOP", "GUEST_PANICKED"):
        return "stopped"
    if event["event"] == "RESET":
        return "guest-reset"
    return str(event.get("data", {}).get("reason", "unknown"))


def _classify_exit(status: int, shutdown_reason: str | None) -> tuple[Ending, str]:
    if shutdown_reason == "guest-reset":
        return Ending.TRIPLE_FAULT, "the guest reset the machine (triple fault)"
    if status == ports.QEMU_DEBUG_EXIT_STATUS:
        return Ending.GUEST_EXIT, "the stub exited through isa-debug-exit"
    if status < 0:
        return Ending.EMULATOR_CRASH, f"QEMU was killed by signal {-status}"
    if status & 1 and status > 1:
        return Ending.GUEST_EXIT, f"isa-debug-exit with value {status >> 1}"
    if shutdown_reason:
        return Ending.EMULATOR_EXIT, f"QEMU shut down ({shutdown_reason})"
    return Ending.EMULATOR_EXIT, f"QEMU exited with status {status}"


def _tail(path: Path, limit: int = 400) -> str:
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return ""
    return text[-limit:].replace("\n", " | ") if limit < 1000 else text[-limit:]


def _first_error(path: Path) -> str:
    """The first line of QEMU's stderr that reads like an error (for one-line messages)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "no message"
    for line in lines:
        if "error" in line.lower() or "failure" in line.lower():
            return line.strip()
    return lines[0].strip() if lines else "no message"
