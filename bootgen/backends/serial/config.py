"""What one read of a box's console needs: where the console is, its speed, how long to wait, how to power-cycle."""

from __future__ import annotations

from dataclasses import dataclass

from .. import defaults

#: The stub's line settings (stage/out/serial.c): 115200 8N1, no flow control.
DEFAULT_BAUD = 115200
#: A real box's firmware takes its time: POST, the boot menu, GRUB, then the stub.
DEFAULT_TIMEOUT_S = defaults.SERIAL_TIMEOUT_S


@dataclass(frozen=True)
class SerialConfig:
    device: str                        # /dev/ttyUSB0, tcp://HOST:PORT, rfc2217://HOST:PORT, or - (standard input)
    baud: int = DEFAULT_BAUD
    timeout_s: float = DEFAULT_TIMEOUT_S
    power_cycle: str | None = None     # a shell command run once the console is open (a PDU, ipmitool, ...)
