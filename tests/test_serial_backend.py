"""--backend serial: a real box read over its console. QEMU stands in for the box: its serial port on a
pseudo-terminal (as a USB-serial adapter appears) or on a TCP server (as ser2net or a console server does), the
stub booting there, and bootgen reading it as a user would."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import DATA, ROOT, run_cli
from consoles import ChattyConsole, free_port

QEMU = "qemu-system-x86_64"


def _serial(*args: str, stdin: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bootgen", "run", "--backend", "serial", *args], cwd=ROOT,
                          input=stdin, capture_output=True, timeout=timeout)


def _box(stub_elf: Path, serial: str, tmp_path: Path, paused: bool = False) -> subprocess.Popen:
    """A QEMU 'box' booting the stub, its console on ``serial``; ours to stop, by its PID."""
    chardev = "pty,id=box" if serial == "pty" else f"socket,id=box,{serial}"
    # No isa-debug-exit: like a real box, the stub halts after its report and the line stays up (a pty whose
    # other side closes at once throws away what its reader has not read yet).
    cmd = [QEMU, "-nodefaults", "-no-user-config", "-display", "none", "-cpu", "max", "-m", "128",
           "-kernel", str(stub_elf), "-chardev", chardev, "-serial", "chardev:box"]
    if paused:
        cmd += ["-S", "-monitor", f"unix:{tmp_path / 'monitor'},server=on,wait=off"]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)  # QEMU names the pseudo-terminal on stdout, warnings go to stderr


def _stop(box: subprocess.Popen) -> None:
    if box.poll() is None:
        box.kill()
    box.wait(10)


def test_standard_input_with_a_reboot_in_the_middle():
    """The box rebooted half-way through a first report: the last, whole one counts."""
    full = (DATA / "qemu-tcg-svm-ready.log").read_bytes()
    proc = _serial("--device", "-", "--json", "--timeout", "10", stdin=full[:900] + b"\r\nBIOS again\r\n" + full)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "svm-ready" and doc["report"]["restarts"] == 1
    assert doc["run"]["backend"] == "serial" and doc["run"]["ending"] == "report-end"
    assert any("the box restarted 1 time(s)" in line for line in doc["advice"])


def test_a_console_that_closes_early_is_no_verdict():
    full = (DATA / "qemu-tcg-svm-ready.log").read_bytes()
    proc = _serial("--device", "-", "--timeout", "10", stdin=full[:900])
    assert proc.returncode == 3
    assert b"verdict: no-verdict  the console closed before the report was whole" in proc.stdout


@pytest.mark.qemu
def test_a_box_on_a_pseudo_terminal_powered_on_by_the_command(stub_elf, tmp_path):
    """Like a USB-serial adapter: the box waits powered off (QEMU paused) until --power-cycle switches it on."""
    box = _box(stub_elf, "pty", tmp_path, paused=True)
    try:
        lines = []
        while not (pty := re.search(r"redirected to (/dev/pts/\d+)", lines[-1] if lines else "")):
            lines.append(box.stdout.readline())
            assert lines[-1], lines  # QEMU says where the pseudo-terminal is before it runs anything
        monitor = tmp_path / "monitor"
        for _ in range(100):
            if monitor.exists():
                break
            time.sleep(0.05)
        # The 'power button': QEMU's monitor is told to continue, and answers with its next prompt (closing before
        # that answer can lose the command); a moment first, as QEMU notices a reader on its pseudo-terminal
        # within a second and a real box's POST takes longer anyway.
        button = tmp_path / "power-on.py"
        button.write_text(f"""import socket, time
time.sleep(1.5)
s = socket.socket(socket.AF_UNIX)
s.connect({str(monitor)!r})
s.sendall(b"cont\\n")
seen, deadline = b"", time.monotonic() + 10
while seen.count(b"(qemu)") < 2 and time.monotonic() < deadline:
    seen += s.recv(256)
