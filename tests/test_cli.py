"""The command line under good and bad input: one line, the documented status, no traceback."""

from __future__ import annotations

import json

import pytest

from conftest import DATA, run_cli


@pytest.mark.parametrize("args", [
    ["run", "--smp", "0"],
    ["run", "--memory", "-1"],
    ["run", "--timeout", "abc"],
    ["run", "--backend", "vmware"],
    ["run", "--expect", "maybe"],
    ["run", "--serial-port", "0x10000"],
    ["frobnicate"],
    ["run", "--no-such-option"],
    ["report", "/nonexistent/serial.log"],
    ["run", "--image", "/nonexistent/stub.elf"],
    ["build", "-o", "/nonexistent-dir/stub.elf"],
])
def test_usage_errors_exit_2_with_one_line(args):
    proc = run_cli(*args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bootgen: error:"), proc.stderr
    assert "Traceback" not in proc.stderr


def test_corrupt_elf_is_one_line(tmp_path):
    bad = tmp_path / "bad.elf"
    bad.write_bytes(b"\x7fELF" + bytes(60))
    proc = run_cli("run", "--image", str(bad))
    assert proc.returncode == 4 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_report_decodes_a_captured_log():
    proc = run_cli("report", str(DATA / "qemu-tcg-no-vmx.log"), "--json")
    assert proc.returncode == 1  # a definite verdict other than vmx-ready
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "no-vmx" and doc["cpu"]["vendor"] == "AuthenticAMD"
    assert run_cli("report", str(DATA / "qemu-tcg-no-vmx.log"), "--expect", "no-vmx").returncode == 0


def test_report_of_garbage_is_no_verdict(tmp_path):
    junk = tmp_path / "junk.log"
    junk.write_bytes(b"\x00\xffgarbage\n#BOOTGEN begin proto=1\n")
    proc = run_cli("report", str(junk))
    assert proc.returncode == 3 and "no-verdict" in proc.stdout
