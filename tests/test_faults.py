"""Every failure the stub claims to detect, produced on purpose (inject=NAME) and checked.

The matrix (bootgen/contract/injects.py: what each injection must produce) runs on Bochs,
whose emulated VT-x has every path; docs/failure-modes.md lists each row with the test that
proves it. The harness is also tested under faults: the
emulator killed mid-run or missing, and no TCP port ever opened.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from processes import Recorder, alive

from bootgen.backends.host import Host
from bootgen.backends.outcome import Ending
from bootgen.backends.qemu import QemuConfig, run_qemu
from bootgen.contract.injects import MATRIX, SPECS
from bootgen.image.iso import IsoConfig, build_iso
from bootgen.render.jsondoc import to_json
from bootgen.verdict import Verdict
from bootgen.verdict.evaluate import evaluate

from conftest import run_cli


def _bochs_boot(stub_elf: Path, tmp_path: Path, inject: str, timeout_s: float = 90):
    from bootgen.backends.bochs import BochsConfig, run_bochs
    if Host().bochs_unavailable() is not None:
        pytest.skip("Bochs (with SDL2 display plugin and BIOS images) is not installed")
    iso = build_iso(IsoConfig(elf=stub_elf, output=tmp_path / f"{inject}.iso", cmdline=f"inject={inject}")).path
    outcome = run_bochs(BochsConfig(image=iso, timeout_s=timeout_s))
    return outcome, evaluate(outcome.serial, outcome)


@pytest.mark.bochs
@pytest.mark.grub
@pytest.mark.parametrize("inject", sorted(MATRIX))
def test_injected_failure_on_bochs(stub_elf, tmp_path, inject):
    verdict, keys = SPECS[inject].verdict, SPECS[inject].detail
    outcome, result = _bochs_boot(stub_elf, tmp_path, inject)
    assert outcome.ending is Ending.GUEST_EXIT, outcome.detail  # the image still exits cleanly
    assert result.report.config.inject == inject
    doc = to_json(result)
    assert doc["verdict"] == verdict, doc["reason"]
    for key, value in keys.items():
        assert doc[key] == value, (key, doc[key], doc["detail"])
    assert not [w for w in doc["warnings"] if w["what"] == "inject-not-applicable"]
    if verdict == "vmxon-failed" and inject.startswith("double"):
        # The first VMXON worked, the second failed, and the stub still left VMX operation.
        assert doc["vmxon"]["outcome"] == "success" and doc["vmxoff"]["outcome"] == "success"
        assert doc["detail"]["attempt"] == 2
    if verdict == "vmentry-failed":
        guest = doc["guest"]
        if inject == "bad-guest-state":
            assert guest["entry_failure"]["name"] == "VM-entry failure due to invalid guest state"
        else:
            assert guest["launch_failure"]["insn"] == "vmlaunch"
        assert doc["vmxoff"]["outcome"] == "success"
    if inject == "page-fault":
        assert doc["exception"]["cr2"] == 0xFFFFF000 and doc["exception"]["error_code"] == 0


@pytest.mark.bochs
@pytest.mark.grub
def test_lock_disabled_on_bochs(stub_elf, tmp_path):
    outcome, result = _bochs_boot(stub_elf, tmp_path, "lock-disabled")
    doc = to_json(result)
    if [w for w in doc["warnings"] if w["what"] == "inject-not-applicable"]:
        assert doc["feature_control"]["loader"]["locked"]
        pytest.skip("Bochs resets IA32_FEATURE_CONTROL locked with VMX enabled, so the stub cannot lock it "
                    "disabled (the stub said so in an inject-not-applicable warning)")
    assert doc["verdict"] == "vmx-disabled-by-firmware"
    assert doc["feature_control"]["after_write"]["locked"] and not doc["feature_control"]["after_write"]["vmx_outside_smx"]
    assert doc["vmxon"]["vector"] == 13  # VMXON tried anyway: #GP


@pytest.mark.bochs
@pytest.mark.grub
def test_triple_fault_on_bochs(stub_elf, tmp_path):
    outcome, result = _bochs_boot(stub_elf, tmp_path, "triple-fault")
    assert outcome.ending is Ending.TRIPLE_FAULT
    assert result.verdict is Verdict.NO_VERDICT and "triple fault" in result.reason


@pytest.mark.bochs
@pytest.mark.grub
def test_hang_on_bochs_times_out_promptly(stub_elf, tmp_path):
    started = time.monotonic()
    outcome, result = _bochs_boot(stub_elf, tmp_path, "hang", timeout_s=8)
    assert outcome.ending is Ending.TIMEOUT
    assert time.monotonic() - started < 8 + 1 + 1  # the ISO build plus at most a second past the timeout
    assert result.verdict is Verdict.NO_VERDICT
    assert b"step name=inject state=begin" in outcome.serial  # the partial log is kept


def test_lock_disabled_report_is_decoded():
    """The host's side of vmx-disabled-by-firmware, from a report as the stub writes it."""
    from stub_reports import ready, replaced, until

    from test_protocol import make_report
    head = replaced(until(ready(), "msr index=0x0000003a"), "config ",
                    "config serial=0x000003f8 screen=on inject=lock-disabled mode=full")
    records = [
        *head,
        "msr index=0x0000003a value=0x0000000000000000 phase=loader",
        "msr-write index=0x0000003a value=0x0000000000000001",
        "msr index=0x0000003a value=0x0000000000000001 phase=after-write",
        "check name=feature-control result=fail state=write-ignored value=0x0000000000000000 "
        "after=0x0000000000000001",
        "vmx insn=vmxon outcome=fault cf=0 zf=0 vector=13 error_code=0x00000000 eflags=0x00000047",
        "verdict name=vmx-disabled-by-firmware -- IA32_FEATURE_CONTROL could not be set to enable VMX",
    ]
    doc = to_json(evaluate(make_report(records)))
    assert doc["verdict"] == "vmx-disabled-by-firmware"
    assert doc["feature_control"]["after_write"] == {"value": "0x0000000000000001", "locked": True,
                                                     "vmx_inside_smx": False, "vmx_outside_smx": False}
    assert doc["vmxon"]["vector"] == 13


