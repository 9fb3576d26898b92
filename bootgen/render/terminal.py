"""Terminal conventions: colour only where it helps."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TextIO


def use_color(stream: TextIO | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    out = sys.stdout if stream is None else stream
    env = os.environ if environ is None else environ
    return out.isatty() and "NO_COLOR" not in env
