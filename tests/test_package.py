"""bootgen as users install it: a wheel, outside the checkout, carrying the stub's sources."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from bootgen.contract.project import VERSION

from conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_source_folder_travels_in_the_wheel():
    """pyproject.toml lists the data-file folders one by one: a new folder in stage/ must be added there."""
    listed = set(PYPROJECT["tool"]["setuptools"]["data-files"])
    folders = {p for p in (ROOT / "stage").rglob("*") if p.is_dir() and p.name != "__pycache__"} | {ROOT / "stage"}
    wanted = {f"share/bootgen/{p.relative_to(ROOT).as_posix()}" for p in folders} | {"share/bootgen/linker",
                                                                                     "share/bootgen/docs/labgrid"}
    assert wanted == listed, wanted ^ listed


@pytest.mark.qemu
@pytest.mark.grub
def test_an_installed_wheel_builds_and_boots_from_anywhere(tmp_path):
    wheels, venv, work = tmp_path / "wheels", tmp_path / "venv", tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("BOOTGEN_SOURCE_DIR", "PYTHONPATH")}
    env["BOOTGEN_CACHE_DIR"] = str(tmp_path / "cache")

    def run(*cmd: str, cwd: Path = work, timeout: float = 300) -> subprocess.CompletedProcess:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        assert proc.returncode == 0, f"{cmd}: {proc.stdout[-800:]} {proc.stderr[-800:]}"
        return proc

    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT))
    (wheel,) = wheels.glob("bootgen-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    carried = {n.split("/share/bootgen/", 1)[1] for n in names if "/share/bootgen/" in n}
    sources = {p.relative_to(ROOT).as_posix() for folder in ("stage", "linker") for p in (ROOT / folder).rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    sources |= {p.relative_to(ROOT).as_posix() for p in (ROOT / "docs" / "labgrid").glob("*.yaml")}
    assert carried == sources, carried ^ sources  # every source file and labgrid environment, and nothing else
    assert "bootgen/py.typed" in names and any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names
    run(sys.executable, "-m", "venv", str(venv))
    run(str(venv / "bin" / "pip"), "install", "-q", str(wheel))
    bootgen = str(venv / "bin" / "bootgen")
    where = run(str(venv / "bin" / "python"), "-c", "import bootgen, bootgen.locations as l; "
                "print(bootgen.__file__); print(l.source_root())").stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where  # not the checkout
    assert run(bootgen, "--version").stdout.strip() == f"bootgen {VERSION}"
    run(bootgen, "build", "-o", "stub.elf")
    run(bootgen, "iso", "-o", "bootgen.iso")
    assert (work / "stub.elf").stat().st_size > 0 and (work / "bootgen.iso").stat().st_size > 0
    run(bootgen, "run", "--backend", "qemu", "--expect", "svm-ready")  # TCG emulates AMD-V
    doctor = subprocess.run([bootgen, "doctor"], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert "PASS  stub-sources" in doctor.stdout, doctor.stdout


@pytest.mark.qemu
def test_the_readme_api_example_runs(tmp_path):
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Python API"):]
    example = section[section.index("```python\n") + 10:section.index("\n```", section.index("```python"))]
    (tmp_path / "test_example.py").write_text(example + "\n")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_example.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout[-1500:]
