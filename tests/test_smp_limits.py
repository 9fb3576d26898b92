"""Every logical CPU at the stub's limits, under QEMU run by hand for what `bootgen run` does not offer (less
memory than its minimum, a machine without a PIT): the report always ends, a CPU the stub found but could not
check is never silently left out of a ready verdict, and a missing PIT is said, not mistaken for a slow one."""

from __future__ import annotations

import subprocess

import pytest

from bootgen.contract import ports
from bootgen.render.jsondoc import to_json
from bootgen.verdict.evaluate import evaluate

pytestmark = pytest.mark.qemu


def _boot(stub_elf, tmp_path, *args: str) -> dict:
    log = tmp_path / "serial.log"
    subprocess.run(["qemu-system-x86_64", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
                    "-cpu", "max", "-kernel", str(stub_elf), "-serial", f"file:{log}", "-device",
                    f"isa-debug-exit,iobase={ports.QEMU_DEBUG_EXIT_PORT:#x},iosize=4", *args],
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=90)
    return to_json(evaluate(log.read_bytes()))


def _warnings(doc: dict) -> list[str]:
    return [w["what"] for w in doc["warnings"]]


def test_no_room_for_the_aps_ends_the_report_with_them_not_started(stub_elf, tmp_path):
    """17 MiB: no room above the image for 31 APs' structures. The boot CPU is checked, the others are
    reported not started (not ready), and the report ends instead of the boot CPU faulting on them."""
    doc = _boot(stub_elf, tmp_path, "-smp", "32", "-m", "17M")
    assert doc["report"]["complete"], doc["reason"]
    assert doc["verdict"] == "no-verdict" and "CPUs 1-31 of 32" in doc["reason"]
    assert [c["verdict"] for c in doc["cpus"]][:1] == ["svm-ready"] and len(doc["cpus"]) == 32


def test_cpus_that_answer_a_broadcast_beyond_the_room_are_said(stub_elf, tmp_path):
    """No ACPI and 12 CPUs in 17 MiB: room for 8. The 4 others are counted in a cpu-limit warning, and the
    ready verdict and the scope say that only the 8 were checked."""
    doc = _boot(stub_elf, tmp_path, "-smp", "12", "-m", "17M", "-no-acpi")
    assert doc["verdict"] == "svm-ready" and len(doc["cpus"]) == 8
    assert "cpu-limit" in _warnings(doc)
    assert "the 8 CPUs checked (more were found" in doc["reason"]
    assert doc["cpus_checked"]["scope"] == "cpu-limit"


def test_a_machine_without_a_pit_is_said_and_every_cpu_still_starts(stub_elf, tmp_path):
    """No 8254: the calibration must not take an OUT2 that is high at once for a count that ran out (a TSC
    rate a thousand times too low, delays too short to start the APs); it assumes a fast TSC and warns."""
    doc = _boot(stub_elf, tmp_path, "-machine", "pc,pit=off", "-smp", "8", "-m", "128")
    assert "no-timer" in _warnings(doc)
    assert doc["verdict"] == "svm-ready" and [c["verdict"] for c in doc["cpus"]] == ["svm-ready"] * 8
