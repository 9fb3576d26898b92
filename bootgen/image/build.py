"""`bootgen build`: compile, link, validate and configure the stub.

Objects live in the cache (``locations.cache_dir()/objects/KEY``, the key made
from the sources' folder, the compiler and its flags), never in the current
directory, and one build at a time uses a folder of them: an exclusive lock
(flock) on the folder covers compiling, linking and publishing, so builds that
share a checkout or a machine do not step on each other. Only the image the
user asked for is written outside the cache, whole or not at all.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import BootgenError
from ..locations import DEFAULT_BUILD_DIR, cache_subdir, source_root
from . import elf
from .toolchain import CFLAGS, LDFLAGS, LinkInputs, Toolchain, compile_objects, link


@dataclass(frozen=True)
class BuildConfig:
    output: Path = DEFAULT_BUILD_DIR / "stub.elf"
    build_dir: Path | None = None     # objects; default: a folder in the cache, keyed by sources and flags
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


def objects_dir(root: Path, toolchain: Toolchain) -> Path:
    """The cache folder for one checkout's objects under one compiler and its flags."""
    key = hashlib.sha256("\0".join([str(root.resolve()), toolchain.cc, toolchain.ld, *CFLAGS, *LDFLAGS]).encode())
    return cache_subdir("objects", key.hexdigest()[:24])


@contextlib.contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    """One build at a time in ``directory`` (other processes and threads wait)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / ".lock", os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise BootgenError(f"cannot use the build folder {directory}: {exc.strerror or exc} "
                           "(set BOOTGEN_CACHE_DIR to a writable directory)") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def build_stub(config: BuildConfig) -> BuildResult:
    config.toolchain.check()
    root = source_root()
    build_dir = config.build_dir or objects_dir(root, config.toolchain)
    inputs = LinkInputs(source_root=root, build_dir=build_dir)
    with _exclusive(build_dir):
        objects = compile_objects(config.toolchain, inputs)
        # Nothing changed since the last link of this output: no need to link (or validate) again.
        stamp = build_dir / "obj" / f"link-{hashlib.sha256(str(config.output.resolve()).encode()).hexdigest()[:16]}"
        state = _link_inputs_state(inputs, objects, config)
        if config.output.exists() and stamp.exists() and stamp.read_text() == state:
            return BuildResult(config.output, elf.inspect_stub_cached(config.output, config.cache))
        tmp = config.output.with_name(f".{config.output.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            config.output.parent.mkdir(parents=True, exist_ok=True)
            link(config.toolchain, inputs, objects, tmp)
            layout = elf.inspect_stub_cached(tmp, config.cache)
            elf.embed_cmdline(tmp, layout, config.cmdline)
            os.replace(tmp, config.output)
        except OSError as exc:
            raise BootgenError(f"cannot write {config.output}: {exc.strerror or exc}") from None
        finally:
            tmp.unlink(missing_ok=True)
        stamp.write_text(_link_inputs_state(inputs, objects, config))
    return BuildResult(config.output, layout)
