"""bootgen in a labgrid lab: BootgenDriver on labgrid's own console and power drivers. QEMU boots the stub as
the lab's box: through labgrid's QEMUDriver from the environment file in docs/labgrid, and behind a labgrid
coordinator and exporter that share its TCP console as a network serial port, as a lab shares its boxes."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bootgen.contract import ports
from conftest import DATA, ROOT, run_cli
from consoles import ChattyConsole, free_port
from processes import alive, wait_for

pytestmark = pytest.mark.labgrid
pytest_plugins = ["pytester"]

ENVS = ROOT / "docs" / "labgrid"


@pytest.fixture(autouse=True)
def _no_lab_of_the_users(monkeypatch):
    """A labgrid user's own $LG_ENV, $LG_PLACE or $LG_COORDINATOR must not steer these runs."""
    for name in ("LG_ENV", "LG_PLACE", "LG_COORDINATOR"):
        monkeypatch.delenv(name, raising=False)
BIN = Path(sys.executable).parent  # labgrid's commands, installed beside this Python


def _checked_in_env(name: str, stub_elf: Path, tmp_path: Path) -> Path:
    """The environment file from docs/labgrid, byte for byte, where its relative image path finds the stub."""
    env = tmp_path / "docs" / "labgrid" / name
    env.parent.mkdir(parents=True)
    shutil.copyfile(ENVS / name, env)
    (tmp_path / "build").mkdir()
    shutil.copyfile(stub_elf, tmp_path / "build" / "stub.elf")
    return env


def _ours(marker: str) -> list[int]:
    """The live processes whose command line holds ``marker`` (a path only this test made)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if marker.encode() in (proc / "cmdline").read_bytes() and alive(int(proc.name)):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.mark.qemu
def test_qemu_driver_from_the_checked_in_environment(stub_elf, tmp_path):
    """labgrid's QEMUDriver powers the box and is its console; bootgen gives its verdict on both CPUs, and the
    emulator labgrid started is gone afterwards."""
    env = _checked_in_env("qemu.yaml", stub_elf, tmp_path)
    proc = run_cli("run", "--backend", "labgrid", "--lg-env", str(env), "--json", "--junit",
                   str(tmp_path / "lab.xml"), "--keep-log", str(tmp_path / "lab.log"))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "svm-ready" and doc["run"]["backend"] == "labgrid"
    assert doc["run"]["ending"] == "report-end" and doc["run"]["target"] == "main"
    assert [cpu["verdict"] for cpu in doc["cpus"]] == ["svm-ready", "svm-ready"]  # the file's -smp 2
    assert b'testsuite name="bootgen.labgrid.main"' in (tmp_path / "lab.xml").read_bytes()
    assert (tmp_path / "lab.log").read_bytes().count(b"#BOOTGEN end") == 1
    assert wait_for(lambda: not _ours(str(tmp_path)), timeout=10), "labgrid's QEMU outlived the run"


def _qemu_env_with(stub_elf, tmp_path, extra: str) -> Path:
    env = _checked_in_env("qemu.yaml", stub_elf, tmp_path)
    text = env.read_text()
    assert 'extra_args: "-nodefaults' in text
    env.write_text(text.replace('extra_args: "-nodefaults', f'extra_args: "{extra} -nodefaults'))
    return env


@pytest.mark.qemu
def test_an_emulator_that_exits_by_itself_keeps_the_verdict(stub_elf, tmp_path):
    """isa-debug-exit in extra_args: QEMU is gone before labgrid's clean-up tells it to quit."""
    env = _qemu_env_with(stub_elf, tmp_path, f"-device isa-debug-exit,iobase={ports.QEMU_DEBUG_EXIT_PORT:#x},iosize=4")
    proc = run_cli("run", "--backend", "labgrid", "--lg-env", str(env), "-q")
    assert proc.returncode == 0 and proc.stdout.startswith("verdict: svm-ready"), proc.stderr
    assert "Traceback" not in proc.stderr and "bootgen: warning" not in proc.stderr, proc.stderr


