"""`bootgen matrix FILE`: runs from a TOML file in parallel, each against its expected verdict; the shipped
matrices (every Bochs CPU model, the fault-injection matrix) agree with the contract and pass."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
import xmlschema

from bootgen.backends.bochs.models import _CPUDB
from bootgen.contract.injects import MATRIX, SPECS, SVM_MATRIX
from bootgen.contract.verdicts import Verdict
from bootgen.matrix.runner import _box
from bootgen.matrix.spec import SHIPPED, Entry, load

from conftest import DATA, run_cli

SCHEMA = xmlschema.XMLSchema(DATA / "junit.xsd")


def _write(tmp_path, text: str):
    path = tmp_path / "m.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, message", [
    ("[[run]]\nexpect = 'svm-ready'\n", "every run needs a name"),
    ("[[run]]\nname = 'a'\n", "expect must be a verdict"),
    ("[[run]]\nname = 'a'\nexpect = 'ready'\n", "expect must be a verdict"),
    ("[[run]]\nname = 'a'\nexpect = 'svm-ready'\ncpus = 2\n", "unknown key 'cpus'"),
    ("[[run]]\nname = 'a'\nexpect = 'svm-ready'\nsmp = 'two'\n", "smp must be a int"),
    ("[[run]]\nname = 'a'\nexpect = 'svm-ready'\nbackend = 'vmware'\n", "backend must be one of"),
    ("[[run]]\nname = 'a'\nexpect = 'svm-ready'\n[[run]]\nname = 'a'\nexpect = 'no-vmx'\n", "used twice"),
    ("[[run]\nname = 'a'\n", "not valid TOML"),
    ("[defaults]\nbackend = 'qemu'\n", "no [[run]] entries"),
    ("[[runs]]\nname = 'a'\n", "unknown table 'runs'"),
    ("[[run]]\nname = 'a'\nexpect = 'svm-ready'\nsmp = -1\n", "smp must be at least 1"),
    ("[[run]]\nname = 'a'\nexpect = 'svm-ready'\ntimeout = inf\n", "timeout must be a positive number"),
    ("[[run]]\nname = 'a'\nexpect = 'svm-ready'\naccel = 'hvf'\n", "accel must be one of"),
    ("[[run]]\nname = 'a'\nexpect = 'svm-ready'\nbackend = 'serial'\n", "backend serial needs a device"),
    ("run = [1]\n", "each one a table"),
    ("defaults = 3\n[[run]]\nname = 'a'\nexpect = 'svm-ready'\n", "[defaults] must be a table"),
])
def test_a_bad_matrix_is_one_usage_error(tmp_path, text, message):
    proc = run_cli("matrix", str(_write(tmp_path, text)))
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_an_unknown_shipped_matrix_names_the_shipped_ones():
    proc = run_cli("matrix", "nosuch")
    assert proc.returncode == 2 and "bochs-models, every-cpu, faults" in proc.stderr


def test_the_shipped_fault_matrix_is_the_contracts():
    runs = {e.name: e for e in load(SHIPPED / "faults.toml")}
    expected = {str(i): SPECS[i].verdict for i in MATRIX}
    expected |= {f"{i}-{b}": SPECS[i].verdict for i in SVM_MATRIX for b in ("qemu", "bochs")}
    assert {name: e.expect for name, e in runs.items()} == expected


def test_the_shipped_bochs_matrix_has_every_model_of_the_table():
    runs = {e.name: e for e in load(SHIPPED / "bochs-models.toml")}
    assert set(runs) == set(_CPUDB)
    for name, (vendor, vmx, svm, _) in _CPUDB.items():
        want = "vmx-ready" if vmx else "svm-ready" if svm else "no-svm" if vendor == "AuthenticAMD" else "no-vmx"
        assert runs[name].expect.value == want and runs[name].option("cpu_model") == name


@pytest.mark.qemu
def test_a_matrix_run_reports_each_entry(tmp_path):
    matrix = _write(tmp_path, """
[defaults]
backend = "qemu"
timeout = 30

[[run]]
name = "max"
expect = "svm-ready"

[[run]]
name = "epyc-2-cpus"
cpu = "EPYC"
smp = 2
memory = 256
expect = "svm-ready"

[[run]]
name = "intel-model"
cpu = "Skylake-Client"
expect = "vmx-ready"

