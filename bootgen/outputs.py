"""Output paths the user names: writable, and never the same file as an input or as another output."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UsageError


def writable_output(path: Path, create_parent: bool = False) -> Path:
    """An output path whose folder exists (or, with ``create_parent``, is created) and is writable."""
    if path.is_dir():
        raise UsageError(f"output path is a directory: {path}")
    parent = path.parent if str(path.parent) else Path(".")
    if create_parent:
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create the output directory {parent}: {exc.strerror or exc}") from None
    if not parent.is_dir():
        raise UsageError(f"output directory does not exist: {parent}")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"output directory is not writable: {parent}")
    return path


def _same(a: Path, b: Path) -> bool:
    """The same file: one inode (hard links, symbolic links), or the same path once links are followed."""
    try:
        if os.path.samefile(a, b):
            return True
    except OSError:
        pass
    return a.resolve() == b.resolve()


def distinct(outputs: dict[str, Path | None], inputs: dict[str, Path | None] | None = None) -> None:
    """UsageError when an output is an input, or two outputs are one file (``--junit P --keep-log P``).

    Keys name the options, for the message.
    """
    named_outputs = [(name, path) for name, path in outputs.items() if path is not None]
    named_inputs = [(name, path) for name, path in (inputs or {}).items() if path is not None]
    for i, (name, path) in enumerate(named_outputs):
        for input_name, input_path in named_inputs:
            if _same(path, input_path):
                raise UsageError(f"{name} {path} is the {input_name} it reads; write it elsewhere")
        for other_name, other in named_outputs[i + 1:]:
            if _same(path, other):
                raise UsageError(f"{name} and {other_name} name the same file ({path}); give them two paths")
