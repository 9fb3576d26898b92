"""Where the stub's sources live and where build outputs go."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .errors import BootgenError, BuildError

DEFAULT_BUILD_DIR = Path("build")
DEFAULT_ELF = DEFAULT_BUILD_DIR / "stub.elf"
DEFAULT_ISO = DEFAULT_BUILD_DIR / "bootgen.iso"


def source_root() -> Path:
    """The checkout that holds stage/ and linker/ (BOOTGEN_SOURCE_DIR overrides)."""
    override = os.environ.get("BOOTGEN_SOURCE_DIR")
    candidates = [Path(override)] if override else []
    candidates.append(Path(__file__).resolve().parent.parent)
    for root in candidates:
        if (root / "stage").is_dir() and (root / "linker" / "stub.ld").is_file():
            return root
    raise BuildError("stub sources not found: install bootgen from its checkout "
                     "(pip install -e .) or set BOOTGEN_SOURCE_DIR to it")


def write_atomically(path: Path, data: bytes) -> None:
    """Write a whole file or nothing: a temporary file in the same folder, synced, then renamed.

    Earlier contents stay intact if anything fails; concurrent writers never see a partial file.
    """
    import tempfile  # here, not at the top: `bootgen run` imports this module before QEMU starts

    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    tmp_name = None
    try:
        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as exc:
        raise BootgenError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


def cache_dir() -> Path:
    """Where bootgen keeps what does not change between runs (GRUB core images, ELF layouts).

    BOOTGEN_CACHE_DIR overrides; otherwise $XDG_CACHE_HOME/bootgen or ~/.cache/bootgen.
    Entries are keyed by content hashes, so a stale entry is never used.
    """
    override = os.environ.get("BOOTGEN_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bootgen"
