"""Shared fixtures: a stub built once per session, and helpers to run the CLI."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bootgen.image.build import BuildConfig, build_stub

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def pytest_collection_modifyitems(config, items):
    """Skip emulator tests, with the reason, where the emulator or tool is missing."""
    missing = {
        "qemu": None if shutil.which("qemu-system-x86_64") else "qemu-system-x86_64 is not installed",
        "bochs": None if shutil.which("bochs") else "bochs is not installed",
        "grub": None if shutil.which("grub-mkimage") else "grub-mkimage is not installed",
        "labgrid": None if importlib.util.find_spec("labgrid") else
        "labgrid is not installed (pip install 'bootgen[labgrid]')",
    }
    for item in items:
        for marker, reason in missing.items():
            if reason and marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def stub_elf(tmp_path_factory) -> Path:
    if shutil.which("gcc") is None or shutil.which("ld") is None:
        pytest.skip("gcc/ld are not installed")
    out = tmp_path_factory.mktemp("stub")
    return build_stub(BuildConfig(output=out / "stub.elf", build_dir=out / "build")).path


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `python -m bootgen ARGS` as a user would; returns the completed process (text)."""
    env = dict(os.environ, NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "bootgen", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env, timeout=timeout)
