"""QEMU: the configuration and its checks (``config``), the command line (``command``), and one run driven
over QMP (``session``)."""

from .config import QemuConfig
from .session import run_qemu

__all__ = ["QemuConfig", "run_qemu"]
