"""A labgrid console driver (any ``ConsoleProtocol``: ``SerialDriver``, ``QEMUDriver``, an SSH or USB console)
as the byte stream bootgen's report reader takes (``backends/serial/console.py``'s ``Console``)."""

from __future__ import annotations

from typing import Any

from ..backends.serial.console import POLL_S


class LabgridConsole:
    """``read()`` returns what arrived within about POLL_S, b"" when nothing did, and raises EOFError when the
    console went away. labgrid's consoles raise pexpect's TIMEOUT when nothing arrived, return b"" only when
    the other side closed (QEMUDriver's socket) and raise an OSError (serial's SerialException is one) when
    the line is gone."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def read(self) -> bytes:
        from pexpect import TIMEOUT  # labgrid's own dependency
        try:
            data = self.driver.read(size=1, timeout=POLL_S, max_size=1 << 16)
        except TIMEOUT:
            return b""
        except (OSError, EOFError) as exc:  # serial.SerialException is an OSError: unplugged, hung up, reset
            raise EOFError(f"the console {self.driver} went away: {exc}") from None
        if not data:
            raise EOFError(f"the console {self.driver} closed")
        return bytes(data)

    def close(self) -> None:
        """labgrid owns the driver: it closes it when the target is cleaned up."""
