"""Compile and link the stub with gcc -m32 -ffreestanding and GNU ld.

Objects are rebuilt only when their source or a header they include changed
(gcc's -MMD dependency files), in parallel. Flags keep the output free of
host paths, timestamps and build ids so that builds are reproducible.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import BuildError, ToolMissing

CFLAGS = (
    "-m32", "-march=i586",  # no CMOV: the report must work on any x86, VMX or not
    "-std=gnu11", "-ffreestanding", "-fno-builtin", "-nostdlib",
    "-fno-pic", "-fno-pie", "-fno-stack-protector", "-fno-asynchronous-unwind-tables",
    "-fno-unwind-tables", "-mno-sse", "-mno-mmx", "-mno-80387", "-mgeneral-regs-only",
    "-Os", "-Wall", "-Wextra", "-Werror",
)
LDFLAGS = ("-m", "elf_i386", "-nostdlib", "--build-id=none", "-z", "noexecstack", "-n",
           "--no-warn-rwx-segments")


@dataclass(frozen=True)
class Toolchain:
    cc: str = "gcc"
    ld: str = "ld"

    def check(self) -> None:
        for tool, package in ((self.cc, "gcc"), (self.ld, "binutils")):
            if shutil.which(tool) is None:
                raise ToolMissing(f"{tool} not found (install Debian's '{package}' package)")


@dataclass(frozen=True)
class LinkInputs:
    source_root: Path   # holds stage/ and linker/
    build_dir: Path     # objects go to build_dir/obj

    @property
    def stage(self) -> Path:
        return self.source_root / "stage"

    @property
    def linker_script(self) -> Path:
        return self.source_root / "linker" / "stub.ld"

    def sources(self) -> list[Path]:
        """Every .c and .S file under stage/, sub-folders included, in a fixed order."""
        found = sorted(p for p in self.stage.rglob("*") if p.suffix in (".c", ".S") and p.is_file())
        if not found:
            raise BuildError(f"no sources in {self.stage}")
        return found

    def include_dirs(self) -> list[Path]:
        """stage/ (headers named by folder, "vmx/insn.h") and stage/include/ (shared and generated)."""
        return [self.stage, self.stage / "include"]

    def object_for(self, source: Path) -> Path:
        """One flat folder of objects, named after the source's path under stage/ ("vmx-insn.c.o")."""
        name = source.relative_to(self.stage).as_posix().replace("/", "-")
        return self.build_dir / "obj" / f"{name}.o"


def _stale(obj: Path, source: Path) -> bool:
    """True when obj is missing or older than its source or any dependency gcc recorded."""
    dep = obj.with_suffix(".d")
    if not obj.exists() or not dep.exists():
        return True
    built = obj.stat().st_mtime_ns
    text = dep.read_text().replace("\\\n", " ")
    _, _, deps = text.partition(":")
    for name in [str(source), *deps.split()]:
        try:
            if Path(name).stat().st_mtime_ns > built:
                return True
        except OSError:
            return True
    return False


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        lines = [line for line in proc.stdout.splitlines() if line.strip()]
        first_error = next((line for line in lines if "error" in line), lines[0] if lines else "")
        raise BuildError(f"{what} failed: {first_error}")


def compile_objects(toolchain: Toolchain, inputs: LinkInputs) -> list[Path]:
    (inputs.build_dir / "obj").mkdir(parents=True, exist_ok=True)
    includes = [f"-I{d}" for d in inputs.include_dirs()]
    prefix_map = f"-ffile-prefix-map={inputs.source_root}=."
    # Objects built with other flags or another compiler are all stale.
    stamp = inputs.build_dir / "obj" / "flags"
    flags = " ".join([toolchain.cc, *CFLAGS, prefix_map, *includes])
    rebuild_all = not stamp.exists() or stamp.read_text() != flags
    jobs = []
    for source in inputs.sources():
        obj = inputs.object_for(source)
        if rebuild_all or _stale(obj, source):
            cmd = [toolchain.cc, *CFLAGS, prefix_map, *includes, "-MMD", "-MF", str(obj.with_suffix(".d")),
                   "-c", str(source), "-o", str(obj)]
            jobs.append((cmd, f"compiling {source.relative_to(inputs.stage)}"))
    if jobs:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            for future in [pool.submit(_run, cmd, what) for cmd, what in jobs]:
                future.result()
    if rebuild_all:
        stamp.write_text(flags)
    return [inputs.object_for(s) for s in inputs.sources()]


def link(toolchain: Toolchain, inputs: LinkInputs, objects: list[Path], output: Path) -> None:
    cmd = [toolchain.ld, *LDFLAGS, "-T", str(inputs.linker_script), "-o", str(output), *map(str, objects)]
    _run(cmd, "linking the stub")
