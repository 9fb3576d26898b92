"""What firmware prints on the serial console before the stub runs, when it will not run it.

OVMF's boot manager (BdsDxe) logs each boot option it tries; with Secure Boot
on, an unsigned loader is refused with the UEFI status EFI_ACCESS_DENIED or
EFI_SECURITY_VIOLATION (UEFI Specification 2.10, 32.4 "Firmware/OS Key
Exchange": LoadImage() returns them for an image that fails verification).
Both OVMF and SeaBIOS say when they found nothing left to boot; from then on
the run can never produce a report, so it ends at once instead of at its
deadline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..contract.project import BEGIN_MARK

#: The stub's first line starts with this; what comes after is not the firmware's.
BEGIN_LINE = BEGIN_MARK.encode()
#: ANSI control sequences OVMF's terminal driver writes around its text.
_ESCAPES = re.compile(rb"\x1b\[[0-9;=?]*[A-Za-z]")
#: BdsDxe: failed to load Boot0001 "UEFI QEMU DVD-ROM QM00005 " from PciRoot(...): Access Denied
_REFUSED = re.compile(rb'BdsDxe: failed to (?:load|start) (Boot[0-9A-Fa-f]{4}) "([^"\r\n]*)"[^\r\n]*?: '
                      rb"(Access Denied|Security Violation)")
#: The last words of a firmware with nothing left to boot.
GAVE_UP = (b"BdsDxe: No bootable option or device was found", b"No bootable device.")


@dataclass(frozen=True)
class Refusal:
    """One boot option the firmware would not start because its signature did not verify."""

    option: str       # Boot0001
    description: str  # "UEFI QEMU DVD-ROM QM00005"
    status: str       # Access Denied | Security Violation
    line: str         # the firmware's line, as printed

    @property
    def summary(self) -> str:
        return f"{self.option} \"{self.description}\": {self.status}"


def _before_report(serial: bytes) -> bytes:
    """The firmware's part of the output: everything before the stub's first line."""
    begin = serial.find(BEGIN_LINE)
    return _ESCAPES.sub(b"", serial if begin < 0 else serial[:begin])


def secure_boot_refusals(serial: bytes) -> list[Refusal]:
    """Each boot option the firmware refused for Secure Boot, in the order it tried them."""
    found = []
    for match in _REFUSED.finditer(_before_report(serial)):
        option, description, status = (part.decode("latin-1") for part in match.groups())
        found.append(Refusal(option, description.strip(), status,
                             match.group(0).decode("latin-1")))
    return found


def gave_up(serial_tail: bytes) -> bool:
    """Whether the firmware has said that it found nothing it would boot."""
    text = _ESCAPES.sub(b"", serial_tail)
    return BEGIN_LINE not in text and any(words in text for words in GAVE_UP)