[[run]]
name = "injected"
append = "inject=asid-zero"
expect = "vmrun-failed"
""")
    junit, out = tmp_path / "m.xml", tmp_path / "m.json"
    proc = run_cli("matrix", str(matrix), "-j", "2", "--junit", str(junit), "--json", str(out))
    assert proc.returncode == 1, proc.stderr  # one entry missed its expectation
    table = proc.stdout.splitlines()
    assert table[-1] == "3 of 4 runs as expected (m, 2 at a time)"
    assert any(line.startswith("FAIL  intel-model") and "no-vmx" in line for line in table)
    assert any(line.startswith("intel-model: this CPU does not offer VT-x") for line in table)
    SCHEMA.validate(junit.read_text())
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("name") == "bootgen.matrix.m" and suite.get("failures") == "1"
    assert [c.get("name") for c in suite.findall("testcase")] == ["max", "epyc-2-cpus", "intel-model", "injected"]
    doc = json.loads(out.read_text())
    assert [r["passed"] for r in doc["runs"]] == [True, True, False, True]
    assert doc["runs"][1]["result"]["run"]["cpu"] == "EPYC" and doc["runs"][3]["result"]["exit_code"] == 0xFFFFFFFF


@pytest.mark.qemu
def test_a_run_that_cannot_start_is_an_error_with_its_status(tmp_path):
    """Not a wrong verdict (1): the run's own status (2, a usage error), and a JUnit <error>."""
    matrix = _write(tmp_path, "[[run]]\nname = 'bad-model'\ncpu = 'NoSuchCPU'\nexpect = 'svm-ready'\n"
                              "[[run]]\nname = 'fine'\nexpect = 'svm-ready'\n")
    junit = tmp_path / "m.xml"
    proc = run_cli("matrix", str(matrix), "-q", "--junit", str(junit))
    assert proc.returncode == 2 and proc.stdout.strip() == "1 of 2 runs as expected"
    SCHEMA.validate(junit.read_text())
    suite = ET.parse(junit).getroot().find("testsuite")
    assert (suite.get("errors"), suite.get("failures")) == ("1", "0")
    assert "unknown QEMU CPU model" in suite.find("testcase/error").get("message")


@pytest.mark.bochs
@pytest.mark.grub
@pytest.mark.parametrize("matrix", ["faults", "bochs-models", "every-cpu"])
def test_the_shipped_matrices_pass(tmp_path, matrix):
    out = tmp_path / "m.json"
    proc = run_cli("matrix", matrix, "-j", "2", "--json", str(out), timeout=600)
    doc = json.loads(out.read_text())
    missed = [f"{r['name']}: {r['verdict']} ({r['error'] or r['result']['reason']})" for r in doc["runs"]
              if not r["passed"]]
    assert proc.returncode == 0 and not missed, missed
    if matrix == "bochs-models":  # each model's CPU says what the table says
        for run in doc["runs"]:
            assert run["result"]["cpu"]["vendor"] == _CPUDB[run["name"]][0], run["name"]


@pytest.mark.qemu
def test_an_interrupted_matrix_still_writes_what_finished(tmp_path):
    """A cancelled CI job (SIGTERM): the runs stop, and the JUnit holds the finished entries."""
    import signal
    import subprocess
    import sys
    import time

    from conftest import ROOT
    matrix = _write(tmp_path, "[defaults]\nbackend = 'qemu'\n[[run]]\nname = 'quick'\nexpect = 'svm-ready'\n"
                              "[[run]]\nname = 'hangs'\nappend = 'inject=hang'\ntimeout = 60\nexpect = 'no-verdict'\n")
    junit = tmp_path / "m.xml"
    proc = subprocess.Popen([sys.executable, "-m", "bootgen", "matrix", str(matrix), "-j", "2", "--junit", str(junit)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    SCHEMA.validate(junit.read_text())
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert cases["quick"].find("failure") is None and cases["quick"].find("error") is None
    assert "not run: interrupted" in cases["hangs"].find("error").get("message")


def test_runs_on_one_labgrid_box_take_turns_in_a_matrix():
    lab = Entry("a", Verdict.SVM_READY, (("backend", "labgrid"), ("lg_env", "/lab/box.yaml")))
    other = Entry("b", Verdict.SVM_READY, (("backend", "labgrid"), ("lg_env", "/lab/box.yaml"), ("lg_target", "b")))
    assert _box(lab) == "/lab/box.yaml#main" and _box(other) == "/lab/box.yaml#b"
    assert _box(Entry("c", Verdict.SVM_READY, (("backend", "qemu"),))) is None


def test_one_console_spelled_two_ways_is_one_box(tmp_path):
    (tmp_path / "ttyUSB0").touch()
    (tmp_path / "by-id").symlink_to(tmp_path / "ttyUSB0")
    spellings = [str(tmp_path / "ttyUSB0"), str(tmp_path / "by-id")]
    assert len({_box(Entry(f"e{i}", Verdict.VMX_READY, (("backend", "serial"), ("device", d))))
                for i, d in enumerate(spellings)}) == 1
    assert _box(Entry("t", Verdict.VMX_READY, (("device", "tcp://Consoles:7001"),))) == "tcp://consoles:7001"
