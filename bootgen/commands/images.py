"""`bootgen build` and `bootgen iso`, and the images a run builds for itself (kept in the cache, never in the
user's ./build, so a run never replaces an image the user built)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UsageError
from ..locations import DEFAULT_BUILD_DIR, cache_dir, cache_subdir
from ..outputs import distinct, writable_output


def run_elf(append: str = "") -> Path:
    """The stub a run builds for itself."""
    from ..image.build import BuildConfig, build_stub
    return build_stub(BuildConfig(output=cache_subdir("run") / "stub.elf", cmdline=append, cache=cache_dir())).path


def run_iso(cmdline: str = "") -> Path:
    """The ISO a run builds for itself, one per command line (concurrent runs with different ones never
    share a file)."""
    import hashlib

    from ..image.iso import IsoConfig, build_iso
    key = hashlib.sha256(cmdline.encode()).hexdigest()[:16]
    return build_iso(IsoConfig(elf=run_elf(), output=cache_subdir("run") / f"bootgen-{key}.iso", cmdline=cmdline,
                               cache_dir=cache_dir() / "grub")).path


def _output(path: Path) -> Path:
    return writable_output(path, create_parent=path.parent == DEFAULT_BUILD_DIR)


def cmd_build(args: argparse.Namespace) -> int:
    from ..image.build import BuildConfig, build_stub
    from ..render.progress import Progress, wanted
    output = _output(args.output)
    with Progress(wanted()) as progress:
        progress.phase("compiling and linking the stub")
        result = build_stub(BuildConfig(output=output, cmdline=args.append, cache=cache_dir()))
    layout = result.layout
    print(f"{result.path}: {layout.loaded_bytes} bytes loaded, {layout.memory_bytes} bytes in memory, "
          f"entry {layout.entry:#x}")
    return 0


def cmd_iso(args: argparse.Namespace) -> int:
    from ..image.iso import IsoConfig, build_iso
    output = _output(args.output)
    distinct({"-o": output}, {"--image": args.image})
    from ..render.progress import Progress, wanted
    with Progress(wanted()) as progress:
        progress.phase("building the stub")
        elf = args.image if args.image else run_elf()
        if not elf.is_file():
            raise UsageError(f"image not found: {elf}")
        progress.phase("making GRUB's BIOS and UEFI images and the ISO")
        result = build_iso(IsoConfig(elf=elf, output=output, cmdline=args.append, cache_dir=cache_dir() / "grub"))
    print(f"{result.path}: {result.size} bytes ({result.size / 1048576:.2f} MiB)")
    return 0
