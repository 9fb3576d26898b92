"""The verdict: its names and exit statuses (from the contract), its evaluation, and advice."""

from ..contract.exit_status import ExitStatus, exit_status
from ..contract.verdicts import STUB_VERDICTS, Verdict

__all__ = ["ExitStatus", "STUB_VERDICTS", "Verdict", "exit_status"]
