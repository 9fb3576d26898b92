"""The every-CPU figures of `scripts/bench`: how fast the APs join, and what more CPUs cost a run.

Joins come from the report itself (each AP's ``cpu ... state=end join_us=``,
microseconds from the first SIPI, measured by the stub's TSC); boots are raw
QEMU commands, so that only the stub's own work differs between them; Bochs
counts emulated ticks, which do not depend on the host's load.
"""

from __future__ import annotations

import statistics
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from ..contract.records import Key, Rec
from ..contract.smp import JOIN_DEADLINE_MS, SectionState
from ..report.wire import parse

if TYPE_CHECKING:
    from .bench import Bench, Figure

JOIN_SMP = 8
BOCHS_SMP = 4


def _joins_us(serial: bytes) -> list[int]:
    """Each AP's join time, in CPU order."""
    return [int(r.fields[Key.JOIN_US]) for r in parse(serial).records
            if r.type == Rec.CPU and r.fields.get(Key.STATE) == SectionState.END and Key.JOIN_US in r.fields]


def measure_smp(bench: Bench, elf: Path, iso: Path | None, raw_qemu: list[str], guest_exit: tuple[int, ...],
                skip_bochs: bool, figure: type[Figure]) -> None:
    work = bench.work
    # a. From the first SIPI until every AP has joined, QEMU TCG --smp 8 (median over runs).
    last, per_cpu = [], []
    log = work / "smp-serial.log"
    for _ in range(bench.runs):
        log.unlink(missing_ok=True)
        subprocess.run([*raw_qemu, "-smp", str(JOIN_SMP), "-serial", f"file:{log}", "-kernel", str(elf)],
                       capture_output=True, timeout=120)
        joins = _joins_us(log.read_bytes()) if log.exists() else []
        if len(joins) == JOIN_SMP - 1:
            last.append(max(joins) / 1000)
            per_cpu.append(statistics.mean(joins) / 1000)
    if last:
        slowest = statistics.median(last)
        bench.figures.append(figure(f"APs joined after the first SIPI (smp {JOIN_SMP}), last", slowest, unit="ms",
                                    target=f"<= {JOIN_DEADLINE_MS} ms (the deadline)",
                                    met=slowest <= JOIN_DEADLINE_MS))
        bench.figures.append(figure("  mean per AP", statistics.median(per_cpu), unit="ms"))
    bench.json.update(smp_join_last_ms=statistics.median(last) if last else None,
                      smp_join_mean_ms=statistics.median(per_cpu) if per_cpu else None)

    # b. Boot to verdict with --smp 8 against --smp 1.
    times = bench.interleaved({
        f"smp{n}": ([*raw_qemu, "-smp", str(n), "-serial", "file:/dev/null", "-kernel", str(elf)], guest_exit)
        for n in (1, JOIN_SMP)}, scale=3)
    boot = figure(f"QEMU -kernel boot, smp {JOIN_SMP} vs smp 1", times[f"smp{JOIN_SMP}"], times["smp1"],
                  target="ratio <= 1.5")
    boot.met = boot.ratio is not None and boot.ratio <= 1.5
    bench.figures.append(boot)
    bench.json.update(smp8_boot_seconds=times[f"smp{JOIN_SMP}"], smp1_boot_seconds=times["smp1"],
                      smp8_boot_ratio=boot.ratio)

    # c. Bochs: emulated ticks to shutdown with --smp 4 against --smp 1.
    bench.json["bochs_smp_ticks_ratio"] = None
    if skip_bochs or iso is None:
        return
    from ..backends.bochs import BochsConfig, run_bochs
    from ..backends.bochs.log import instruction_ticks
    ticks = {n: instruction_ticks(run_bochs(BochsConfig(image=iso, smp=n, timeout_s=300)).emulator_log)
             for n in (1, BOCHS_SMP)}
    if ticks[1] and ticks[BOCHS_SMP]:
        bochs = figure(f"Bochs ticks to shutdown, smp {BOCHS_SMP} vs smp 1", ticks[BOCHS_SMP], ticks[1],
                       unit="ticks", target="ratio <= 2")
        bochs.met = bochs.ratio is not None and bochs.ratio <= 2
        bench.figures.append(bochs)
        bench.json.update(bochs_smp4_ticks=ticks[BOCHS_SMP], bochs_smp1_ticks=ticks[1],
                          bochs_smp_ticks_ratio=bochs.ratio)
