"""The command line under good and bad input: one line, the documented status, no traceback."""

from __future__ import annotations

import json
import os

import pytest

from conftest import DATA, run_cli


@pytest.mark.parametrize("args", [
    ["run", "--smp", "0"],
    ["run", "--memory", "-1"],
    ["run", "--memory", "16"],                      # below the stub's load address (16 MiB) plus room
    ["run", "--cpu", "host"],                        # host needs KVM
    ["run", "--cpu", "host,+vmx"],
    ["run", "--backend", "bochs", "--image", "stub.elf"],
    ["run", "--backend", "bochs", "--serial-port", "0x2f8"],
    ["run", "--backend", "bochs", "--append", "serial=0x2f8"],
    ["run", "--backend", "bochs", "--memory", "16"],
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


def test_failed_outputs_leave_earlier_ones_intact(tmp_path, stub_elf):
    """Outputs are written atomically: a failing command writes nothing and keeps what was there."""
    earlier = tmp_path / "out.elf"
    earlier.write_bytes(b"earlier output")
    proc = run_cli("build", "-o", str(earlier), "--append", "x" * 300)
    assert proc.returncode == 2 and "too long" in proc.stderr
    assert earlier.read_bytes() == b"earlier output"
    iso = tmp_path / "out.iso"
    iso.write_bytes(b"earlier iso")
    proc = run_cli("iso", "--image", str(stub_elf), "-o", str(iso), "--append", "serial='0x2f8'")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert iso.read_bytes() == b"earlier iso"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.elf", "out.iso"]  # no temporary left


@pytest.mark.parametrize("args", [
    ["iso", "-o", "/etc/passwd/bootgen.iso"],            # a file where a directory should be
    ["run", "--keep-log", "/nonexistent-dir/serial.log"],
    ["run", "--keep-log", "/"],                           # a directory where a file should be
])
def test_bad_output_paths(args):
    proc = run_cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


@pytest.mark.qemu
def test_unknown_qemu_cpu_model(stub_elf):
    proc = run_cli("run", "--image", str(stub_elf), "--cpu", "pentium9000")
    assert proc.returncode == 2 and "unknown QEMU CPU model" in proc.stderr


@pytest.mark.bochs
def test_unknown_bochs_cpu_model(tmp_path):
    iso = tmp_path / "x.iso"
    iso.write_bytes(b"\0" * 4096)
    proc = run_cli("run", "--backend", "bochs", "--image", str(iso), "--cpu-model", "pentium9000")
    assert proc.returncode == 2 and "unknown Bochs CPU model" in proc.stderr


def test_unreadable_log(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("running as root: file permissions do not stop root from reading")
    log = tmp_path / "serial.log"
    log.write_bytes(b"x")
    log.chmod(0)
    proc = run_cli("report", str(log))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def test_a_qemu_option_on_bochs_names_that_option_only():
    proc = run_cli("run", "--backend", "bochs", "--firmware", "ovmf")
    assert proc.returncode == 2 and "--firmware is a QEMU option" in proc.stderr
    assert "--cpu" not in proc.stderr and "--media" not in proc.stderr, proc.stderr


def test_no_command_prints_the_usage():
    proc = run_cli()
    assert proc.returncode == 2 and proc.stderr.startswith("usage: bootgen") and "doctor" in proc.stderr


def test_quiet_prints_the_verdict_line_only():
    proc = run_cli("report", "--quiet", str(DATA / "qemu-tcg-no-vmx.log"))
    assert proc.returncode == 1 and proc.stdout.splitlines() == [
        "verdict: no-vmx  this CPU does not offer VT-x (CPUID.1:ECX.VMX = 0)"], proc.stdout


@pytest.mark.qemu
@pytest.mark.grub
def test_media_cd_without_an_image_boots_an_iso_built_with_the_command_line():
    proc = run_cli("run", "--media", "cd", "--append", "serial=0x2f8 inject=ud2", "--json")
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "fault" and doc["vector"] == 6, doc["reason"]  # the ISO's command line, on COM2
    assert doc["run"]["media"] == "cd" and doc["run"]["image"].endswith(".iso")
    assert doc["boot"]["loader"].startswith("GRUB")


@pytest.mark.bochs
@pytest.mark.grub
def test_append_on_bochs_builds_its_iso():
    proc = run_cli("run", "--backend", "bochs", "--append", "inject=ud2", "--json", timeout=180)
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "fault" and doc["vector"] == 6, doc["reason"]


def test_every_option_says_what_it_does():
    import argparse

    from bootgen.cli import build_parser
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [f"{name} {action.option_strings or action.dest}" for name, sub in subparsers.choices.items()
               for action in sub._actions if not action.help]
    assert not missing, missing


@pytest.mark.qemu
@pytest.mark.grub
def test_auto_stays_on_qemu_for_qemu_options():
    # Bochs would refuse --media and a COM2 command line: auto picks a QEMU that takes them.
    proc = run_cli("run", "--backend", "auto", "--media", "cd", "--append", "serial=0x2f8 inject=ud2", "--json")
    doc = json.loads(proc.stdout)
    assert doc["run"]["backend"] == "qemu" and doc["verdict"] == "fault", (doc["reason"], proc.stderr)
