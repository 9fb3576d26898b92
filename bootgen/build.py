"""`bootgen build`: compile, link, validate and configure the stub."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from . import elf
from .paths import DEFAULT_BUILD_DIR, source_root
from .toolchain import LinkInputs, Toolchain, compile_objects, link


@dataclass(frozen=True)
class BuildConfig:
    output: Path = DEFAULT_BUILD_DIR / "stub.elf"
    build_dir: Path = DEFAULT_BUILD_DIR
    cmdline: str = ""                 # embedded default command line
    toolchain: Toolchain = Toolchain()
    cache: Path | None = None         # where validated layouts are remembered (paths.cache_dir())


@dataclass(frozen=True)
class BuildResult:
    path: Path
    layout: elf.StubLayout


def build_stub(config: BuildConfig) -> BuildResult:
    config.toolchain.check()
    inputs = LinkInputs(source_root=source_root(), build_dir=config.build_dir)
    objects = compile_objects(config.toolchain, inputs)
    config.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = config.output.with_name(f".{config.output.name}.tmp{os.getpid()}")
    try:
        link(config.toolchain, inputs, objects, tmp)
        layout = elf.inspect_stub_cached(tmp, config.cache)
        elf.embed_cmdline(tmp, layout, config.cmdline)
        os.replace(tmp, config.output)
    finally:
        tmp.unlink(missing_ok=True)
    return BuildResult(config.output, layout)
