"""The report: its wire framing (``wire``), the typed model (``model``) and the reader between them."""

from .model import CpuReport, Report
from .reader import read

__all__ = ["CpuReport", "Report", "read"]
