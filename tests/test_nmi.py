"""NMIs do not change a verdict: taken in the stub or during the guest, each is counted and the run goes on.

A watchdog, a BMC or a debug button can raise an NMI at any moment on a real box. The stub counts
the ones it takes in its own code (IRET) and the ones that arrive as VM exits of the guest (NMI
exiting; VMRESUME), reports them in an ``nmi`` record, and reaches the verdict the CPU deserves.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bootgen.backends.host import Host
from bootgen.backends.outcome import Ending
from bootgen.backends.qemu import QemuConfig, run_qemu
from bootgen.image.iso import IsoConfig, build_iso
from bootgen.render.jsondoc import to_json
from bootgen.verdict.evaluate import evaluate


def _not_applicable(doc: dict) -> list[dict]:
    return [w for w in doc["warnings"] if w["what"] == "inject-not-applicable"]


def _qemu(stub_elf: Path, inject: str, **kwargs) -> dict:
    outcome = run_qemu(QemuConfig(image=stub_elf, append=f"inject={inject}", timeout_s=60, **kwargs))
    assert outcome.ending is Ending.GUEST_EXIT, outcome.detail
    return to_json(evaluate(outcome.serial, outcome))


def _bochs(stub_elf: Path, tmp_path: Path, inject: str) -> dict:
    from bootgen.backends.bochs import BochsConfig, run_bochs
    if Host().bochs_unavailable() is not None:
        pytest.skip("Bochs (with SDL2 display plugin and BIOS images) is not installed")
    iso = build_iso(IsoConfig(elf=stub_elf, output=tmp_path / f"{inject}.iso", cmdline=f"inject={inject}")).path
    outcome = run_bochs(BochsConfig(image=iso, timeout_s=90))
    assert outcome.ending is Ending.GUEST_EXIT, outcome.detail
    return to_json(evaluate(outcome.serial, outcome))


@pytest.mark.qemu
def test_an_nmi_in_the_host_is_counted_and_the_run_goes_on(stub_elf):
    doc = _qemu(stub_elf, "host-nmi")
    assert not _not_applicable(doc), doc["warnings"]
    assert doc["nmis"] == {"host": 1, "guest": 0}
    assert doc["verdict"] == "svm-ready", doc["reason"]  # TCG's own verdict, not "fault"
    assert doc["exception"] is None
    assert doc["poweroff"] == {"method": "qemu-debug-exit", "emulator": "qemu"}


@pytest.mark.qemu
def test_qmp_inject_nmi_during_a_run(stub_elf):
    """QMP inject-nmi every 50 ms, as an outside NMI source would, while the stub waits for one and after."""
    doc = _qemu(stub_elf, "nmi-wait", nmi_every_s=0.05)
    assert not _not_applicable(doc), doc["warnings"]
    assert doc["nmis"]["host"] >= 1
    assert doc["verdict"] == "svm-ready", doc["reason"]
    assert doc["exception"] is None


@pytest.mark.qemu
def test_an_nmi_storm_during_the_amd_v_guest(stub_elf):
    """NMIs every 2 ms through the whole run: under AMD-V an intercepted NMI stays pending until the host sets
    GIF, so the stub takes it in the host before resuming the guest (else each VMRUN exits for it again)."""
    for _ in range(5):
        doc = _qemu(stub_elf, "nmi-wait", nmi_every_s=0.002)
        assert doc["verdict"] == "svm-ready", (doc["reason"], doc["nmis"])
        assert [e["name"] for e in doc["guest"]["exits"]] == ["CPUID", "IOIO", "VMMCALL", "HLT"]
        assert doc["nmis"]["guest"] <= doc["nmis"]["host"]  # each one the guest saw, the host took


@pytest.mark.qemu
def test_nmi_wait_says_when_no_nmi_came(stub_elf):
    """Without a sender the wait ends, and the stub says the injection did not happen: the test above can fail."""
    doc = _qemu(stub_elf, "nmi-wait")
    assert [w["text"] for w in _not_applicable(doc)] == ["no NMI arrived while the stub waited for one"]
    assert doc["nmis"] == {"host": 0, "guest": 0}


@pytest.mark.bochs
@pytest.mark.grub
def test_an_nmi_during_the_guest_is_an_exit_and_the_guest_goes_on(stub_elf, tmp_path):
    doc = _bochs(stub_elf, tmp_path, "guest-nmi")
    assert not _not_applicable(doc), doc["warnings"]
    assert doc["nmis"] == {"host": 0, "guest": 1}
    assert doc["verdict"] == "vmx-ready", doc["reason"]
    assert [e["name"] for e in doc["guest"]["exits"]] == ["CPUID", "I/O instruction", "VMCALL", "HLT"]
    assert doc["guest"]["expected_trace"]


@pytest.mark.bochs
@pytest.mark.grub
def test_an_nmi_in_the_host_keeps_a_ready_verdict(stub_elf, tmp_path):
    doc = _bochs(stub_elf, tmp_path, "host-nmi")
    assert not _not_applicable(doc), doc["warnings"]
    assert doc["nmis"] == {"host": 1, "guest": 0}
    assert doc["verdict"] == "vmx-ready", doc["reason"]
    assert doc["poweroff"] == {"method": "bochs-shutdown", "emulator": "bochs"}
