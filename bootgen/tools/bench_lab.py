"""The labgrid figure of `scripts/bench`: what reading a box through labgrid costs against bootgen's own QEMU
run, both booting the stub on 2 CPUs under TCG: labgrid's QEMUDriver (from docs/labgrid/qemu.yaml, which also
starts QEMU paused and resumes it over QMP) against ``bootgen run --backend qemu``. A figure to watch, no target.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from ..locations import source_root

if TYPE_CHECKING:
    from .bench import Bench, Figure


def measure_lab(bench: Bench, elf: Path, figure: type[Figure]) -> None:
    bench.json["labgrid_qemu_seconds"] = None
    env_source = source_root() / "docs" / "labgrid" / "qemu.yaml"
    if importlib.util.find_spec("labgrid") is None or not env_source.is_file():
        bench.figures.append(figure("labgrid QEMUDriver run", None, note="labgrid is not installed"))
        return
    env = bench.work / "docs" / "labgrid" / "qemu.yaml"  # where its ../../build/stub.elf is this stub
    env.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(env_source, env)
    (bench.work / "build").mkdir(exist_ok=True)
    shutil.copyfile(elf, bench.work / "build" / "stub.elf")
    bg = bench.bootgen
    times = bench.interleaved({
        "labgrid": ([*bg, "run", "--backend", "labgrid", "--lg-env", str(env)], (0,)),
        "qemu": ([*bg, "run", "--backend", "qemu", "--image", str(elf), "--smp", "2"], (0,)),
    }, cwd=bench.work)
    bench.figures.append(figure("labgrid QEMUDriver run (smp 2)", times["labgrid"], times["qemu"],
                                note="against bootgen run --backend qemu --smp 2; no target"))
    bench.json.update(labgrid_qemu_seconds=times["labgrid"], bootgen_qemu_smp2_seconds=times["qemu"])
