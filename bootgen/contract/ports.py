"""I/O ports the stub and the emulators agree on."""

from __future__ import annotations

#: The standard PC serial ports (COM1-COM4); the stub writes to COM1 unless told otherwise.
COM_PORTS = {"COM1": 0x3F8, "COM2": 0x2F8, "COM3": 0x3E8, "COM4": 0x2E8}
DEFAULT_SERIAL_PORT = COM_PORTS["COM1"]
#: The highest base a 16550 (8 registers) can have in the 64 KiB I/O space.
MAX_SERIAL_PORT = 0xFFF8

#: QEMU's isa-debug-exit device: a write of VALUE makes QEMU exit with (VALUE << 1) | 1.
QEMU_DEBUG_EXIT_PORT = 0xF4
#: Never 0: QEMU's own error exit is 1, the same status a value of 0 gives.
QEMU_DEBUG_EXIT_VALUE = 0x1
QEMU_DEBUG_EXIT_STATUS = (QEMU_DEBUG_EXIT_VALUE << 1) | 1

#: Bochs stops when "Shutdown" is written to this port (its "unmapped" device).
BOCHS_SHUTDOWN_PORT = 0x8900
BOCHS_SHUTDOWN_STRING = "Shutdown"
