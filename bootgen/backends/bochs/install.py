"""Find Bochs and what it needs (its BIOS, the VGA BIOS, the SDL2 display plugin) and the CPU models it emulates."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ...errors import ToolMissing
from .. import defaults

# Debian's locations (packages bochsbios, vgabios, bochs-sdl).
BIOS_CANDIDATES = (Path("/usr/share/bochs/BIOS-bochs-latest"),)
VGA_BIOS_CANDIDATES = (
    Path("/usr/share/vgabios/vgabios.bin"),
    Path("/usr/share/bochs/VGABIOS-lgpl-latest"),
)
PLUGIN_DIR_GLOBS = ("/usr/lib/*/bochs/plugins", "/usr/lib/bochs/plugins", "/usr/local/lib/bochs/plugins")
SDL2_PLUGIN = "libbx_sdl2_gui.so"
INSTALL_HINT = "install the Debian packages bochs, bochs-sdl, bochsbios and vgabios"

_MODEL_NAME = re.compile(r"^[a-z0-9_]+$")
_PLUGIN_DEFAULT = re.compile(r"using compile time default '(?P<dir>[^']+)'")


@dataclass(frozen=True)
class BochsInstallation:
    """The programs and files one Bochs run needs."""

    bochs: Path
    bios: Path
    vga_bios: Path
    plugin_dir: Path


@functools.cache
def _help_cpu_output(bochs: str) -> str:
    """Bochs's answer to ``--help cpu`` (model list on stderr, banner on stdout)."""
    try:
        done = subprocess.run(
            [bochs, "--help", "cpu"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=30,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ToolMissing(f"bochs not found ({bochs}); {INSTALL_HINT}") from exc
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolMissing(f"could not run {bochs} --help cpu: {exc}") from exc
    return done.stdout.decode("utf-8", errors="replace")


def parse_cpu_models(help_text: str) -> list[str]:
    """The model names listed after ``Supported CPU models:``."""
    models: list[str] = []
    lines = iter(help_text.splitlines())
    for line in lines:
        if line.strip() == "Supported CPU models:":
            break
    for line in lines:
        name = line.strip()
        if not name:
            if models:
                break
            continue
        if not _MODEL_NAME.match(name):
            break
        models.append(name)
    return models


def list_cpu_models(bochs: str = defaults.BOCHS_BINARY) -> list[str]:
    """The CPU models this Bochs build emulates (``bochs --help cpu``)."""
    models = parse_cpu_models(_help_cpu_output(bochs))
    if not models:
        raise ToolMissing(f"{bochs} --help cpu listed no CPU models")
    return list(models)


def _first_existing(candidates: tuple[Path, ...]) -> Path | None:
    return next((path for path in candidates if path.is_file()), None)


def _plugin_dirs(help_text: str) -> list[Path]:
    """Where Bochs loads plugins from: LTDL_LIBRARY_PATH, else its compiled-in default."""
    env = os.environ.get("LTDL_LIBRARY_PATH")
    if env:
        return [Path(part) for part in env.split(os.pathsep) if part]
    found = _PLUGIN_DEFAULT.search(help_text)
    dirs = [Path(found["dir"])] if found else []
    for pattern in PLUGIN_DIR_GLOBS:
        dirs.extend(sorted(Path("/").glob(pattern.lstrip("/"))))
    return dirs


def find_installation(bochs: str = defaults.BOCHS_BINARY) -> BochsInstallation:
    """Locate bochs, its BIOS, VGA BIOS and SDL2 display plugin, or raise ToolMissing."""
    program = shutil.which(bochs)
    if program is None:
        raise ToolMissing(f"{bochs} not found; {INSTALL_HINT}")
    bios = _first_existing(BIOS_CANDIDATES)
    if bios is None:
        raise ToolMissing(f"Bochs BIOS not found ({BIOS_CANDIDATES[0]}); install the Debian package bochsbios")
    vga_bios = _first_existing(VGA_BIOS_CANDIDATES)
    if vga_bios is None:
        raise ToolMissing(f"VGA BIOS not found ({VGA_BIOS_CANDIDATES[0]}); install the Debian package vgabios")
    plugin_dir = next((d for d in _plugin_dirs(_help_cpu_output(program)) if (d / SDL2_PLUGIN).is_file()), None)
    if plugin_dir is None:
        raise ToolMissing(f"Bochs display plugin {SDL2_PLUGIN} not found; install the Debian package bochs-sdl")
    return BochsInstallation(Path(program), bios, vga_bios, plugin_dir)