# --------------------------------------------------------------------------- the harness under faults


def _listening_tcp() -> set[str]:
    entries = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        entries |= {line.split()[1] for line in lines if line.split()[3] == "0A"}  # state LISTEN
    return entries


@pytest.mark.qemu
def test_qemu_killed_mid_run(stub_elf, tmp_path, monkeypatch):
    elf = tmp_path / "killed.elf"
    elf.write_bytes(stub_elf.read_bytes())
    before_dirs = set(Path(tempfile.gettempdir()).glob("bootgen-qemu-*"))
    before_tcp = _listening_tcp()
    recorder = Recorder(monkeypatch)
    thread = recorder.kill_after(0.5)
    started = time.monotonic()
    outcome = run_qemu(QemuConfig(image=elf, append="inject=hang", timeout_s=30))
    thread.join()
    seen_tcp = _listening_tcp() - before_tcp
    result = evaluate(outcome.serial, outcome)
    assert outcome.ending is Ending.EMULATOR_CRASH and "signal 9" in outcome.detail
    assert time.monotonic() - started < 10
    assert result.verdict is Verdict.NO_VERDICT and "crashed" in result.reason
    assert b"#BOOTGEN begin" in outcome.serial  # the partial log is kept
    assert not seen_tcp, f"TCP ports opened during the run: {seen_tcp}"
    assert set(Path(tempfile.gettempdir()).glob("bootgen-qemu-*")) <= before_dirs
    assert not alive(recorder.pids[0])


@pytest.mark.bochs
@pytest.mark.grub
def test_bochs_killed_mid_run(stub_elf, tmp_path, monkeypatch):
    from bootgen.backends.bochs import BochsConfig, run_bochs
    if Host().bochs_unavailable() is not None:
        pytest.skip("Bochs is not installed")
    iso = build_iso(IsoConfig(elf=stub_elf, output=tmp_path / "hang-kill.iso", cmdline="inject=hang")).path
    before_tcp = _listening_tcp()
    recorder = Recorder(monkeypatch)
    thread = recorder.kill_after(2.0)
    outcome = run_bochs(BochsConfig(image=iso, timeout_s=60))
    thread.join()
    seen_tcp = _listening_tcp() - before_tcp
    assert outcome.ending is Ending.EMULATOR_CRASH, outcome.detail
    assert evaluate(outcome.serial, outcome).verdict is Verdict.NO_VERDICT
    assert not seen_tcp, f"TCP ports opened during the run: {seen_tcp}"
    assert not alive(recorder.pids[0])


@pytest.mark.parametrize("backend", ["qemu", "bochs"])
def test_missing_emulator_is_one_line(stub_elf, tmp_path, backend):
    image = stub_elf
    if backend == "bochs":
        image = tmp_path / "any.iso"
        image.write_bytes(b"\0" * 2048)
    env_path = str(tmp_path)  # a PATH with no emulator on it
    proc = subprocess.run([os.sys.executable, "-m", "bootgen", "run", "--backend", backend, "--image", str(image)],
                          capture_output=True, text=True, env={**os.environ, "PATH": env_path}, timeout=60)
    assert proc.returncode == 4, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "not found" in lines[0] and "Traceback" not in proc.stderr


def test_missing_iso_is_a_usage_error():
    proc = run_cli("run", "--backend", "bochs", "--image", "/nonexistent/bootgen.iso")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.qemu
def test_a_long_or_odd_tmpdir_is_no_problem(stub_elf, tmp_path):
    """QMP and the serial port use no socket file: a TMPDIR too long for one, or with a comma, still runs."""
    for name in ("d" * 100, "a,b"):
        odd = tmp_path / name
        odd.mkdir()
        proc = subprocess.run([os.sys.executable, "-m", "bootgen", "run", "--image", str(stub_elf), "--json"],
                              capture_output=True, text=True, env={**os.environ, "TMPDIR": str(odd)}, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["verdict"] == "svm-ready"
        assert list(odd.iterdir()) == []  # the private directory is gone