@pytest.mark.qemu
def test_an_emulator_that_never_starts_is_bounded_by_the_timeout(stub_elf, tmp_path):
    """labgrid's QEMUDriver waits for its emulator's console with no timeout of its own."""
    env = _qemu_env_with(stub_elf, tmp_path, "-no-such-option")
    started = time.monotonic()
    proc = run_cli("run", "--backend", "labgrid", "--lg-env", str(env), "--timeout", "3")
    assert time.monotonic() - started < 20
    assert proc.returncode == 4 and "bootgen: error: the power cycle through QemuDriver(main) failed" in proc.stderr
    assert not _ours(str(tmp_path))


def _hanging_env(stub_elf, tmp_path: Path) -> Path:
    """The checked-in QEMU environment with a stub told to hang: the run goes on until it is stopped."""
    env = _checked_in_env("qemu.yaml", stub_elf, tmp_path)
    memory = "        memory: 128M\n"
    env.write_text(env.read_text().replace(memory, memory + "        boot_args: inject=hang\n"))
    return env


@contextlib.contextmanager
def _background_run(env: Path, tmp_path: Path, **popen):
    """``bootgen run --backend labgrid`` on ``env`` in the background, and the QEMU it had labgrid start (found
    by this test's own path in its command line). Afterwards bootgen, and any QEMU of this test's it left, are
    killed by PID."""
    run = subprocess.Popen([sys.executable, "-m", "bootgen", "run", "--backend", "labgrid", "--lg-env", str(env),
                            "--timeout", "60"], cwd=ROOT, **popen)

    def emulators(step: float = 0.02) -> list[int]:
        found = wait_for(lambda: [p for p in _ours(str(tmp_path)) if p != run.pid], timeout=30, step=step)
        assert found, "labgrid started no QEMU"
        return found
    try:
        yield run, emulators
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(10)
        for pid in _ours(str(tmp_path)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.qemu
def test_sigterm_stops_labgrids_emulator(stub_elf, tmp_path):
    """CI cancels the job while the box runs (a stub told to hang): bootgen stops, and so does labgrid's QEMU."""
    env = _hanging_env(stub_elf, tmp_path)
    with _background_run(env, tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as (run, qemu):
        emulators = qemu()
        time.sleep(1)
        run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=30)
        assert run.returncode == 128 + signal.SIGTERM, err
        assert not any(alive(pid) for pid in emulators), "labgrid's QEMU outlived bootgen"


@pytest.mark.qemu
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_a_signal_while_labgrid_starts_its_emulator_orphans_nothing(stub_elf, tmp_path, signum):
    """The signal lands while labgrid's QEMUDriver is still bringing QEMU up (its power-on, in bootgen's power
    thread): the emulator must not outlive bootgen, started paused and never resumed."""
    env = _checked_in_env("qemu.yaml", stub_elf, tmp_path)
    with _background_run(env, tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as (run, qemu):
        qemu(step=0.002)
        run.send_signal(signum)
        run.wait(30)
        assert wait_for(lambda: not any(alive(pid) for pid in _ours(str(tmp_path))), timeout=15), \
            "labgrid's QEMU outlived bootgen"


@pytest.mark.qemu
def test_sigkill_of_bootgen_does_not_orphan_labgrids_emulator(stub_elf, tmp_path):
    """labgrid starts QEMU without a parent-death signal: bootgen's guard stops it when bootgen is killed."""
    env = _hanging_env(stub_elf, tmp_path)
    with _background_run(env, tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as (run, qemu):
        emulators = qemu()
        time.sleep(1.5)  # the stub runs: the run is reading the console
        run.kill()
        run.wait(10)
        assert wait_for(lambda: not any(alive(pid) for pid in emulators), timeout=10), "labgrid's QEMU was orphaned"


@pytest.mark.qemu
def test_a_matrix_entry_on_a_labgrid_target(stub_elf, tmp_path):
    """A matrix names the environment relative to itself, like its images."""
    _checked_in_env("qemu.yaml", stub_elf, tmp_path)
    (tmp_path / "lab.toml").write_text("""[[run]]
name = "lab-qemu"
backend = "labgrid"
lg_env = "docs/labgrid/qemu.yaml"
expect = "svm-ready"
""")
    proc = run_cli("matrix", str(tmp_path / "lab.toml"), "--junit", str(tmp_path / "m.xml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'name="lab-qemu"' in (tmp_path / "m.xml").read_text()


@pytest.mark.qemu
def test_the_driver_in_a_labgrid_pytest_session(stub_elf, tmp_path, pytester):
    """A lab's own test: labgrid's pytest plugin gives the target, BootgenDriver its verdict."""
    env = _checked_in_env("qemu.yaml", stub_elf, tmp_path)
    pytester.makepyfile("""
        def test_box(target):
            result = target.get_driver("BootgenDriver").run()
            assert result.verdict.value == "svm-ready", result.reason
            assert len(result.cpus) == 2

        def test_box_again(target):  # the running QEMU is cycled: stopped, and a new one started
            result = target.get_driver("BootgenDriver").run()
            assert result.verdict.value == "svm-ready", result.reason
        """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--lg-env={env}")
    result.assert_outcomes(passed=2)
    assert wait_for(lambda: not _ours(str(tmp_path)), timeout=10), "labgrid's QEMU outlived the session"


class _ConsoleServer:
    """A console server on loopback: on connecting it replays an earlier boot's report, then sends the new boot's
    once the power command has run (the file it touches appears), as a box on a PDU would."""

    def __init__(self, old: bytes, new: bytes, flag: Path) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(1)
        self.port = self.server.getsockname()[1]
        self.old, self.new, self.flag = old, new, flag
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            try:
                conn.sendall(self.old)
                if wait_for(self.flag.exists, timeout=20):
                    conn.sendall(b"\r\nPOST again\r\n")
                    time.sleep(0.5)  # a read of its own: the new boot's report comes later
                    conn.sendall(self.new)
                time.sleep(5)  # a real box's line stays up after its report
            except OSError:
                pass


def _box_env(tmp_path: Path, port: int, cycle: str | None = None, bootgen: str | None = None) -> Path:
    """An environment whose box has its console on ``port`` (a NetworkSerialPort), a power switch that runs
    ``cycle`` (labgrid's ExternalPowerDriver) if given, and a BootgenDriver with these settings if given."""
    drivers = "      SerialDriver: {}\n"
    if cycle is not None:
        drivers += f'      ExternalPowerDriver: {{cmd_on: "true", cmd_off: "true", cmd_cycle: "{cycle}"}}\n'
    if bootgen is not None:
        drivers += f"      BootgenDriver: {bootgen}\n"
    env = tmp_path / "box.yaml"
    env.write_text(("imports: [bootgen.lab]\n" if bootgen is not None else "") + "targets:\n  main:\n"
                   f"    resources:\n      NetworkSerialPort: {{host: 127.0.0.1, port: {port}, protocol: raw}}\n"
                   f"    drivers:\n{drivers}")
    return env


def test_power_through_labgrid_and_a_replayed_report(tmp_path):
    """labgrid's ExternalPowerDriver cycles the box; a report replayed before the cycle does not count."""
    flag = tmp_path / "power-cycled"
    box = _ConsoleServer((DATA / "qemu-tcg-svm-ready.log").read_bytes(), (DATA / "qemu-tcg-no-svm.log").read_bytes(),
                         flag)
    env = _box_env(tmp_path, box.port, cycle=f"touch {flag}", bootgen="{timeout: 20}")
    proc = run_cli("run", "--backend", "labgrid", "--lg-env", str(env), "--json")
    assert flag.exists()
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1 and doc["verdict"] == "no-svm", proc.stderr  # the new boot's, not the replay's
    assert doc["run"]["ending"] == "report-end"


def test_a_replayed_report_alone_is_no_verdict(tmp_path):
    """The replay is whole and ready, the new boot's report is cut off: no verdict, never the replay's."""
    flag = tmp_path / "power-cycled"
    new = (DATA / "qemu-tcg-svm-ready.log").read_bytes()
    box = _ConsoleServer(new, new[:len(new) // 2], flag)
    env = _box_env(tmp_path, box.port, cycle=f"touch {flag}", bootgen="{}")
    proc = run_cli("run", "--backend", "labgrid", "--lg-env", str(env), "--json", "--timeout", "4")
    doc = json.loads(proc.stdout)
    assert flag.exists() and proc.returncode == 3 and doc["verdict"] == "no-verdict", proc.stderr
    assert doc["run"]["ending"] == "timeout"


def test_a_console_that_never_goes_quiet_is_not_cycled_after_the_deadline(tmp_path):
    """The replay is read until the console is quiet; one that chatters until the timeout ends the run there,
    without switching the box off and on after bootgen gave up on it."""
    console = ChattyConsole(lines=100)
    flag = tmp_path / "power-cycled"
    env = _box_env(tmp_path, console.port, cycle=f"touch {flag}", bootgen="{}")
    proc = run_cli("run", "--backend", "labgrid", "--lg-env", str(env), "--json", "--timeout", "2")
    console.close()
    doc = json.loads(proc.stdout)
    assert proc.returncode == 3 and doc["run"]["ending"] == "timeout", proc.stderr
    assert "was not power-cycled" in doc["run"]["detail"] and not flag.exists()


def test_a_failing_power_driver_is_one_line(tmp_path):
    box = _ConsoleServer(b"", b"", tmp_path / "never")
    env = _box_env(tmp_path, box.port, cycle="false", bootgen="{}")
    proc = run_cli("run", "--backend", "labgrid", "--lg-env", str(env), "--timeout", "10")
    assert proc.returncode == 4
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bootgen: error: the power cycle through ExternalPowerDriver"), lines


def test_a_power_driver_that_hangs_is_given_up_at_the_timeout(tmp_path):
    box = _ConsoleServer(b"", b"", tmp_path / "never")
    env = _box_env(tmp_path, box.port, cycle="sleep 8", bootgen="{}")  # a PDU that never answers
    started = time.monotonic()
    proc = run_cli("run", "--backend", "labgrid", "--lg-env", str(env), "--json", "--timeout", "3")
    assert time.monotonic() - started < 7.5
    doc = json.loads(proc.stdout)
    assert proc.returncode == 3 and doc["run"]["ending"] == "timeout", proc.stderr
    assert doc["run"]["detail"] == "the power cycle still ran after 3 s"


def test_two_power_drivers_and_none_chosen_is_a_usage_error(tmp_path):
    """labgrid leaves an optional binding empty when two drivers could fill it: reading without the cycle the
    user expects could take a replayed report for the verdict."""
    env = tmp_path / "box.yaml"
    env.write_text("""imports: [bootgen.lab]
targets:
  main:
    resources:
      NetworkSerialPort: {host: 127.0.0.1, port: 9, protocol: raw}
    drivers:
      - SerialDriver: {}
      - ExternalPowerDriver: {name: a, cmd_on: "true", cmd_off: "true"}
      - ExternalPowerDriver: {name: b, cmd_on: "true", cmd_off: "true"}
      - BootgenDriver: {}
""")
    proc = run_cli("run", "--backend", "labgrid", "--lg-env", str(env), "--timeout", "5")
    assert proc.returncode == 2 and "more than one power driver and BootgenDriver bound none" in proc.stderr, \
        proc.stderr


def test_the_file_is_exit_2_and_the_lab_exit_4(tmp_path):
    """What the file sets up wrong is a usage error; a port the lab does not have is this machine's state."""
    (tmp_path / "driver.yaml").write_text("targets:\n  main:\n    drivers:\n      NoSuchDriver: {}\n")
    proc = run_cli("run", "--backend", "labgrid", "--lg-env", str(tmp_path / "driver.yaml"))
    assert proc.returncode == 2 and "InvalidConfigError: unknown driver class NoSuchDriver" in proc.stderr
    (tmp_path / "port.yaml").write_text(f"""targets:
  main:
    resources:
      RawSerialPort: {{port: {tmp_path / "ttyNONE"}, speed: 115200}}
    drivers:
      SerialDriver: {{}}
""")
    proc = run_cli("run", "--backend", "labgrid", "--lg-env", str(tmp_path / "port.yaml"))
    assert proc.returncode == 4 and "labgrid could not prepare the target 'main': SerialException" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_box_that_never_reports_is_no_verdict_at_the_timeout(tmp_path):
    box = _ConsoleServer(b"POST... memory test\r\n", b"", tmp_path / "never")
    env = _box_env(tmp_path, box.port)  # no imports and no BootgenDriver: bootgen binds one to the console
    started = time.monotonic()
    proc = run_cli("run", "--backend", "labgrid", "--lg-env", str(env), "--timeout", "2")
    assert time.monotonic() - started < 15
    assert proc.returncode == 3 and "no whole report arrived from the box" in proc.stdout, proc.stderr


def test_labgrid_usage_errors(tmp_path):
    proc = run_cli("run", "--backend", "labgrid", cwd=tmp_path)
    assert proc.returncode == 2 and "needs --lg-env FILE (or $LG_ENV)" in proc.stderr
    proc = run_cli("run", "--lg-env", str(ENVS / "qemu.yaml"))
    assert proc.returncode == 2 and "are for --backend labgrid" in proc.stderr
    proc = run_cli("run", "--backend", "labgrid", "--lg-env", str(ENVS / "qemu.yaml"), "--lg-target", "other")
    assert proc.returncode == 2 and "has no target 'other' (its targets: main)" in proc.stderr
    proc = run_cli("run", "--backend", "labgrid", "--lg-env", str(ENVS / "qemu.yaml"), "--cpu", "max")
    assert proc.returncode == 2 and "--cpu/--cpu-model is for an emulator" in proc.stderr
    (tmp_path / "bad.yaml").write_text("targets: [")
    proc = run_cli("run", "--backend", "labgrid", "--lg-env", str(tmp_path / "bad.yaml"))
    assert proc.returncode == 2 and proc.stderr.startswith("bootgen: error: cannot load the labgrid environment")
    (tmp_path / "none.yaml").write_text("targets:\n  main:\n    drivers: {}\n")
    proc = run_cli("run", "--backend", "labgrid", "--lg-env", str(tmp_path / "none.yaml"))
    assert proc.returncode == 2 and "cannot bind to the console and power drivers of the target 'main'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    (tmp_path / "unbound.yaml").write_text("imports: [bootgen.lab]\ntargets:\n  main:\n    drivers:\n"
                                           "      BootgenDriver: {}\n")  # the file's own driver, nothing to bind
    proc = run_cli("run", "--backend", "labgrid", "--lg-env", str(tmp_path / "unbound.yaml"))
    assert proc.returncode == 2 and "cannot bind to the console and power drivers of the target 'main'" in proc.stderr
    proc = run_cli("run", "--backend", "labgrid", "--lg-env", str(ENVS / "remote.yaml"))  # no $LG_PLACE
    assert proc.returncode == 2 and "unknown variable 'LG_PLACE'" in proc.stderr


def test_an_unreachable_coordinator_is_one_line():
    env = dict(os.environ, LG_PLACE="box", LG_COORDINATOR=f"127.0.0.1:{free_port()}")
    proc = subprocess.run([sys.executable, "-m", "bootgen", "run", "--backend", "labgrid", "--lg-env",
                           str(ENVS / "remote.yaml")], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 4
    (line,) = proc.stderr.strip().splitlines()  # labgrid's own words after the prefix: 25 and 26 differ
    assert line.startswith("bootgen: error: labgrid could not prepare the target 'main': ServerError: ")
    assert line.endswith("Could not connect to coordinator")


def _listening(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


class _Daemon:
    """A labgrid daemon this test started, stopped by its PID."""

    def __init__(self, argv: list[str], log: Path, cwd: Path) -> None:
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         cwd=cwd)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.mark.qemu
def test_a_box_shared_through_a_coordinator_and_an_exporter(stub_elf, tmp_path):
    """As a lab shares its boxes: a labgrid-coordinator and a labgrid-exporter on loopback, the exporter offering
    the QEMU box's TCP console as a NetworkSerialPort, a place acquired through the coordinator, and bootgen
    reaching the verdict over that console from the checked-in remote environment."""
    console_port, coordinator = free_port(), f"127.0.0.1:{free_port()}"
    (tmp_path / "exporter.yaml").write_text(f"""bootgen-box:
  NetworkSerialPort: {{host: 127.0.0.1, port: {console_port}, speed: 115200, protocol: raw}}
""")
    env = dict(os.environ, LG_COORDINATOR=coordinator, LG_PLACE=f"bootgen-{tmp_path.name}")
    daemons: list[_Daemon] = []
    try:
        # The box: booting once its console is connected (wait=on), like a box powered on by its lab.
        daemons.append(_Daemon(["qemu-system-x86_64", "-nodefaults", "-no-user-config", "-display", "none", "-cpu",
                                "max", "-m", "128", "-smp", "2", "-kernel", str(stub_elf), "-chardev",
                                f"socket,id=box,host=127.0.0.1,port={console_port},server=on,wait=on", "-serial",
                                "chardev:box"], tmp_path / "qemu.log", tmp_path))
        daemons.append(_Daemon([str(BIN / "labgrid-coordinator"), "--listen", coordinator], tmp_path / "coord.log",
                               tmp_path))
        host, port = coordinator.split(":")
        assert wait_for(lambda: _listening(host, int(port)), timeout=30), (tmp_path / "coord.log").read_text()
        exporter = _Daemon([str(BIN / "labgrid-exporter"), "--coordinator", coordinator, "--name", "lab-host",
                            "--hostname", "127.0.0.1", str(tmp_path / "exporter.yaml")], tmp_path / "exporter.log",
                           tmp_path)
        daemons.append(exporter)

        def client(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run([str(BIN / "labgrid-client"), *args], env=env, capture_output=True, text=True,
                                  timeout=30)
        assert wait_for(lambda: "lab-host/bootgen-box" in client("resources").stdout, timeout=30), \
            exporter.log.read_text()[-2000:]
        for args in (("create",), ("add-match", "lab-host/bootgen-box/*"), ("acquire",)):
            done = client(*args)
            assert done.returncode == 0, (args, done.stderr)
        proc = subprocess.run([sys.executable, "-m", "bootgen", "run", "--backend", "labgrid", "--lg-env",
                               str(ENVS / "remote.yaml"), "--json", "--timeout", "60"], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        assert doc["verdict"] == "svm-ready" and len(doc["cpus"]) == 2 and doc["run"]["backend"] == "labgrid"
        assert client("release").returncode == 0
    finally:
        for daemon in reversed(daemons):
            daemon.stop()


def test_without_labgrid_it_is_one_line_naming_the_extra(tmp_path):
    """As on a core install: importing labgrid fails."""
    code = ("import sys; sys.modules['labgrid'] = None; from bootgen.cli import main; "
            f"sys.exit(main(['run', '--backend', 'labgrid', '--lg-env', {str(ENVS / 'qemu.yaml')!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 4
    assert proc.stderr.strip() == ("bootgen: error: the labgrid integration needs labgrid: "
                                   "pip install 'bootgen[labgrid]'")
