"""Where the stub's sources are, where build outputs go, and where bootgen caches what does not change."""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

from .errors import BootgenError, BuildError

DEFAULT_BUILD_DIR = Path("build")
DEFAULT_ELF = DEFAULT_BUILD_DIR / "stub.elf"
DEFAULT_ISO = DEFAULT_BUILD_DIR / "bootgen.iso"


#: Where an installed (non-editable) copy keeps the stub's sources: <prefix>/share/bootgen (pyproject.toml).
INSTALLED_SOURCES = Path("share") / "bootgen"


def source_candidates() -> list[Path]:
    """Where the stub's sources are looked for, in order: BOOTGEN_SOURCE_DIR, the checkout this package
    runs from, the installed copy's data files."""
    override = os.environ.get("BOOTGEN_SOURCE_DIR")
    candidates = [Path(override)] if override else []
    candidates.append(Path(__file__).resolve().parent.parent)
    if (installed := _installed_sources()) is not None:
        candidates.append(installed)
    candidates.append(Path(sysconfig.get_paths()["data"]) / INSTALLED_SOURCES)
    return candidates


def _installed_sources() -> Path | None:
    """Where the installed distribution put its data files, whatever the scheme (--user, --prefix, a venv)."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        files = distribution("bootgen").files or []
    except PackageNotFoundError:
        return None
    marker = (INSTALLED_SOURCES / "linker" / "stub.ld").as_posix()
    for file in files:
        if file.as_posix().endswith(marker):
            return Path(str(file.locate())).resolve().parent.parent
    return None


def source_root() -> Path:
    """The folder that holds stage/ and linker/: a checkout, or an installed copy's data files."""
    for root in source_candidates():
        if (root / "stage").is_dir() and (root / "linker" / "stub.ld").is_file():
            return root
    raise BuildError("stub sources not found: reinstall bootgen (pip install bootgen, or pip install -e . "
                     "from its checkout) or set BOOTGEN_SOURCE_DIR to a checkout")


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


def cache_subdir(*parts: str) -> Path:
    """A folder of the cache, created when missing; one clear line when the cache is not writable."""
    path = cache_dir().joinpath(*parts)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BootgenError(f"cannot create the cache folder {path}: {exc.strerror or exc} "
                           "(set BOOTGEN_CACHE_DIR to a writable directory)") from None
    return path
