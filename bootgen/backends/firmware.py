"""Locate the firmware images QEMU boots with (Debian package paths: ovmf, seabios)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ToolMissing

#: OVMF code/variable store pairs, in order of preference (Debian's ovmf package).
OVMF_CANDIDATES = (
    (Path("/usr/share/OVMF/OVMF_CODE_4M.fd"), Path("/usr/share/OVMF/OVMF_VARS_4M.fd")),
    (Path("/usr/share/OVMF/OVMF_CODE.fd"), Path("/usr/share/OVMF/OVMF_VARS.fd")),
    (Path("/usr/share/ovmf/OVMF.fd"), None),
)
#: Secure Boot builds (SMM required, q35 only) with the Microsoft keys enrolled in the variable store.
OVMF_SECBOOT_CANDIDATES = (
    (Path("/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"), Path("/usr/share/OVMF/OVMF_VARS_4M.ms.fd")),
    (Path("/usr/share/OVMF/OVMF_CODE.secboot.fd"), Path("/usr/share/OVMF/OVMF_VARS.ms.fd")),
)


@dataclass(frozen=True)
class Ovmf:
    code: Path
    vars_template: Path | None


def _under(root: Path, path: Path) -> Path:
    return root / str(path).lstrip("/")


def find_ovmf(root: Path = Path("/"), secure_boot: bool = False) -> Ovmf:
    """The first OVMF pair installed (looked up below ``root``); ToolMissing when there is none."""
    for code, vars_template in OVMF_SECBOOT_CANDIDATES if secure_boot else OVMF_CANDIDATES:
        if _under(root, code).is_file() and (vars_template is None or _under(root, vars_template).is_file()):
            return Ovmf(code, vars_template)
    what = "OVMF Secure Boot firmware with Microsoft keys" if secure_boot else "OVMF firmware"
    raise ToolMissing(f"{what} not found (install Debian's 'ovmf' package)")


def ovmf_available(root: Path = Path("/"), secure_boot: bool = False) -> bool:
    try:
        find_ovmf(root, secure_boot)
    except ToolMissing:
        return False
    return True
