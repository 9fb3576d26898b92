"""The public Python API: build the stub or the ISO, boot it, get a Result.

    from bootgen.api import BuildConfig, QemuConfig, build_stub, boot_qemu, Verdict
    elf = build_stub(BuildConfig()).path
    result = boot_qemu(QemuConfig(image=elf, accel="kvm", cpu="host"))
    assert result.verdict is Verdict.VMX_READY, result.reason

The command line is a thin layer over these functions.
"""

from __future__ import annotations

from .backends.bochs import BochsConfig, run_bochs
from .backends.outcome import Ending, RunOutcome
from .backends.qemu import QemuConfig, run_qemu
from .contract.exit_status import ExitStatus
from .contract.verdicts import Verdict
from .image.build import BuildConfig, BuildResult, build_stub
from .image.iso import IsoConfig, IsoResult, build_iso
from .render.jsondoc import to_json
from .render.text import to_text
from .verdict.evaluate import Result, evaluate

__all__ = [
    "BuildConfig", "BuildResult", "build_stub", "IsoConfig", "IsoResult", "build_iso",
    "QemuConfig", "BochsConfig", "run_qemu", "run_bochs", "boot_qemu",
    "Result", "RunOutcome", "Ending", "Verdict", "ExitStatus", "evaluate", "to_json", "to_text",
]


def boot_qemu(config: QemuConfig) -> Result:
    """Boot under QEMU and decide the verdict."""
    outcome = run_qemu(config)
    return evaluate(outcome.serial, outcome)