""")
        power_on = f"{sys.executable} {button}"
        proc = _serial("--device", pty.group(1), "--power-cycle", power_on, "--json", "--timeout", "30",
                       "--keep-log", str(tmp_path / "box.log"))
        assert proc.returncode == 0, (proc.stdout[:300], proc.stderr)
        doc = json.loads(proc.stdout)
        assert doc["verdict"] == "svm-ready" and doc["run"]["device"] == pty.group(1)
        assert (tmp_path / "box.log").read_bytes().count(b"#BOOTGEN end") == 1
    finally:
        _stop(box)


@pytest.mark.qemu
def test_a_box_behind_a_tcp_console_server(stub_elf, tmp_path):
    """Like ser2net or a console server: QEMU's serial port is a TCP server that boots once bootgen connects."""
    port = free_port()
    box = _box(stub_elf, f"host=127.0.0.1,port={port},server=on,wait=on", tmp_path)
    try:
        proc = _serial("--device", f"tcp://127.0.0.1:{port}", "--junit", str(tmp_path / "box.xml"), "--timeout",
                       "30")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith(b"verdict: svm-ready")
        assert b'testsuite name="bootgen.serial.tcp_127_0_0_1_' in (tmp_path / "box.xml").read_bytes()
    finally:
        _stop(box)


def test_a_box_that_never_reports_is_no_verdict_at_the_timeout():
    console = ChattyConsole()
    started = time.monotonic()
    proc = _serial("--device", f"tcp://127.0.0.1:{console.port}", "--timeout", "2")
    console.close()
    assert time.monotonic() - started < 10
    assert proc.returncode == 3 and b"no whole report arrived from the box" in proc.stdout


def test_serial_usage_errors(tmp_path):
    proc = run_cli("run", "--device", "/dev/ttyUSB0")
    assert proc.returncode == 2 and "--device, --baud and --power-cycle are for --backend serial" in proc.stderr
    proc = run_cli("run", "--baud", "9600")
    assert proc.returncode == 2 and "are for --backend serial" in proc.stderr
    proc = run_cli("run", "--backend", "serial")
    assert proc.returncode == 2 and "needs --device" in proc.stderr
    for option in (["--image", "x.iso"], ["--append", "inject=ud2"], ["--cpu", "max"], ["--smp", "2"]):
        proc = run_cli("run", "--backend", "serial", "--device", "-", *option)
        assert proc.returncode == 2 and option[0].split("=")[0] in proc.stderr, (option, proc.stderr)
    proc = run_cli("run", "--backend", "serial", "--device", str(tmp_path / "ttyNONE"))
    assert proc.returncode == 4 and "cannot open the console" in proc.stderr  # this machine's state, not usage


def test_a_failing_power_cycle_command_is_one_line():
    """Its last line of output, not the command (which may carry a password); it cannot read the console."""
    command = "read line; echo no PDU here >&2; exit 3"  # reads stdin: it must get none of the console's bytes
    proc = subprocess.run(f"{{ sleep 2; cat {DATA / 'qemu-tcg-svm-ready.log'}; }} | {sys.executable} -m bootgen run "
                          f"--backend serial --device - --power-cycle '{command}'", shell=True, cwd=ROOT,
                          capture_output=True, timeout=60)
    assert proc.returncode == 4
    assert proc.stderr.decode().strip() == "bootgen: error: the power-cycle command failed (status 3): no PDU here"


def test_a_replayed_report_before_the_power_cycle_does_not_count():
    """A console server replays the last boot's output on connecting: only a report after the cycle counts."""
    old = (DATA / "qemu-tcg-svm-ready.log").read_bytes()
    new = (DATA / "qemu-tcg-no-svm.log").read_bytes()
    proc = subprocess.run(f"{{ cat {DATA / 'qemu-tcg-svm-ready.log'}; sleep 1.5; cat {DATA / 'qemu-tcg-no-svm.log'}; "
                          f"}} | {sys.executable} -m bootgen run --backend serial --device - --power-cycle true -q",
                          shell=True, cwd=ROOT, capture_output=True, timeout=60)
    assert old and new and proc.stdout.startswith(b"verdict: no-svm"), (proc.stdout, proc.stderr)


@pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")
def test_ipmitool_style_pipe_from_a_process(tmp_path):
    """`... | bootgen run --backend serial --device -`, with the report arriving slowly over a pipe."""
    log = DATA / "bochs-ryzen-svm-ready.log"
    feeder = f"socat -u OPEN:{log} STDOUT"
    proc = subprocess.run(f"{feeder} | {sys.executable} -m bootgen run --backend serial --device - -q",
                          shell=True, cwd=ROOT, capture_output=True, timeout=60, env=os.environ)
    assert proc.returncode == 0 and proc.stdout.startswith(b"verdict: svm-ready"), proc.stderr
