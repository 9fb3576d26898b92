"""JUnit XML: one test case per check, per VMX instruction and for the verdict; it parses; counts are right."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from bootgen.backends.outcome import Ending, RunOutcome
from bootgen.render.junit import junit_xml, write_junit
from bootgen.report.wire import parse
from bootgen.verdict import Verdict
from bootgen.verdict.evaluate import evaluate

from conftest import DATA, run_cli
from test_protocol import make_report


def suite_of(xml: bytes) -> ET.Element:
    root = ET.fromstring(xml)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1 and suites[0].get("name") == "bootgen"
    suite = suites[0]
    cases = suite.findall("testcase")
    failed = [c for c in cases if c.find("failure") is not None]
    assert suite.get("tests") == root.get("tests") == str(len(cases))
    assert suite.get("failures") == root.get("failures") == str(len(failed))
    assert suite.get("errors") == "0"
    return suite


def cases_of(suite: ET.Element) -> dict[str, ET.Element]:
    return {c.get("name"): c for c in suite.findall("testcase")}


def test_ready_log_passes_every_case():
    serial = (DATA / "bochs-skylake-x.log").read_bytes()
    parsed = parse(serial)
    suite = suite_of(junit_xml(evaluate(serial)))
    cases = cases_of(suite)
    assert len(suite.findall("testcase")) == len(parsed.of_type("check")) + len(parsed.of_type("vmx")) + 1
    assert suite.get("failures") == "0"
    for name in ("cpu-vendor", "cpuid-vmx", "feature-control", "cr4-fixed", "vmxon", "vmclear", "vmclear #2",
                 "vmptrld", "vmxoff", "verdict"):
        assert name in cases, name
    assert cases["cpuid-vmx"].get("classname") == "bootgen.check"
    assert cases["vmxon"].get("classname") == "bootgen.vmx"
    assert cases["verdict"].get("classname") == "bootgen.verdict"
    assert "info" in cases["cpu-vendor"].findtext("system-out")
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["verdict"] == "vmx-ready" and "i7-7800X" in properties["cpu"]


def test_failed_check_and_verdict_are_failures():
    suite = suite_of(junit_xml(evaluate((DATA / "qemu-tcg-no-vmx.log").read_bytes())))
    cases = cases_of(suite)
    assert suite.get("failures") == "2"
    assert "VMX[bit 5] is 0" in cases["cpuid-vmx"].find("failure").get("message")
    verdict = cases["verdict"].find("failure")
    assert "verdict no-vmx, expected vmx-ready" in verdict.get("message")
    assert "AMD-V" not in verdict.get("message")
    # Advice goes into the failure text when given.
    suite = suite_of(junit_xml(evaluate((DATA / "qemu-tcg-no-vmx.log").read_bytes()), advice=["do this"]))
    assert "- do this" in cases_of(suite)["verdict"].find("failure").text


def test_failed_instruction_names_the_error():
    result = evaluate((DATA / "bochs-inject-bad-control.log").read_bytes())
    suite = suite_of(junit_xml(result))
    cases = cases_of(suite)
    assert suite.get("failures") == "2"  # VMLAUNCH and the verdict
    message = cases["vmlaunch"].find("failure").get("message")
    assert "VM-instruction error 7 (VM entry with invalid control field(s))" in message


def test_expected_verdict_turns_the_run_green():
    result = evaluate((DATA / "bochs-inject-bad-control.log").read_bytes())
    suite = suite_of(junit_xml(result, expect=Verdict.VMENTRY_FAILED))
    assert suite.get("failures") == "0"
    assert "failed as expected (--expect vmentry-failed)" in cases_of(suite)["vmlaunch"].findtext("system-out")
    # Expecting something else keeps every failure and fails the verdict.
    suite = suite_of(junit_xml(result, expect=Verdict.NO_VMX))
    assert suite.get("failures") == "2"


def test_no_verdict_is_one_failing_case():
    outcome = RunOutcome("qemu", b"SeaBIOS\r\n", Ending.TIMEOUT, elapsed_s=30.0)
    suite = suite_of(junit_xml(evaluate(outcome.serial, outcome)))
    (case,) = suite.findall("testcase")
    assert case.get("name") == "verdict" and case.find("failure") is not None
    assert suite.get("time") == "30.000"
    assert suite_of(junit_xml(evaluate(b""), expect=Verdict.NO_VERDICT)).get("failures") == "0"


def test_control_characters_stay_valid_xml():
    report = make_report(["check name=cpu-vendor result=fail vendor=\x1b[31mX -- bell\x07 here",
                          "verdict name=no-vmx"])
    suite = suite_of(junit_xml(evaluate(report)))
    assert cases_of(suite)["cpu-vendor"].find("failure").get("message") == "bell\\x07 here"
    assert "\x1b" not in junit_xml(evaluate(report)).decode()


def test_write_is_atomic(tmp_path):
    out = tmp_path / "junit.xml"
    write_junit(out, evaluate((DATA / "bochs-penryn.log").read_bytes()))
    suite_of(out.read_bytes())
    assert [p.name for p in tmp_path.iterdir()] == ["junit.xml"]


def test_cli_report_writes_junit(tmp_path):
    out = tmp_path / "results.xml"
    proc = run_cli("report", str(DATA / "qemu-tcg-no-vmx.log"), "--junit", str(out))
    assert proc.returncode == 1 and "verdict: no-vmx" in proc.stdout
    assert suite_of(out.read_bytes()).get("failures") == "2"
    proc = run_cli("report", str(DATA / "qemu-tcg-no-vmx.log"), "--junit", str(out), "--expect", "no-vmx")
    assert proc.returncode == 0
    assert suite_of(out.read_bytes()).get("failures") == "0"


def test_cli_junit_path_is_validated(tmp_path):
    for args in (["report", str(DATA / "qemu-tcg-no-vmx.log")], ["run"]):
        proc = run_cli(*args, "--junit", str(tmp_path / "missing" / "out.xml"))
        assert proc.returncode == 2 and "output directory does not exist" in proc.stderr
        proc = run_cli(*args, "--junit", str(tmp_path))
        assert proc.returncode == 2 and "is a directory" in proc.stderr
    assert list(tmp_path.iterdir()) == []
