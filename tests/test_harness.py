"""The harness as a busy CI runner and a hostile user see it: load, signals, dying parents, a tampered run
directory, forged terminal escapes, outputs that would destroy inputs, odd paths and inputs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from processes import alive, children, wait_for
from stub_reports import ready

from bootgen.backends.outcome import Ending, RunOutcome
from bootgen.backends.qemu import QemuConfig, run_qemu
from bootgen.backends.qemu.command import SANDBOX, qemu_command
from bootgen.image.iso import IsoConfig, build_iso
from bootgen.verdict import Verdict
from bootgen.verdict.evaluate import evaluate

from conftest import DATA, ROOT
from test_protocol import make_report


def bootgen(*args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    """Start `python -m bootgen ARGS` (text output)."""
    return subprocess.Popen([sys.executable, "-m", "bootgen", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "NO_COLOR": "1", **(env or {})}, **kwargs)


def emulator_of(proc: subprocess.Popen) -> int | None:
    """The emulator a bootgen process started (its only child), once it is running."""
    return wait_for(lambda: (children(proc.pid) or [None])[0])


# --------------------------------------------------------------------------- load


@pytest.mark.qemu
def test_48_concurrent_runs_all_get_the_right_verdict(stub_elf):
    """Under load every byte arrives: the serial port writes a file, which never drops what it is given."""
    procs = [bootgen("run", "--image", str(stub_elf), "--timeout", "180", "--json") for _ in range(48)]
    verdicts = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        verdicts.append(json.loads(out)["verdict"] if out else f"no output: {err.strip()}")
    assert verdicts == ["svm-ready"] * 48


@pytest.mark.qemu
def test_16_concurrent_hang_runs_end_within_the_timeout_plus_a_second(stub_elf):
    procs = [bootgen("run", "--image", str(stub_elf), "--append", "inject=hang", "--timeout", "1", "--json")
             for _ in range(16)]
    docs = [json.loads(proc.communicate(timeout=120)[0]) for proc in procs]
    assert {d["verdict"] for d in docs} == {"no-verdict"}
    assert max(d["run"]["elapsed_s"] for d in docs) <= 2.0, sorted(d["run"]["elapsed_s"] for d in docs)


def test_qemu_that_never_offers_qmp_ends_at_the_timeout(tmp_path, stub_elf):
    fake = tmp_path / "qemu-system-x86_64"
    fake.write_text("#!/bin/sh\nexec sleep 60\n")
    fake.chmod(0o755)
    started = time.monotonic()
    outcome = run_qemu(QemuConfig(image=stub_elf, timeout_s=1.5, qemu=str(fake)))
    assert outcome.ending is Ending.TIMEOUT and "QMP" in outcome.detail
    assert time.monotonic() - started < 1.5 + 1


# --------------------------------------------------------------------------- nothing but the emulator writes the log


@pytest.mark.qemu
def test_the_run_has_no_socket_and_no_serial_file_to_write_to(stub_elf, tmp_path):
    """A forged log written into the run's directory cannot become the verdict: nothing there is read."""
    proc = bootgen("run", "--image", str(stub_elf), "--append", "inject=hang", "--timeout", "4", "--json",
                   env={"TMPDIR": str(tmp_path)})
    qemu = emulator_of(proc)
    assert qemu is not None
    run_dir = wait_for(lambda: next(iter(tmp_path.glob("bootgen-qemu-*")), None))
    assert run_dir is not None
    assert not [p for p in run_dir.iterdir() if p.is_socket()]
    targets = [os.readlink(f) for f in Path(f"/proc/{qemu}/fd").iterdir()]
    assert any(t.endswith("serial.out (deleted)") for t in targets), targets
    forged = (DATA / "bochs-sandy-bridge.log").read_bytes()
    for path in run_dir.iterdir():
        path.write_bytes(forged)
    doc = json.loads(proc.communicate(timeout=60)[0])
    assert doc["verdict"] == "no-verdict" and doc["run"]["ending"] == "timeout"


