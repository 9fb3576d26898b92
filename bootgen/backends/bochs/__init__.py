"""Bochs: finding it (``install``), one run's bochsrc (``bochsrc``), the run (``run``), reading its log (``log``)."""

from .bochsrc import BochsConfig
from .run import run_bochs

__all__ = ["BochsConfig", "run_bochs"]
