"""The box's console as a byte stream with a bounded wait: pyserial for devices and network consoles (its URL
handlers: ``socket://``, ``rfc2217://``), plain reads for standard input."""

from __future__ import annotations

import os
import select
import sys
from typing import Protocol

from ...errors import ToolMissing, UsageError

#: How much one read may take before the caller looks at the clock again.
POLL_S = 0.2


class Console(Protocol):
    def read(self) -> bytes: ...        # what arrived within about POLL_S; b"" when nothing did
    def close(self) -> None: ...


def pyserial_url(device: str) -> str:
    """The pyserial URL for a --device value: ``tcp://H:P`` is pyserial's ``socket://H:P``; paths stay paths."""
    if device.startswith("tcp://"):
        return "socket://" + device.removeprefix("tcp://")
    return device


class PySerialConsole:
    def __init__(self, device: str, baud: int) -> None:
        try:
            import serial
        except ImportError:
            raise ToolMissing("the serial backend needs pyserial: pip install 'bootgen[serial]'") from None
        try:
            self.port = serial.serial_for_url(pyserial_url(device), baudrate=baud, bytesize=8, parity="N",
                                              stopbits=1, xonxoff=False, rtscts=False, timeout=POLL_S)
        except (serial.SerialException, ValueError) as exc:
            raise UsageError(f"cannot open the console {device}: {exc}") from None
        self.device = device

    def read(self) -> bytes:
        import serial
        try:
            waiting = max(self.port.in_waiting, 1) if hasattr(self.port, "in_waiting") else 1
            return self.port.read(min(waiting, 1 << 16))
        except serial.SerialException as exc:
            raise EOFError(f"the console {self.device} went away: {exc}") from None

    def close(self) -> None:
        self.port.close()


class StdinConsole:
    """Standard input (``ipmitool sol activate | bootgen run --backend serial --device -``)."""

    def __init__(self) -> None:
        self.fd = sys.stdin.fileno()
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
    return StdinConsole() if device == "-" else PySerialConsole(device, baud)
