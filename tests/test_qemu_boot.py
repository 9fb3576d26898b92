"""Boot the real stub under QEMU and assert on the parsed report."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from bootgen.backends.host import Host
from bootgen.backends.outcome import Ending
from bootgen.backends.qemu import QemuConfig, run_qemu
from bootgen.image.build import BuildConfig, build_stub
from bootgen.verdict import Verdict
from bootgen.verdict.evaluate import evaluate

from conftest import run_cli

pytestmark = pytest.mark.qemu


def boot(elf: Path, **kwargs):
    outcome = run_qemu(QemuConfig(image=elf, **kwargs))
    return outcome, evaluate(outcome.serial, outcome)


def test_tcg_max_is_svm_ready(stub_elf):
    """TCG's default CPU (max) is AMD-vendor without VT-x and with AMD-V: the AMD-V path runs and works."""
    outcome, result = boot(stub_elf)
    assert outcome.ending is Ending.GUEST_EXIT
    assert result.verdict is Verdict.SVM_READY, result.reason
    cpu = result.report.boot_cpu
    assert cpu.check("cpuid-svm").result == "pass" and cpu.check("cpuid-vmx") is None
    assert cpu.check("hypervisor-present").raw["value"] == "1"
    steps = [(r.name, r.state) for r in cpu.steps]
    assert ("paging", "ok") in steps and ("vmrun", "ok") in steps
    paging = cpu.registers("paging")
    assert paging.cr0 & 0x80000020 == 0x80000020  # PG and NE


@pytest.mark.parametrize("cpu, verdict", [("qemu64", Verdict.SVM_READY), ("max", Verdict.SVM_READY),
                                          ("Nehalem", Verdict.NO_VMX)])
def test_cpu_models_behave_the_same(stub_elf, cpu, verdict):
    from bootgen.api import QemuConfig as ApiConfig
    from bootgen.api import boot_qemu
    result = boot_qemu(ApiConfig(image=stub_elf, cpu=cpu))
    assert result.verdict is verdict, result.reason
    assert result.report.boot_cpu.check("cpu-vendor").values["vendor"] in ("GenuineIntel", "AuthenticAMD")


def test_ud2_json_carries_the_vector(stub_elf):
    proc = run_cli("run", "--image", str(stub_elf), "--append", "inject=ud2", "--json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "fault" and doc["vector"] == 6 and doc["exception"]["vector"] == 6
    assert doc["backend"] == "qemu" and doc["protocol"] == 2 and doc["run"]["ending"] == "guest-exit"


def test_serial_port_from_command_line(stub_elf):
    outcome, result = boot(stub_elf, append="serial=0x2f8", serial_port=0x2F8)
    assert result.verdict is Verdict.SVM_READY
    assert result.report.config.serial == 0x2F8
    # Nothing reaches COM1 when the stub is told to use COM2.
    outcome, result = boot(stub_elf, append="serial=0x2f8", serial_port=0x3F8, timeout_s=10)
    assert b"#BOOTGEN" not in outcome.serial and result.verdict is Verdict.NO_VERDICT


def test_embedded_cmdline_is_used(tmp_path):
    elf = build_stub(BuildConfig(output=tmp_path / "s.elf", build_dir=tmp_path / "b", cmdline="serial=0x2f8")).path
    proc = run_cli("run", "--image", str(elf), "--json")
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "svm-ready", doc["reason"]


@pytest.mark.parametrize("option", ["frobnicate=1", "serial=4294968320", "serial=0x1zz", "inject=nonsense"])
def test_unknown_option_is_reported(stub_elf, option):
    _, result = boot(stub_elf, append=option)
    warning = result.report.warnings[0] if result.report.warnings else None
    assert warning is not None and warning.option == option
    assert result.verdict is Verdict.SVM_READY
    assert result.report.config.serial == 0x3F8  # a bad port leaves COM1 in place


@pytest.mark.parametrize("inject,vector", [("ud2", 6), ("page-fault", 14)])
def test_unexpected_exception_is_reported(stub_elf, inject, vector):
    outcome, result = boot(stub_elf, append=f"inject={inject}")
    assert outcome.ending is Ending.GUEST_EXIT  # the stub exited cleanly after reporting
    assert result.verdict is Verdict.FAULT
    exc = result.report.boot_cpu.exception
    assert exc.vector == vector and exc.step == "inject"
    if vector == 14:
        assert exc.number("cr2") == 0xFFFFF000


def test_triple_fault_is_no_verdict(stub_elf):
    outcome, result = boot(stub_elf, append="inject=triple-fault")
    assert outcome.ending is Ending.TRIPLE_FAULT
    assert result.verdict is Verdict.NO_VERDICT and "triple fault" in result.reason


def test_hang_times_out_promptly_with_partial_log(stub_elf):
    started = time.monotonic()
    outcome, result = boot(stub_elf, append="inject=hang", timeout_s=3)
    assert time.monotonic() - started < 4.0
    assert outcome.ending is Ending.TIMEOUT
    assert result.verdict is Verdict.NO_VERDICT
    assert b"step name=inject state=begin" in outcome.serial


def test_no_process_or_tempdir_left(stub_elf):
    before = set(Path(tempfile.gettempdir()).glob("bootgen-qemu-*"))
    boot(stub_elf, append="inject=hang", timeout_s=1)
    boot(stub_elf)
    assert set(Path(tempfile.gettempdir()).glob("bootgen-qemu-*")) <= before  # none of ours is left
    ps = subprocess.run(["pgrep", "-f", str(stub_elf)], capture_output=True, text=True)
    assert ps.stdout.strip() == ""


def test_smp_and_memory_options(stub_elf):
    _, result = boot(stub_elf, smp=2, memory_mib=256)
    assert result.verdict is Verdict.SVM_READY


def test_cli_run_json_and_keep_log(stub_elf, tmp_path):
    log = tmp_path / "serial.log"
    proc = run_cli("run", "--image", str(stub_elf), "--json", "--keep-log", str(log), "--expect", "svm-ready")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "svm-ready" and doc["run"]["accel"] == "tcg"
    assert doc["report"]["complete"] and log.read_bytes().count(b"#BOOTGEN end") == 1


@pytest.mark.kvm
def test_kvm_verdict_agrees_with_the_host(stub_elf):
    if why := Host().kvm_problem():
        pytest.skip(f"KVM is not usable here: {why}")
    host = Host()
    amd = host.cpu_vendor() in ("AuthenticAMD", "HygonGenuine")
    expected = Verdict.VMX_READY if host.offers_nested_vmx() else Verdict.SVM_READY if host.offers_nested_svm() \
        else Verdict.NO_SVM if amd else Verdict.NO_VMX
    outcome, result = boot(stub_elf, accel="kvm", cpu=os.environ.get("BOOTGEN_KVM_CPU", "host"), timeout_s=20)
    if outcome.ending is Ending.EMULATOR_CRASH:
        pytest.skip(f"this host's KVM cannot run the stub: {outcome.detail[:200]}")
    assert result.verdict is expected, result.reason
