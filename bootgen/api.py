"""The public Python API: build the stub or the ISO, boot it, get a Result.

    from bootgen.api import BuildConfig, QemuConfig, build_stub, boot_qemu, Verdict
    elf = build_stub(BuildConfig()).path
    result = boot_qemu(QemuConfig(image=elf, accel="kvm", cpu="host"))
    assert result.verdict is Verdict.VMX_READY, result.reason

The command line is a thin layer over these functions.
"""

from __future__ import annotations

from .build import BuildConfig, BuildResult, build_stub
from .iso import IsoConfig, IsoResult, build_iso
from .result import Result, evaluate, to_json, to_text
from .runners.base import Ending, RunOutcome
from .runners.bochs import BochsConfig, run_bochs
from .runners.qemu import QemuConfig, run_qemu
from .verdicts import ExitStatus, Verdict

__all__ = [
    "BuildConfig", "BuildResult", "build_stub", "IsoConfig", "IsoResult", "build_iso",
    "QemuConfig", "BochsConfig", "run_qemu", "run_bochs", "boot_qemu", "boot_bochs",
    "Result", "RunOutcome", "Ending", "Verdict", "ExitStatus", "evaluate", "to_json", "to_text",
]


def boot_qemu(config: QemuConfig) -> Result:
    """Boot under QEMU and decide the verdict."""
    outcome = run_qemu(config)
    return evaluate(outcome.serial, outcome)


def boot_bochs(config: BochsConfig) -> Result:
    """Boot an ISO under Bochs and decide the verdict."""
    outcome = run_bochs(config)
    return evaluate(outcome.serial, outcome)
