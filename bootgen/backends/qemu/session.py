"""Boot the stub under QEMU, driven over QMP (qemu.qmp), and capture its serial output.

QEMU is started paused (-S), before bootgen imports asyncio and qemu.qmp, so
that both start up at the same time. Two unix sockets in a private 0700
directory connect them: the serial port, on which bootgen listens before QEMU
starts (so no early byte is lost), and QMP, on which QEMU listens and waits
(paused) until bootgen connects and says 'cont'. No TCP port is ever opened.
The run ends when the stub exits through isa-debug-exit, the machine resets
(triple fault; -no-reboot turns it into an exit and a SHUTDOWN event), QEMU
exits for another reason, or the timeout expires.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

from ...contract import ports
from ...errors import ToolMissing, UsageError
from .. import defaults
from ..outcome import Ending, RunOutcome
from ..process import EmulatorProcess, private_directory
from .command import qemu_command
from .config import QemuConfig, validate

STARTUP_TIMEOUT_S = defaults.QEMU_STARTUP_TIMEOUT_S


def run_qemu(config: QemuConfig, while_guest_runs: Callable[[], object] | None = None) -> RunOutcome:
    """Boot once. QEMU is started (paused) before the slow imports, which then overlap its start-up.

    ``while_guest_runs`` is called once the guest has been started, for work (such as
    imports) that the caller would otherwise do after the run.
    """
    validate(config)
    started = time.monotonic()
    with private_directory("bootgen-qemu-") as workdir, \
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as serial_listener:
        qmp_socket, serial_socket = workdir / "qmp.sock", workdir / "serial.sock"
        stderr_path = workdir / "qemu.stderr"
        # bootgen listens on the serial socket before QEMU starts, so no early byte is lost.
        try:
            serial_listener.bind(str(serial_socket))
            serial_listener.listen(1)
        except OSError as exc:  # e.g. a $TMPDIR so long that the socket path exceeds 107 bytes
            raise UsageError(f"cannot create a socket in {workdir}: {exc.strerror or exc} "
                             "(set TMPDIR to a short, writable directory)") from None
        cmd = qemu_command(config, qmp_socket, serial_socket, workdir)
        try:
            proc = EmulatorProcess.start(cmd, stderr=stderr_path)
        except OSError as exc:
            raise ToolMissing(f"cannot start {config.qemu}: {exc.strerror}") from None
        with proc:
            import asyncio  # slow to import: QEMU is already starting meanwhile

            return asyncio.run(_drive(config, proc, serial_listener, qmp_socket, stderr_path, cmd, started,
                                      while_guest_runs))


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


async def _connect_qmp(qmp, path: Path, exited, deadline: float) -> bool:
    """Connect to QEMU's QMP socket once it exists; False if QEMU exits or the deadline passes."""
    import asyncio

    from qemu.qmp import ConnectError
    while not exited.done() and time.monotonic() < deadline:
        if path.exists():
            try:
                # qemu.qmp has no timeout of its own: a QEMU that accepts but never greets must not hang us.
                await asyncio.wait_for(qmp.connect(str(path)), max(deadline - time.monotonic(), 0.1))
                return True
            except (ConnectError, asyncio.TimeoutError):
                pass
        await asyncio.sleep(0.005)
    return False


async def _drive(config: QemuConfig, proc: EmulatorProcess, serial_listener: socket.socket, qmp_socket: Path,
                 stderr_path: Path, cmd: list[str], started: float,
                 while_guest_runs: Callable[[], object] | None) -> RunOutcome:
    import asyncio

    try:
        from qemu.qmp import EventListener, QMPClient
    except ImportError:
        raise ToolMissing("the Python package qemu.qmp is not installed (pip install qemu.qmp)") from None

    loop = asyncio.get_running_loop()
    serial = bytearray()
    serial_closed = asyncio.Event()

    async def on_serial(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                serial.extend(chunk)
        finally:
            serial_closed.set()
            writer.close()

    serial_server = await asyncio.start_unix_server(on_serial, sock=serial_listener)
    exited = _exit_future(loop, proc)
    qmp = QMPClient("bootgen")
    listener = EventListener(("SHUTDOWN", "RESET", "STOP", "GUEST_PANICKED"))
    qmp.register_listener(listener)
    try:
        if not await _connect_qmp(qmp, qmp_socket, exited, started + STARTUP_TIMEOUT_S):
            if exited.done():
                why = f"QEMU exited with status {proc.returncode} before starting the guest"
            else:
                why = "QEMU did not offer QMP in time"
            detail = f"{why}: {_tail(stderr_path)}".rstrip(": ")
            return RunOutcome("qemu", bytes(serial), Ending.EMULATOR_CRASH, detail, proc.poll(),
                              time.monotonic() - started, cmd)

        try:
            await asyncio.wait_for(qmp.execute("cont"), STARTUP_TIMEOUT_S)
        except (asyncio.TimeoutError, Exception) as exc:  # QMP broke down: QEMU is gone or hung
            return RunOutcome("qemu", bytes(serial), Ending.EMULATOR_CRASH,
                              f"QMP 'cont' failed ({type(exc).__name__}): {_first_error(stderr_path)}",
                              proc.poll(), time.monotonic() - started, cmd)
        if while_guest_runs is not None:
            while_guest_runs()
        shutdown = asyncio.ensure_future(_next_stop_or_shutdown(listener))
        remaining = max(config.timeout_s - (time.monotonic() - started), 0.1)
        await asyncio.wait({exited, shutdown}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
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
        elif shutdown.done() and shutdown.result() == "stopped":
            # The VM stopped without exiting: QEMU paused it on an internal error (e.g. KVM emulation failure).
            ending, detail = Ending.EMULATOR_CRASH, f"the VM stopped: {_first_error(stderr_path)}"
            with contextlib.suppress(Exception):
                await asyncio.wait_for(qmp.execute("quit"), 0.5)
        else:
            ending, detail = Ending.TIMEOUT, f"no exit after {config.timeout_s:g} s"
            with contextlib.suppress(Exception):
                await asyncio.wait_for(qmp.execute("quit"), 0.5)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(exited), 0.5)
        shutdown.cancel()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(serial_closed.wait(), 1.0)
        if ending is Ending.EMULATOR_EXIT and status == 1:
            detail = f"{detail}: {_tail(stderr_path)}".rstrip(": ")
        return RunOutcome("qemu", bytes(serial), ending, detail, status, time.monotonic() - started, cmd,
                          emulator_log=_tail(stderr_path, 4000))
    finally:
        if not exited.done():
            exited.cancel()
            proc.stop()
        with contextlib.suppress(Exception, EOFError):
            await qmp.disconnect()
        serial_server.close()
        with contextlib.suppress(Exception):
            await serial_server.wait_closed()


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
