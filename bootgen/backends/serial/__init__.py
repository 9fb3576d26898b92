"""A real box read over its serial console (``--backend serial``): a serial device through pyserial, a TCP
console (ser2net, a console server, a BMC's Serial-over-LAN), or standard input."""

from .config import SerialConfig
from .run import run_serial

__all__ = ["SerialConfig", "run_serial"]
