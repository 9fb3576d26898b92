"""`bootgen report LOG`: decode a serial log captured elsewhere, read once, in bounded memory and time.

It reads a regular file, or standard input for ``-``; a log past ``--max-bytes``
(default DEFAULT_MAX_BYTES) is refused, and so is a device or a FIFO, whose
reading never ends (a live serial console is the real-box backend's job).
"""

from __future__ import annotations

import argparse
import io
import os
import stat
import sys
from pathlib import Path
from typing import BinaryIO

from ..errors import UsageError
from ..outputs import distinct, writable_output
from .emit import emit

DEFAULT_MAX_BYTES = 256 << 20


class _Bounded(io.RawIOBase):
    """A stream that refuses to give more than ``limit`` bytes (standard input has no size to check first)."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self.stream, self.left = stream, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.stream.read(min(len(buffer), self.left + 1))
        if len(data) > self.left:
            raise UsageError("standard input holds more than --max-bytes; raise it, or pass a smaller log")
        self.left -= len(data)
        buffer[:len(data)] = data
        return len(data)


def open_log(name: str, limit: int) -> BinaryIO:
    if name == "-":
        return io.BufferedReader(_Bounded(sys.stdin.buffer, limit), 1 << 16)
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO must not block the open
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise UsageError(f"{name} is not a regular file (a device or a FIFO never ends): capture the log to a "
                         "file first, or pipe it to `bootgen report -`")
    if info.st_size > limit:
        os.close(fd)
        raise UsageError(f"{name} is {info.st_size} bytes, more than --max-bytes {limit}; raise --max-bytes to "
                         "decode it")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb", buffering=1 << 16)


def cmd_report(args: argparse.Namespace) -> int:
    from ..verdict.evaluate import evaluate_stream
    if args.junit is not None:
        writable_output(args.junit)
        distinct({"--junit": args.junit}, {"log": None if args.log == "-" else Path(args.log)})
    with open_log(args.log, args.max_bytes) as stream:
        result = evaluate_stream(stream)
    return emit(result, args)

