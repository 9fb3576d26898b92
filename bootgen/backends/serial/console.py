"""The box's console as a byte stream with a bounded wait: pyserial for serial devices and RFC 2217 ports, a TCP
socket for ``tcp://`` consoles, plain reads for standard input."""

from __future__ import annotations

import os
import select
import socket
import sys
import time
from typing import Protocol

from ...errors import ToolMissing, UsageError

#: How much one read may take before the caller looks at the clock again.
POLL_S = 0.2
#: A line that reads as ready and empty for this long has hung up.
HANGUP_S = 2.0


class Console(Protocol):
    def read(self) -> bytes: ...        # what arrived within about POLL_S; b"" when nothing did
    def close(self) -> None: ...


class PySerialConsole:
    """A serial device (pyserial sets the line: speed, 8N1, raw, no flow control) or an RFC 2217 port."""

    def __init__(self, device: str, baud: int) -> None:
        try:
            import serial
        except ImportError:
            raise ToolMissing("the serial backend needs pyserial: pip install 'bootgen[serial]'") from None
        try:
            self.port = serial.serial_for_url(device, baudrate=baud, bytesize=8, parity="N", stopbits=1,
                                              xonxoff=False, rtscts=False, timeout=POLL_S)
        except ValueError as exc:
            raise UsageError(f"cannot open the console {device}: {exc}") from None
        except serial.SerialException as exc:  # missing, not permitted, busy: this machine's state, exit 4
            raise ToolMissing(f"cannot open the console {device}: {exc}") from None
        self.device = device
        self.empty_reads = 0
        try:
            self.fd: int | None = self.port.fileno()
        except (AttributeError, OSError, ValueError, NotImplementedError):
            self.fd = None  # rfc2217://: no descriptor of its own

    def read(self) -> bytes:
        import serial
        try:
            if self.fd is not None:
                # The descriptor itself: what is there, and EIO (a hung-up line) only once it is drained;
                # pyserial's own read drops what it had gathered when the line goes away.
                ready, _, _ = select.select([self.fd], [], [], POLL_S)
                if not ready:
                    return b""
                try:
                    data = os.read(self.fd, 1 << 16)
                except (BlockingIOError, InterruptedError):  # another reader took it first
                    return b""
                if data:
                    self.empty_reads = 0
                    return data
                # Ready but empty: a raw terminal (VMIN 0) now and then; every time for a while: hung up.
                self.empty_reads += 1
                if self.empty_reads * POLL_S / 4 >= HANGUP_S:
                    raise EOFError(f"the console {self.device} hung up")
                time.sleep(POLL_S / 4)
                return b""
            return self.port.read(max(self.port.in_waiting, 1))
        except (serial.SerialException, OSError) as exc:  # unplugged, hung up (EIO)
            raise EOFError(f"the console {self.device} went away: {exc}") from None

    def close(self) -> None:
        self.port.close()


class SocketConsole:
    """A console on TCP (ser2net, a console server, a BMC's Serial-over-LAN bridged to TCP): raw bytes."""

    def __init__(self, device: str) -> None:
        host, _, port = device.removeprefix("tcp://").rpartition(":")
        if not host or not port.isdigit():
            raise UsageError(f"a TCP console is tcp://HOST:PORT, not {device}")
        try:
            self.sock = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        except OSError as exc:  # refused, unreachable, timed out: the network's state, exit 4
            raise ToolMissing(f"cannot open the console {device}: {exc.strerror or exc}") from None
        self.device = device

    def read(self) -> bytes:
        ready, _, _ = select.select([self.sock], [], [], POLL_S)
        if not ready:
            return b""
        try:
            data = self.sock.recv(1 << 16)
        except OSError as exc:
            raise EOFError(f"the console {self.device} went away: {exc}") from None
        if not data:
            raise EOFError(f"the console {self.device} closed the connection")
        return data

    def close(self) -> None:
        self.sock.close()


class StdinConsole:
    """Standard input (``ipmitool sol activate | bootgen run --backend serial --device -``)."""

    def __init__(self) -> None:
        try:
            self.fd = sys.stdin.fileno()
        except (AttributeError, ValueError, OSError):
            raise UsageError("--device - reads standard input, which is closed") from None
        self.ended = False

    def read(self) -> bytes:
        if self.ended:
            raise EOFError("standard input ended")
        ready, _, _ = select.select([self.fd], [], [], POLL_S)
        if not ready:
            return b""
        data = os.read(self.fd, 1 << 16)
        if not data:
            self.ended = True
            raise EOFError("standard input ended")
        return data

    def close(self) -> None:
        pass


def open_console(device: str, baud: int) -> Console:
    if device == "-":
        return StdinConsole()
    if device.startswith("tcp://"):
        return SocketConsole(device)
    return PySerialConsole(device, baud)
