"""`bootgen build`: compile, link, validate and configure the stub."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from ..locations import DEFAULT_BUILD_DIR, source_root
from . import elf
from .toolchain import LinkInputs, Toolchain, compile_objects, link


@dataclass(frozen=True)
class BuildConfig:
    output: Path = DEFAULT_BUILD_DIR / "stub.elf"
    build_dir: Path = DEFAULT_BUILD_DIR
    cmdline: str = ""                 # embedded default command line
    toolchain: Toolchain = Toolchain()
    cache: Path | None = None         # where validated layouts are remembered (locations.cache_dir())


@dataclass(frozen=True)
class BuildResult:
    path: Path
    layout: elf.StubLayout


def _link_inputs_state(inputs: LinkInputs, objects: list[Path], config: BuildConfig) -> str:
    """What the output depends on: objects, linker script, command line (and the output itself)."""
    parts = [str(config.output.resolve()), config.cmdline, str(inputs.linker_script.stat().st_mtime_ns)]
    parts += [f"{obj.name}:{obj.stat().st_mtime_ns}" for obj in objects]
    if config.output.exists():
        parts.append(str(config.output.stat().st_mtime_ns))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def build_stub(config: BuildConfig) -> BuildResult:
    config.toolchain.check()
    inputs = LinkInputs(source_root=source_root(), build_dir=config.build_dir)
    objects = compile_objects(config.toolchain, inputs)
    config.output.parent.mkdir(parents=True, exist_ok=True)
    # Nothing changed since the last link of this output: no need to link (or validate) again.
    stamp = config.build_dir / "obj" / f"link-{hashlib.sha256(str(config.output.resolve()).encode()).hexdigest()[:16]}"
    if config.output.exists() and stamp.exists() and stamp.read_text() == _link_inputs_state(inputs, objects, config):
        return BuildResult(config.output, elf.inspect_stub_cached(config.output, config.cache))
    tmp = config.output.with_name(f".{config.output.name}.tmp{os.getpid()}")
    try:
        link(config.toolchain, inputs, objects, tmp)
        layout = elf.inspect_stub_cached(tmp, config.cache)
        elf.embed_cmdline(tmp, layout, config.cmdline)
        os.replace(tmp, config.output)
    finally:
        tmp.unlink(missing_ok=True)
    stamp.write_text(_link_inputs_state(inputs, objects, config))
    return BuildResult(config.output, layout)
