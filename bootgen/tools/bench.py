"""`scripts/bench`: measure bootgen against the obvious alternatives, side by side.

Figures are medians over interleaved runs; ratios are ours divided by theirs. Prints a
table and, with --json PATH, writes the figures. Not a test: targets are reported, and
the exit status is 0 whether or not they are met (use --strict to fail on a miss).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..backends import defaults
from ..contract import ports
from ..files import write_atomically
from ..image.elf import MULTIBOOT_MAGIC
from ..locations import source_root

QEMU = defaults.QEMU_BINARY
RAW_QEMU_OPTIONS = ["-nodefaults", "-no-user-config", "-display", "none", "-vga", "std", "-no-reboot",
                    "-accel", "tcg", "-cpu", defaults.QEMU_CPU["tcg"], "-m", str(defaults.QEMU_MEMORY_MIB["seabios"]),
                    "-device", f"isa-debug-exit,iobase={ports.QEMU_DEBUG_EXIT_PORT:#x},iosize=0x04"]
#: What QEMU exits with when a guest (the stub, the floor image) stops through isa-debug-exit.
GUEST_EXIT = (ports.QEMU_DEBUG_EXIT_STATUS,)

FLOOR_SOURCE = f"""
    .section .multiboot, "a"
    .align 4
    .long {MULTIBOOT_MAGIC:#x}, 0x00000003, -({MULTIBOOT_MAGIC:#x} + 0x00000003)
    .text
    .global _start
_start:
    movw ${ports.DEFAULT_SERIAL_PORT:#x}, %dx
    movb $'X', %al
    outb %al, %dx
    movl ${ports.QEMU_DEBUG_EXIT_VALUE:#x}, %eax
    outl %eax, ${ports.QEMU_DEBUG_EXIT_PORT:#x}
1:  hlt
    jmp 1b
"""

GRUB_MKRESCUE_CFG = """set timeout=0
set default=0
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
menuentry "bootgen" {
    multiboot /boot/stub.elf
    boot
}
"""


@dataclass
class Figure:
    name: str
    ours: float | None
    theirs: float | None = None
    unit: str = "s"
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.ours is None or not self.theirs:
            return None
        return self.ours / self.theirs


@dataclass
class Bench:
    work: Path
    runs: int
    bootgen: list[str]
    figures: list[Figure] = field(default_factory=list)
    json: dict = field(default_factory=dict)

    def time_command(self, cmd: list[str], cwd: Path | None = None, ok=(0,)) -> float:
        started = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=300)
        elapsed = time.perf_counter() - started
        if proc.returncode not in ok:
            raise RuntimeError(f"{' '.join(map(str, cmd[:4]))} ... exited {proc.returncode}: "
                               f"{proc.stderr.decode(errors='replace')[-300:]}")
        return elapsed

    def interleaved(self, commands: Mapping[str, tuple[list[str], tuple[int, ...]]],
                    cwd: Path | None = None, scale: int = 1) -> dict[str, float]:
        """Medians of `runs * scale` interleaved runs (scale up the sub-second measures, whose noise is large)."""
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(self.runs * scale):
            for name, (cmd, ok) in commands.items():
                samples[name].append(self.time_command(cmd, cwd, ok))
        return {name: statistics.median(values) for name, values in samples.items()}


def _floor_elf(work: Path) -> Path:
    src, obj, out = work / "floor.S", work / "floor.o", work / "floor.elf"
    src.write_text(FLOOR_SOURCE)
    subprocess.run(["gcc", "-m32", "-c", str(src), "-o", str(obj)], check=True)
    subprocess.run(["ld", "-m", "elf_i386", "-Ttext=0x100000", "--section-start=.multiboot=0x0ff000",
                    "-e", "_start", "-o", str(out), str(obj)], check=True, capture_output=True)
    return out


def _grub_mkrescue_iso(work: Path, elf: Path) -> Path | None:
    if shutil.which("grub-mkrescue") is None or shutil.which("xorriso") is None:
        return None
    tree = work / "mkrescue-tree"
    (tree / "boot" / "grub").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(elf, tree / "boot" / "stub.elf")
    (tree / "boot" / "grub" / "grub.cfg").write_text(GRUB_MKRESCUE_CFG)
    out = work / "grub-mkrescue.iso"
    subprocess.run(["grub-mkrescue", "-o", str(out), str(tree)], check=True, capture_output=True)
    return out


def _qemu_iso_command(iso: Path, firmware: str, work: Path) -> list[str]:
    cmd = [QEMU, *RAW_QEMU_OPTIONS, "-serial", "file:/dev/null",
           "-drive", f"file={iso},format=raw,media=cdrom,readonly=on,if=ide,index=2", "-boot", "d"]
    if firmware == "ovmf":
        from ..backends.firmware import find_ovmf
        ovmf = find_ovmf()
        cmd[cmd.index("-m") + 1] = str(defaults.QEMU_MEMORY_MIB["ovmf"])
        cmd += ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={ovmf.code}"]
        if ovmf.vars_template is not None:
            vars_copy = work / f"vars-{iso.stem}.fd"
            shutil.copyfile(ovmf.vars_template, vars_copy)
            cmd += ["-drive", f"if=pflash,format=raw,unit=1,file={vars_copy}"]
    return cmd


def measure(bench: Bench, skip_bochs: bool, skip_ovmf: bool) -> None:
    work, bg = bench.work, bench.bootgen
    elf = work / "stub.elf"
    subprocess.run([*bg, "build", "-o", str(elf)], check=True, capture_output=True, cwd=work)
    from ..image import elf as elf_module
    layout = elf_module.inspect_stub(elf)

    # 7. The stub's loaded size.
    bench.figures.append(Figure("stub loaded size (text+data)", layout.loaded_bytes, unit="bytes",
                                target="<= 49152", met=layout.loaded_bytes <= 49152))
    bench.json["stub_loaded_bytes"] = layout.loaded_bytes

    # 1. ISO build, against grub-mkrescue.
    ours_iso, theirs_iso = work / "ours.iso", work / "theirs.iso"
    mkrescue = _grub_mkrescue_iso(work, elf)
    commands = {"ours": ([*bg, "iso", "--image", str(elf), "-o", str(ours_iso)], (0,))}
    if mkrescue is not None:
        tree = work / "mkrescue-tree"
        commands["theirs"] = (["grub-mkrescue", "-o", str(theirs_iso), str(tree)], (0,))
    subprocess.run(commands["ours"][0], check=True, capture_output=True, cwd=work)  # warm the core cache
    times = bench.interleaved(commands, cwd=work)
    iso_bytes = ours_iso.stat().st_size
    theirs_bytes = theirs_iso.stat().st_size if mkrescue is not None else None
    size = Figure("ISO size", iso_bytes, theirs_bytes, unit="bytes", target="ratio <= 0.1")
    build = Figure("ISO build time", times["ours"], times.get("theirs"), target="ratio <= 1.5")
    for figure, limit in ((size, 0.1), (build, 1.5)):
        figure.met = figure.ratio <= limit if figure.ratio is not None else None
        if mkrescue is None:
            figure.note = "grub-mkrescue/xorriso not installed"
    bench.figures += [size, build]
    bench.json.update(iso_bytes=iso_bytes, grub_mkrescue_iso_bytes=theirs_bytes, iso_size_ratio=size.ratio,
                      iso_build_seconds=times["ours"], grub_mkrescue_build_seconds=times.get("theirs"),
                      iso_build_time_ratio=build.ratio)

    # 2. The developer's loop: touch a source, build, run to a verdict.
    root = source_root()
    touched = root / "stage" / "main.c"
    loop = []
    for _ in range(bench.runs):
        os.utime(touched)
        started = time.perf_counter()
        subprocess.run([*bg, "build"], check=True, capture_output=True, cwd=work)
        subprocess.run([*bg, "run", "--backend", "qemu"], capture_output=True, cwd=work)
        loop.append(time.perf_counter() - started)
    dev_loop = statistics.median(loop)
    bench.figures.append(Figure("edit-build-boot loop", dev_loop, target="<= 1.0 s", met=dev_loop <= 1.0))
    bench.json["dev_loop_seconds"] = dev_loop

    # 3. The stub's own boot against a floor image, raw QEMU, same options.
    floor = _floor_elf(work)
    raw = {name: ([QEMU, *RAW_QEMU_OPTIONS, "-serial", "file:/dev/null", "-kernel", str(path)], GUEST_EXIT)
           for name, path in (("ours", elf), ("floor", floor))}
    times = bench.interleaved(raw, scale=3)
    kernel = Figure("QEMU -kernel boot", times["ours"], times["floor"], target="ratio <= 1.15")
    kernel.met = kernel.ratio is not None and kernel.ratio <= 1.15
    bench.figures.append(kernel)
    bench.json.update(qemu_kernel_seconds=times["ours"], qemu_kernel_floor_seconds=times["floor"],
                      qemu_kernel_floor_ratio=kernel.ratio)

    # 4. The harness's overhead: the whole bootgen run against the raw QEMU command.
    times = bench.interleaved({
        "harness": ([*bg, "run", "--backend", "qemu", "--image", str(elf)], (0, 1)),
        "raw": raw["ours"],
    }, cwd=work, scale=3)
    overhead = times["harness"] - times["raw"]
    bench.figures.append(Figure("harness overhead", overhead, target="<= 0.15 s", met=overhead <= 0.15,
                                note=f"bootgen run {times['harness']:.3f} s, raw QEMU {times['raw']:.3f} s"))
    bench.json.update(harness_seconds=times["harness"], raw_qemu_seconds=times["raw"],
                      harness_overhead_seconds=overhead)

    # 5. QEMU booting our ISO against the grub-mkrescue ISO.
    for firmware in ("seabios", "ovmf"):
        key = f"qemu_iso_{firmware}_ratio"
        if mkrescue is None or (firmware == "ovmf" and skip_ovmf):
            bench.json[key] = None
            continue
        times = bench.interleaved({
            "ours": (_qemu_iso_command(ours_iso, firmware, work), GUEST_EXIT),
            "theirs": (_qemu_iso_command(theirs_iso, firmware, work), GUEST_EXIT),
        })
        figure = Figure(f"QEMU ISO boot ({firmware})", times["ours"], times["theirs"], target="ratio <= 1.0")
        figure.met = figure.ratio is not None and figure.ratio <= 1.0
        bench.figures.append(figure)
        bench.json[key] = figure.ratio
        bench.json[f"qemu_iso_{firmware}_seconds"] = times["ours"]
        bench.json[f"grub_mkrescue_iso_{firmware}_seconds"] = times["theirs"]

    # 8. `bootgen report` of a 100 MB log: firmware noise then a report, and one report of a million records.
    for name, log in (("noise", _noise_log(work)), ("records", _records_log(work))):
        seconds, rss = _peak(bench.bootgen + ["report", str(log)], work)
        bench.figures.append(Figure(f"report of a 100 MB log ({name})", seconds, target="<= 5 s", met=seconds <= 5))
        bench.figures.append(Figure(f"  peak RSS ({name})", rss, unit="MB", target="<= 200 MB", met=rss <= 200))
        bench.json[f"report_100mb_{name}_seconds"] = seconds
        bench.json[f"report_100mb_{name}_peak_rss_mb"] = rss

    # 6. Bochs: emulated ticks from reset to shutdown (deterministic).
    bench.json["bochs_ticks_ratio"] = None
    if not skip_bochs and mkrescue is not None and shutil.which("bochs"):
        from ..backends.bochs import BochsConfig, run_bochs
        from ..backends.bochs.log import instruction_ticks
        ticks = {}
        for name, iso in (("ours", ours_iso), ("theirs", theirs_iso)):
            outcome = run_bochs(BochsConfig(image=iso, timeout_s=300))
            ticks[name] = instruction_ticks(outcome.emulator_log)
        if ticks["ours"] and ticks["theirs"]:
            figure = Figure("Bochs ticks to shutdown", ticks["ours"], ticks["theirs"], unit="ticks",
                            target="ratio <= 0.5")
            figure.met = figure.ratio is not None and figure.ratio <= 0.5
            bench.figures.append(figure)
            bench.json.update(bochs_ticks=ticks["ours"], grub_mkrescue_bochs_ticks=ticks["theirs"],
                              bochs_ticks_ratio=figure.ratio)

    # 10. Every logical CPU: the APs' joins, and what 8 CPUs (QEMU) and 4 (Bochs) cost against one.
    from .bench_smp import measure_smp
    measure_smp(bench, elf, ours_iso if ours_iso.exists() else None, [QEMU, *RAW_QEMU_OPTIONS], GUEST_EXIT,
                skip_bochs or not shutil.which("bochs"), Figure)

    # 11. labgrid: its QEMUDriver booting the stub, against bootgen's own QEMU run.
    from .bench_lab import measure_lab
    measure_lab(bench, elf, Figure)

    # 9. The matrix of every Bochs CPU model, 2 at a time against one after another (once each: about a minute).
    bench.json["matrix_parallel_ratio"] = None
    if not skip_bochs and shutil.which("bochs"):
        matrix_seconds: dict[int, float] = {}
        for jobs in (1, 2):
            started = time.perf_counter()
            subprocess.run([*bg, "matrix", "bochs-models", "-j", str(jobs), "-q"], capture_output=True, cwd=work)
            matrix_seconds[jobs] = time.perf_counter() - started
        figure = Figure("matrix of Bochs's models, -j 2", matrix_seconds[2], matrix_seconds[1], target="ratio <= 0.6")
        figure.met = figure.ratio is not None and figure.ratio <= 0.6
        bench.figures.append(figure)
        bench.json.update(matrix_j2_seconds=matrix_seconds[2], matrix_j1_seconds=matrix_seconds[1],
                          matrix_parallel_ratio=figure.ratio)


LOG_BYTES = 100 * 2**20


def _noise_log(work: Path) -> Path:
    """100 MB of firmware output, then a real report (a test log)."""
    out = work / "noise.log"
    line = b"SeaBIOS (version 1.16.2) Booting from Hard Disk... firmware noise of a long boot\r\n" * 1000
    report = (source_root() / "tests" / "data" / "bochs-sandy-bridge.log").read_bytes()
    with open(out, "wb") as fh:
        for _ in range(LOG_BYTES // len(line)):
            fh.write(line)
        fh.write(report)
    return out


def _records_log(work: Path) -> Path:
    """One report of 100 MB of records: a log from something that is not the stub."""
    out = work / "records.log"
    line = b"step name=paging state=ok\r\n" * 1000
    with open(out, "wb") as fh:
        fh.write(b"#BOOTGEN begin proto=1 stub=0.1.0\r\n")
        for _ in range(LOG_BYTES // len(line)):
            fh.write(line)
    return out


def _peak(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak resident set (MB) of one command (its VmHWM, read while it runs: getrusage
    would count the memory of the benchmark it was forked from)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak_kb = 0
    while proc.poll() is None:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            peak_kb = max(peak_kb, int(status.split("VmHWM:")[1].split()[0]))
        except (OSError, IndexError, ValueError):
            pass
        time.sleep(0.005)
    return time.perf_counter() - started, peak_kb / 1024


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "ms":
        return f"{value:.1f} ms"
    return f"{int(value):,}"


def render(figures: list[Figure]) -> str:
    rows = [("measure", "ours", "theirs", "ratio", "target", "met")]
    for f in figures:
        rows.append((f.name, _fmt(f.ours, f.unit), _fmt(f.theirs, f.unit),
                     f"{f.ratio:.3f}" if f.ratio is not None else "-", f.target,
                     {True: "yes", False: "NO", None: "-"}[f.met] + (f"  ({f.note})" if f.note else "")))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join("  ".join(cell.ljust(widths[i]) if i < 5 else cell for i, cell in enumerate(row))
                     for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs per figure instead of 7")
    parser.add_argument("--runs", type=int, help="runs per figure (overrides --quick)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the figures as JSON")
    parser.add_argument("--no-bochs", action="store_true", help="skip the Bochs tick comparison")
    parser.add_argument("--no-ovmf", action="store_true", help="skip the OVMF boots (about 6 s each)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    runs = args.runs or (3 if args.quick else 7)
    import compileall  # measure start-up as installed, with bytecode cached
    compileall.compile_dir(str(Path(__file__).resolve().parents[1]), quiet=1)
    with tempfile.TemporaryDirectory(prefix="bootgen-bench-") as tmp:
        bench = Bench(work=Path(tmp), runs=runs, bootgen=[sys.executable, "-m", "bootgen"])
        measure(bench, skip_bochs=args.no_bochs, skip_ovmf=args.no_ovmf)
    print(render(bench.figures))
    bench.json["runs"] = runs
    bench.json["targets_met"] = all(f.met for f in bench.figures if f.met is not None)
    if args.json:
        write_atomically(args.json, (json.dumps(bench.json, indent=2) + "\n").encode())
    return 1 if args.strict and not bench.json["targets_met"] else 0


if __name__ == "__main__":
    sys.exit(main())