def test_a_whole_report_from_a_run_that_timed_out_is_no_pass():
    serial = make_report(ready())
    assert evaluate(serial, RunOutcome("qemu", serial, Ending.GUEST_EXIT)).verdict is Verdict.VMX_READY
    for ending in (Ending.TIMEOUT, Ending.EMULATOR_CRASH, Ending.EMULATOR_EXIT, Ending.TRIPLE_FAULT):
        result = evaluate(serial, RunOutcome("qemu", serial, ending, "x"))
        assert result.verdict is Verdict.NO_VERDICT and ending.value in result.reason


def test_a_restart_in_an_emulator_run_is_no_pass_but_a_real_box_may_reboot():
    serial = make_report(ready()[:10])[:-60] + make_report(ready())
    assert evaluate(serial).verdict is Verdict.VMX_READY  # a captured log: boxes reboot
    result = evaluate(serial, RunOutcome("qemu", serial, Ending.GUEST_EXIT))
    assert result.verdict is Verdict.NO_VERDICT and "restarted" in result.reason


# --------------------------------------------------------------------------- signals and dying parents


@pytest.mark.qemu
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_stops_the_emulator_and_cleans_up(stub_elf, tmp_path, sig):
    proc = bootgen("run", "--image", str(stub_elf), "--append", "inject=hang", "--timeout", "60",
                   env={"TMPDIR": str(tmp_path)})
    qemu = emulator_of(proc)
    assert qemu is not None and wait_for(lambda: list(tmp_path.glob("bootgen-qemu-*")))
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 128 + sig, err
    assert len(err.strip().splitlines()) == 1 and signal.Signals(sig).name in err and "Traceback" not in err
    assert wait_for(lambda: not alive(qemu), timeout=5)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.qemu
def test_two_quick_interrupts_print_no_traceback(stub_elf, tmp_path):
    proc = bootgen("run", "--image", str(stub_elf), "--append", "inject=hang", "--timeout", "60",
                   env={"TMPDIR": str(tmp_path)})
    qemu = emulator_of(proc)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert wait_for(lambda: not alive(qemu), timeout=5) and list(tmp_path.iterdir()) == []


@pytest.mark.qemu
def test_the_emulator_dies_within_a_second_of_a_killed_bootgen(stub_elf, tmp_path):
    proc = bootgen("run", "--image", str(stub_elf), "--append", "inject=hang", "--timeout", "60",
                   env={"TMPDIR": str(tmp_path)})
    qemu = emulator_of(proc)
    assert qemu is not None
    proc.kill()
    proc.communicate(timeout=10)
    assert wait_for(lambda: not alive(qemu), timeout=1.0), "QEMU outlived bootgen"


