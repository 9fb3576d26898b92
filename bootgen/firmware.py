"""Locate the firmware images QEMU boots with (Debian package paths: ovmf, seabios)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import ToolMissing

#: OVMF code/variable store pairs, in order of preference (Debian's ovmf package).
OVMF_CANDIDATES = (
    (Path("/usr/share/OVMF/OVMF_CODE_4M.fd"), Path("/usr/share/OVMF/OVMF_VARS_4M.fd")),
    (Path("/usr/share/OVMF/OVMF_CODE.fd"), Path("/usr/share/OVMF/OVMF_VARS.fd")),
    (Path("/usr/share/ovmf/OVMF.fd"), None),
)


@dataclass(frozen=True)
class Ovmf:
    code: Path
    vars_template: Path | None


def find_ovmf() -> Ovmf:
    for code, vars_template in OVMF_CANDIDATES:
        if code.is_file() and (vars_template is None or vars_template.is_file()):
            return Ovmf(code, vars_template)
    raise ToolMissing("OVMF firmware not found (install Debian's 'ovmf' package)")


def ovmf_available() -> bool:
    try:
        find_ovmf()
    except ToolMissing:
        return False
    return True
