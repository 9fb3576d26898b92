"""JUnit XML: the same cases for every run of a configuration, skipped when not reached, one per expected VM
exit, a suite named from backend, CPU model and options, valid against the JUnit schema dashboards read."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import xmlschema

from bootgen.backends.outcome import Ending, RunOutcome
from bootgen.render.junit import SuiteIdentity, junit_xml, write_junit
from bootgen.verdict import Verdict
from bootgen.verdict.evaluate import evaluate

from conftest import DATA, run_cli
from test_protocol import make_report

SCHEMA = xmlschema.XMLSchema(DATA / "junit.xsd")

#: The plan of a full-mode run: every check, every VMX step, every expected exit, the verdict.
FULL_PLAN = [
    ("check", "cpu-vendor"), ("check", "hypervisor-present"), ("check", "cpuid-vmx"), ("check", "feature-control"),
    ("check", "cr4-vmxe-free"), ("check", "vmx-basic"), ("check", "cr0-pe-ne-pg"), ("check", "cr0-fixed"),
    ("check", "cr4-fixed"), ("check", "paging"),
    ("vmx", "vmxon-region"), ("vmx", "vmxon"), ("vmx", "vmcs"), ("vmx", "vmlaunch"), ("vmx", "vmclear"),
    ("vmx", "vmxoff"),
    ("guest", "exit-1-cpuid"), ("guest", "exit-2-io-instruction"), ("guest", "exit-3-vmcall"), ("guest", "exit-4-hlt"),
    ("verdict", "verdict"),
]
SVM_PLAN = [
    ("check", "cpu-vendor"), ("check", "hypervisor-present"), ("check", "cpuid-svm"), ("check", "vm-cr"),
    ("check", "efer-svme-free"), ("check", "paging"),
    ("svm", "svm-enable"), ("svm", "vmcb"), ("svm", "vmrun"), ("svm", "svm-disable"),
    ("guest", "exit-1-cpuid"), ("guest", "exit-2-ioio"), ("guest", "exit-3-vmmcall"), ("guest", "exit-4-hlt"),
    ("verdict", "verdict"),
]


def suite_of(xml: bytes) -> ET.Element:
    """The one suite, after checking the document against the schema and its counts against its cases."""
    SCHEMA.validate(xml.decode())
    root = ET.fromstring(xml)
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert suite.get("tests") == root.get("tests") == str(len(cases))
    assert suite.get("failures") == root.get("failures") == str(sum(c.find("failure") is not None for c in cases))
    assert suite.get("skipped") == str(sum(c.find("skipped") is not None for c in cases))
    assert suite.get("errors") == "0"
    for case in cases:
        assert case.get("classname").startswith(suite.get("name") + "."), case.get("classname")
    return suite


def plan_of(suite: ET.Element) -> list[tuple[str, str]]:
    return [(c.get("classname").rsplit(".", 1)[1], c.get("name")) for c in suite.findall("testcase")]


def cases_of(suite: ET.Element) -> dict[str, ET.Element]:
    return {c.get("name"): c for c in suite.findall("testcase")}


def state(case: ET.Element) -> str:
    return "failed" if case.find("failure") is not None else "skipped" if case.find("skipped") is not None \
        else "passed"


def test_ready_log_passes_every_case():
    suite = suite_of(junit_xml(evaluate((DATA / "bochs-skylake-x.log").read_bytes())))
    assert plan_of(suite) == FULL_PLAN
    assert suite.get("failures") == "0" and suite.get("skipped") == "0"
    cases = cases_of(suite)
    assert "info" in cases["cpu-vendor"].findtext("system-out")
    assert "VMCLEAR succeeded" in cases["vmcs"].findtext("system-out")
    assert "VMPTRLD succeeded" in cases["vmcs"].findtext("system-out")
    assert "reason 10" in cases["exit-1-cpuid"].findtext("system-out")
    assert cases["paging"].findtext("system-out") == "step paging completed"
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["verdict"] == "vmx-ready" and "i7-7800X" in properties["cpu"]
    assert suite.get("name") == "bootgen.report"  # one name whatever the log holds: --junit-suite tells boxes apart


@pytest.mark.parametrize("log", sorted(p.name for p in DATA.glob("*.log")))
def test_every_outcome_has_the_same_cases(log):
    """Ready, no VMX, a page fault, a failed VM entry, a double VMXON, VMEXIT_INVALID: one plan per technology."""
    result = evaluate((DATA / log).read_bytes())
    plan = plan_of(suite_of(junit_xml(result)))
    base = SVM_PLAN if result.facts.technology == "svm" else FULL_PLAN
    # Protocol 2: one case per CPU, just before the verdict; the rest is the boot CPU's plan.
    cpus = [("cpus", f"cpu {c.index} (APIC {c.apic_id:#04x})") for c in result.cpus] if result.report.sectioned \
        else []
    assert plan == [*base[:-1], *cpus, base[-1]]


def test_svm_ready_and_vmexit_invalid():
    suite = suite_of(junit_xml(evaluate((DATA / "bochs-ryzen-svm-ready.log").read_bytes())))
    assert suite.get("failures") == suite.get("skipped") == "0"
    assert "code 114" in cases_of(suite)["exit-1-cpuid"].findtext("system-out")  # 0x72
    suite = suite_of(junit_xml(evaluate((DATA / "qemu-tcg-inject-asid-zero.log").read_bytes())))
    cases = cases_of(suite)
    assert state(cases["vmrun"]) == "failed" and state(cases["svm-disable"]) == "passed"
    assert cases["exit-1-cpuid"].find("skipped").get("message") == \
        "the guest never ran: VMRUN refused the VMCB (VMEXIT_INVALID)"


def test_no_report_has_the_same_cases_all_skipped():
    outcome = RunOutcome("qemu", b"SeaBIOS\r\n", Ending.TIMEOUT, elapsed_s=30.0)
    suite = suite_of(junit_xml(evaluate(outcome.serial, outcome)))
    assert plan_of(suite) == FULL_PLAN
    cases = suite.findall("testcase")
    assert [state(c) for c in cases] == ["skipped"] * (len(FULL_PLAN) - 1) + ["failed"]
    assert cases[0].find("skipped").get("message") == "not reached: no report from the stub"
    assert suite.get("time") == "30.000"
    assert suite_of(junit_xml(evaluate(b""), expect=Verdict.NO_VERDICT)).get("failures") == "0"


def test_no_vmx_fails_the_check_and_skips_what_follows():
    suite = suite_of(junit_xml(evaluate((DATA / "qemu-tcg-no-vmx.log").read_bytes())))
    cases = cases_of(suite)
    assert suite.get("failures") == "2"
    assert "VMX[bit 5] is 0" in cases["cpuid-vmx"].find("failure").get("message")
    assert state(cases["cpu-vendor"]) == state(cases["hypervisor-present"]) == "passed"
    for name in ("feature-control", "vmx-basic", "vmxon", "vmlaunch", "exit-4-hlt"):
        assert cases[name].find("skipped").get("message") == "not reached: the run stopped at step cpuid-vmx (fail)"
    verdict = cases["verdict"].find("failure")
    assert "verdict no-vmx, expected vmx-ready" in verdict.get("message")
    suite = suite_of(junit_xml(evaluate((DATA / "qemu-tcg-no-vmx.log").read_bytes()), advice=["do this"]))
    assert "- do this" in cases_of(suite)["verdict"].find("failure").text


def test_failed_launch_names_the_error_and_skips_the_exits():
    result = evaluate((DATA / "bochs-inject-bad-control.log").read_bytes())
    suite = suite_of(junit_xml(result))
    cases = cases_of(suite)
    assert suite.get("failures") == "2"  # VMLAUNCH and the verdict
    message = cases["vmlaunch"].find("failure").get("message")
    assert "VM-instruction error 7 (VM entry with invalid control field(s))" in message
    skipped = cases["exit-1-cpuid"].find("skipped").get("message")
    assert skipped.startswith("the guest never ran: VMLAUNCH fail-valid")
    assert state(cases["vmclear"]) == state(cases["vmxoff"]) == "passed"


def test_second_vmxon_fails_the_vmxon_step():
    suite = suite_of(junit_xml(evaluate((DATA / "bochs-inject-double-vmxon.log").read_bytes())))
    assert "VMXON fail-invalid" in cases_of(suite)["vmxon"].find("failure").get("message")


def _guest_report(exits: list[tuple[int, int]], vmcall: int = 0xB007C0DE, io: int = 0x00800040) -> bytes:
    steps = ["cpu-identity", "cpuid-vmx", "feature-control", "cr4-vmxe-free", "vmx-basic", "cr-fixed",
             "vmxon-region", "vmxon", "vmcs"]
    records = [f"step name={s} state={state}" for s in steps for state in ("begin", "ok")]
    records += ["step name=vmlaunch state=begin"]
    records += [f"exit n={n} reason={reason} qualification={io if reason == 30 else 0:#x} rip=0x1000 length=2"
                for n, reason in exits]
    records += [f"vmcall value={vmcall:#x}"] if (3, 18) in exits else []
    records += [f"guest-trace exits={len(exits)} expected=no vmcall_value={vmcall:#x}", "step name=vmlaunch state=fail",
                "verdict name=guest-failed -- the guest did not run as designed"]
    return make_report(records)


def test_each_expected_exit_is_a_case():
    suite = suite_of(junit_xml(evaluate(_guest_report([(1, 10), (2, 48)]))))
    cases = cases_of(suite)
    assert state(cases["exit-1-cpuid"]) == "passed"
    assert cases["exit-2-io-instruction"].find("failure").get("message") == \
        "exit 2 was EPT violation (48), expected I/O instruction (30)"
    assert cases["exit-3-vmcall"].find("failure").get("message") == \
        "exit 3 (VMCALL) never came: the guest made 2 exit(s)"
    suite = suite_of(junit_xml(evaluate(_guest_report([(1, 10), (2, 30), (3, 18), (4, 12)], vmcall=0x1234))))
    assert cases_of(suite)["exit-3-vmcall"].find("failure").get("message") == \
        "VMCALL carried EAX=0x1234, expected 0xb007c0de"


def test_vmxon_mode_skips_the_guest_cases_it_does_not_run():
    suite = suite_of(junit_xml(evaluate(make_report(["config serial=0x3f8 mode=vmxon", "verdict name=no-vmx"]))))
    assert plan_of(suite) == FULL_PLAN  # the same cases as a full run, or a run cut off early
    for name in ("vmcs", "vmlaunch", "vmclear", "exit-1-cpuid", "exit-4-hlt"):
        assert cases_of(suite)[name].find("skipped").get("message") == \
            "not reached: mode=vmxon runs no VMCS and no guest"
    identity = SuiteIdentity("qemu", "max", mode="vmxon")
    assert plan_of(suite_of(junit_xml(evaluate(b""), identity=identity))) == FULL_PLAN


def test_a_failed_step_fails_its_unrecorded_checks():
    records = ["step name=cpu-identity state=begin", "step name=cpu-identity state=ok",
               "step name=feature-control state=begin", "msr index=0x0000003a fault=13 phase=loader",
               "step name=feature-control state=fail", "verdict name=fault msr=0x0000003a vector=13"]
    cases = cases_of(suite_of(junit_xml(evaluate(make_report(records)))))
    assert cases["feature-control"].find("failure").get("message").startswith("step feature-control failed")


def test_a_wrong_io_exit_fails_its_case():
    suite = suite_of(junit_xml(evaluate(_guest_report([(1, 10), (2, 30), (3, 18), (4, 12)], io=0x00810040))))
    assert "is not an 8-bit OUT to port 0x80" in cases_of(suite)["exit-2-io-instruction"].find("failure").get("message")


def test_not_reached_names_the_step_that_failed():
    suite = suite_of(junit_xml(evaluate((DATA / "qemu-tcg-no-vmx.log").read_bytes())))
    assert cases_of(suite)["vmxon"].find("skipped").get("message") == \
        "not reached: the run stopped at step cpuid-vmx (fail)"


def test_what_no_case_covers_is_in_the_verdict():
    records = ["step name=cpu-identity state=begin", "check name=future-check result=fail -- new",
               "step name=cpu-identity state=fail", "verdict name=no-vmx"]
    verdict = cases_of(suite_of(junit_xml(evaluate(make_report(records)))))["verdict"]
    assert "also recorded: check future-check: fail -- new" in verdict.find("failure").text


def test_expected_verdict_turns_the_run_green():
    result = evaluate((DATA / "bochs-inject-bad-control.log").read_bytes())
    suite = suite_of(junit_xml(result, expect=Verdict.VMENTRY_FAILED))
    assert suite.get("failures") == "0"
    assert "failed as expected (--expect vmentry-failed)" in cases_of(suite)["vmlaunch"].findtext("system-out")
    suite = suite_of(junit_xml(result, expect=Verdict.NO_VMX))
    assert suite.get("failures") == "2"


def test_suite_name_comes_from_backend_cpu_and_options():
    identity = SuiteIdentity("bochs", "corei7_skylake_x", (("smp", "2"), ("append", "inject=ud2 serial=0x2f8")))
    assert identity.name == "bootgen.bochs.corei7_skylake_x.smp=2.append=inject=ud2_serial=0x2f8"
    suite = suite_of(junit_xml(evaluate((DATA / "bochs-skylake-x.log").read_bytes()), identity=identity))
    assert suite.get("name") == identity.name
    assert suite.find("testcase").get("classname") == identity.name + ".check"
    assert SuiteIdentity("qemu", "Skylake-Client-v4").name == "bootgen.qemu.Skylake-Client-v4"
    custom = SuiteIdentity("qemu", "max", custom_name="lab.box7")
    assert suite_of(junit_xml(evaluate(b""), identity=custom)).get("name") == "lab.box7"
    odd = SuiteIdentity("qemu", "max", custom_name="lab\x01box")
    assert suite_of(junit_xml(evaluate(b""), identity=odd)).get("name") == "lab\\x01box"  # still valid XML


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
    proc = run_cli("report", str(DATA / "qemu-tcg-no-vmx.log"), "--junit", str(out), "--expect", "no-vmx",
                   "--junit-suite", "box7")
    assert proc.returncode == 0
    suite = suite_of(out.read_bytes())
    assert suite.get("failures") == "0" and suite.get("name") == "box7"


@pytest.mark.qemu
def test_cli_run_names_the_suite_after_its_configuration(tmp_path, stub_elf):
    out = tmp_path / "results.xml"
    proc = run_cli("run", "--image", str(stub_elf), "--cpu", "qemu64", "--smp", "2", "--append",
                   "screen=on mode=vmxon", "--junit", str(out), "--expect", "svm-ready")
    assert proc.returncode == 0, proc.stderr
    suite = suite_of(out.read_bytes())
    assert suite.get("name") == \
        "bootgen.qemu.qemu64.accel=tcg.firmware=seabios.media=kernel.smp=2.memory=128.append=mode=vmxon_screen=on"
    cpus = [("cpus", "cpu 0 (APIC 0x00)"), ("cpus", "cpu 1 (APIC 0x01)")]  # protocol 2: one case per CPU
    assert plan_of(suite) == [*SVM_PLAN[:-1], *cpus, SVM_PLAN[-1]]
    assert state(cases_of(suite)["exit-1-cpuid"]) == "skipped"
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["backend"] == "qemu" and properties["cpu-model"] == "qemu64" and properties["smp"] == "2"


def test_cli_junit_path_is_validated(tmp_path):
    for args in (["report", str(DATA / "qemu-tcg-no-vmx.log")], ["run"]):
        proc = run_cli(*args, "--junit", str(tmp_path / "missing" / "out.xml"))
        assert proc.returncode == 2 and "output directory does not exist" in proc.stderr
        proc = run_cli(*args, "--junit", str(tmp_path))
        assert proc.returncode == 2 and "is a directory" in proc.stderr
    assert list(tmp_path.iterdir()) == []