@pytest.mark.bochs
@pytest.mark.grub
def test_sigterm_stops_bochs(stub_elf, tmp_path):
    from bootgen.backends.host import Host
    if Host().bochs_unavailable() is not None:
        pytest.skip("Bochs (with SDL2 display plugin and BIOS images) is not installed")
    iso = build_iso(IsoConfig(elf=stub_elf, output=tmp_path / "hang.iso", cmdline="inject=hang")).path
    temp = tmp_path / "tmp"
    temp.mkdir()
    proc = bootgen("run", "--backend", "bochs", "--image", str(iso), "--timeout", "60", env={"TMPDIR": str(temp)})
    bochs = emulator_of(proc)
    assert bochs is not None and wait_for(lambda: list(temp.glob("bootgen-bochs-*")))
    time.sleep(1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143 and "Traceback" not in err, err
    assert wait_for(lambda: not alive(bochs), timeout=5) and list(temp.iterdir()) == []


# --------------------------------------------------------------------------- nothing from the guest reaches the terminal raw


@pytest.mark.qemu
def test_a_brand_string_with_escapes_is_shown_escaped(stub_elf):
    proc = bootgen("run", "--image", str(stub_elf), "--cpu", "max,model-id=\x1b]0;PWN\x07\x1b[2JX")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err  # svm-ready: TCG's max CPU emulates AMD-V
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]0;PWN\\x07\\x1b[2JX" in next(line for line in out.splitlines() if line.startswith("cpu:"))


def test_a_forged_log_cannot_hide_or_fake_lines(tmp_path):
    records = [r.replace("and VMXOFF succeeded", "\x1b[8m\rverdict: vmx-ready\x9b2J") for r in ready()]
    assert records != ready()
    log = tmp_path / "forged.log"
    log.write_bytes(make_report(records))
    proc = bootgen("report", str(log))
    out, _ = proc.communicate(timeout=60)
    assert not set(out) & {"\x1b", "\r", "\x9b", "\x07"}
    first = out.splitlines()[0]  # make_report writes UTF-8: the C1 character is two bytes, both shown escaped
    assert "\\x1b[8m\\x0dverdict: vmx-ready" in first and "\\x9b2J" in first
    for name in (str(tmp_path / "a\x1b[2Jb.log"),):
        _, err = bootgen("report", name).communicate(timeout=60)
        assert "\x1b" not in err and "\\x1b" in err


def test_non_ascii_log_bytes_with_an_ascii_terminal(tmp_path):
    records = [r.replace("and VMXOFF succeeded", "caf\xe9 \xff") for r in ready()]
    log = tmp_path / "latin1.log"
    log.write_bytes(make_report(records))
    proc = bootgen("report", str(log), env={"PYTHONIOENCODING": "ascii"})
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert "caf\\xc3\\xa9" in out


# --------------------------------------------------------------------------- outputs never destroy inputs


def _refused(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, (out, err)
    assert len(err.strip().splitlines()) == 1
    return err


def test_an_output_is_never_an_input(tmp_path, stub_elf):
    log = tmp_path / "serial.log"
    log.write_bytes((DATA / "bochs-penryn.log").read_bytes())
    before = log.read_bytes()
    _refused(bootgen("report", str(log), "--junit", str(log)))
    link = tmp_path / "link.log"
    link.symlink_to(log)
    _refused(bootgen("report", str(log), "--junit", str(link)))
    hard = tmp_path / "hard.log"
    os.link(log, hard)
    _refused(bootgen("report", str(log), "--junit", str(hard)))
    assert log.read_bytes() == before
    image = tmp_path / "x.elf"
    image.write_bytes(stub_elf.read_bytes())
    _refused(bootgen("run", "--image", str(image), "--keep-log", str(image)))
    assert image.read_bytes() == stub_elf.read_bytes()
    out = tmp_path / "p"
    _refused(bootgen("run", "--image", str(image), "--keep-log", str(out), "--junit", str(out)))
    _refused(bootgen("iso", "--image", str(image), "-o", str(image)))


def test_written_files_keep_their_mode_or_take_the_umask(tmp_path):
    log = tmp_path / "serial.log"
    log.write_bytes((DATA / "bochs-penryn.log").read_bytes())
    kept = tmp_path / "kept.xml"
    kept.write_text("")
    kept.chmod(0o600)
    assert bootgen("report", str(log), "--junit", str(kept)).wait(60) == 0
    assert kept.stat().st_mode & 0o777 == 0o600
    new = tmp_path / "new.xml"
    proc = subprocess.run(["sh", "-c", f"umask 027; exec {sys.executable} -m bootgen report {log} --junit {new}"],
                          cwd=ROOT, capture_output=True)
    assert proc.returncode == 0 and new.stat().st_mode & 0o777 == 0o640


# --------------------------------------------------------------------------- builds and runs that share a checkout


def _checkout_copy(tmp_path: Path) -> Path:
    """A fresh copy of the stub's sources, as a new checkout has them."""
    copy = tmp_path / "checkout"
    copy.mkdir()
    for part in ("stage", "linker"):
        shutil.copytree(ROOT / part, copy / part)
    return copy


def test_concurrent_builds_in_a_fresh_checkout(tmp_path):
    copy = _checkout_copy(tmp_path)
    env = {"BOOTGEN_SOURCE_DIR": str(copy), "BOOTGEN_CACHE_DIR": str(tmp_path / "cache")}
    with ThreadPoolExecutor(max_workers=8) as pool:
        procs = list(pool.map(lambda i: bootgen("build", "-o", str(tmp_path / f"s{i}.elf"), env=env), range(8)))
        results = [(p.wait(120), p.stderr.read()) for p in procs]
    assert all(rc == 0 for rc, _ in results), results
    assert len({(tmp_path / f"s{i}.elf").read_bytes() for i in range(8)}) == 1
    assert not (copy / "build").exists()


@pytest.mark.qemu
def test_a_run_writes_nothing_where_it_runs(tmp_path):
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    proc = subprocess.run([sys.executable, "-m", "bootgen", "run", "--json"], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, "BOOTGEN_CACHE_DIR": str(tmp_path / "cache"),
                                          "PYTHONPATH": str(ROOT)}, timeout=120)
    assert json.loads(proc.stdout)["verdict"] == "svm-ready", proc.stderr
    assert list(cwd.iterdir()) == []


def test_build_into_a_directory_is_a_usage_error(tmp_path):
    _refused(bootgen("build", "-o", str(tmp_path)))


def test_an_unwritable_cache_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = bootgen("build", "-o", str(tmp_path / "s.elf"), env={"BOOTGEN_CACHE_DIR": str(blocker / "cache")})
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 4 and len(err.strip().splitlines()) == 1 and "BOOTGEN_CACHE_DIR" in err, err


def test_an_internal_error_is_status_5_and_one_line(monkeypatch, capsys):
    from bootgen import cli

    def broken(args):
        raise RuntimeError("something impossible")

    monkeypatch.setitem(cli.COMMANDS, "doctor", broken)
    assert cli.main(["doctor"]) == 5
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "internal error" in err and "RuntimeError" in err


# --------------------------------------------------------------------------- QEMU's command line


@pytest.mark.qemu
def test_a_path_with_commas_boots_that_file(tmp_path, stub_elf):
    iso = build_iso(IsoConfig(elf=stub_elf, output=tmp_path / "real.iso")).path
    odd = tmp_path / "ok.iso,media=cdrom,id=a.iso"
    iso.rename(odd)
    (tmp_path / "ok.iso").write_bytes(b"\0" * 65536)  # what a naive command line would boot
    proc = bootgen("run", "--image", str(odd), "--json")
    doc = json.loads(proc.communicate(timeout=120)[0])
    assert doc["verdict"] == "svm-ready" and doc["run"]["image"] == str(odd)


def test_qemu_runs_sandboxed(tmp_path):
    cmd = qemu_command(QemuConfig(image=tmp_path / "x,y.iso", media="cd"), qmp_fd=7, serial_fd=8, workdir=tmp_path)
    assert cmd[cmd.index("-sandbox") + 1] == SANDBOX
    assert f"file={tmp_path}/x,,y.iso," in cmd[cmd.index("-drive") + 1]


# --------------------------------------------------------------------------- `bootgen report` with bounded cost


def test_report_refuses_what_never_ends_or_is_too_big(tmp_path):
    assert "not a regular file" in _refused(bootgen("report", "/dev/zero"))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert "not a regular file" in _refused(bootgen("report", str(fifo)))
    log = tmp_path / "big.log"
    log.write_bytes(b"x" * 2048)
    assert "--max-bytes" in _refused(bootgen("report", str(log), "--max-bytes", "1024"))


def test_report_reads_standard_input(tmp_path):
    proc = bootgen("report", "-", stdin=subprocess.PIPE)
    out, err = proc.communicate((DATA / "bochs-penryn.log").read_text(encoding="latin-1"), timeout=60)
    assert proc.returncode == 0 and out.startswith("verdict: vmx-ready"), err
    proc = bootgen("report", "-", "--max-bytes", "100", stdin=subprocess.PIPE)
    _, err = proc.communicate("x" * 1000, timeout=60)
    assert proc.returncode == 2 and "--max-bytes" in err


def test_a_huge_line_or_report_stays_bounded():
    from bootgen.report import wire
    huge_line = b"#BOOTGEN begin proto=1 stub=x\n" + b"a" * (wire.MAX_LINE_BYTES * 50) + b"\n"
    assert "malformed" in (wire.parse(huge_line).problem or "")
    many = make_report(["step name=x state=ok"] * (wire.MAX_RECORDS + 5) + ["verdict name=no-vmx"])
    parsed = wire.parse(many)
    assert not parsed.complete and "more than" in parsed.problem and len(parsed.records) == wire.MAX_RECORDS
