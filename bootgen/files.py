"""Writing output files: whole or not at all."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .errors import BootgenError


def write_atomically(path: Path, data: bytes) -> None:
    """Write a whole file or nothing: a temporary file in the same folder, synced, then renamed.

    Earlier contents stay intact if anything fails; concurrent writers never see a partial file.
    """
    import tempfile  # here, not at the top: `bootgen run` imports this module before QEMU starts

    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    tmp_name = None
    try:
        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as exc:
        raise BootgenError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
