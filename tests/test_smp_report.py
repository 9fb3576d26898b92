"""Protocol version 2, the host side: per-CPU sections read, judged per CPU and as one machine, and rendered.

The reports are built from the records of real version 1 logs (tests/data), wrapped into one section per CPU
(stub_reports.smp_records), with a valid CRC: framing passes, and only what the sections say decides.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import xmlschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stub_reports import (
    UNRESPONSIVE,
    all_sections,
    ap_entry,
    locked_off,
    log_records,
    probe,
    replaced,
    section,
    smp_records,
    until,
)
from test_trust import _VALUES, FORGERIES, _mutate, _oracle_problem

from bootgen.backends.outcome import Ending, RunOutcome
from bootgen.contract.exit_status import ExitStatus, exit_status
from bootgen.render.jsondoc import to_json
from bootgen.render.junit import junit_xml
from bootgen.render.text import to_text
from bootgen.report.reader import read
from bootgen.verdict import Verdict
from bootgen.verdict.advice import advise
from bootgen.verdict.cpus import NOT_STARTED, TRUNCATED, cpu_list
from bootgen.verdict.evaluate import CONTRADICTION, Result, evaluate

from conftest import DATA
from test_protocol import make_report

SCHEMA = xmlschema.XMLSchema(DATA / "junit.xsd")
SKYLAKE = "bochs-skylake-x.log"
SVM = "qemu-tcg-svm-ready.log"
TIMEOUT = "verdict name=unresponsive status=timeout -- it did not finish its checks within 10000 ms"

#: Every version 1 log and its verdict, as earlier releases judged them.
V1_VERDICTS = {
    "bochs-inject-bad-control.log": Verdict.VMENTRY_FAILED,
    "bochs-inject-bad-guest-state.log": Verdict.VMENTRY_FAILED,
    "bochs-inject-bad-revision.log": Verdict.VMXON_FAILED,
    "bochs-inject-double-vmxon.log": Verdict.VMXON_FAILED,
    "bochs-inject-vmxe-preset.log": Verdict.VMX_IN_USE,
    "bochs-penryn.log": Verdict.VMX_READY,
    "bochs-ryzen-no-vmx.log": Verdict.NO_VMX,
    "bochs-ryzen-svm-ready.log": Verdict.SVM_READY,
    "bochs-sandy-bridge.log": Verdict.VMX_READY,
    "bochs-skylake-x.log": Verdict.VMX_READY,
    "bochs-tigerlake.log": Verdict.VMX_READY,
    "bochs-yonah.log": Verdict.VMX_READY,
    "qemu-tcg-inject-asid-zero.log": Verdict.VMRUN_FAILED,
    "qemu-tcg-inject-svme-preset.log": Verdict.SVM_IN_USE,
    "qemu-tcg-no-svm.log": Verdict.NO_SVM,
    "qemu-tcg-no-vmx.log": Verdict.NO_VMX,
    "qemu-tcg-page-fault.log": Verdict.FAULT,
    "qemu-tcg-svm-ready.log": Verdict.SVM_READY,
}


#: Version 2 logs of the stub itself (QEMU 7.2 TCG, Bochs 2.7), each CPU's verdict as the stub wrote it.
V2_LOGS = {
    "qemu-tcg-smp4-svm-ready.log": [Verdict.SVM_READY] * 4,
    "qemu-tcg-smp4-inject-ap-no-sipi.log": [Verdict.SVM_READY, Verdict.SVM_READY, Verdict.UNRESPONSIVE,
                                            Verdict.SVM_READY],
    "qemu-tcg-smp2-inject-hang.log": [Verdict.SVM_READY, Verdict.UNRESPONSIVE],
    "bochs-skylake-x-smp2-inject-feature-control-disabled.log": [Verdict.VMX_READY,
                                                                 Verdict.VMX_DISABLED_BY_FIRMWARE],
}


def judge(records: list[str], outcome: RunOutcome | None = None) -> Result:
    return evaluate(make_report(records, protocol=2), outcome)


def ready_sections(count: int, name: str = SKYLAKE) -> list[str]:
    return smp_records(*all_sections(count, name), name=name)


def timed_out(index: int) -> list[str]:
    """An AP that joined and stopped in VMLAUNCH: its records so far, then the stub's unresponsive verdict."""
    return section(index, [*until(probe(), "guest entry="), TIMEOUT], "status=timeout step=vmlaunch join_us=900")


def verdicts(result: Result) -> list[Verdict]:
    return [c.verdict for c in result.cpus]


# --------------------------------------------------------------------------- version 1 stays as it was


@pytest.mark.parametrize("log", sorted(V1_VERDICTS))
def test_version_1_logs_keep_their_verdicts(log):
    serial = (DATA / log).read_bytes()
    result = evaluate(serial)
    assert result.verdict is V1_VERDICTS[log], result.reason
    assert not result.report.sectioned and len(result.cpus) == 1
    assert result.cpus[0].verdict is result.verdict and result.cpus[0].reason == result.reason
    assert result.detail == result.cpus[0].detail and "cpu" not in result.detail
    doc = to_json(result)
    assert doc["smp"] is None and doc["cpus_checked"]["scope"] == "boot-cpu"
    assert [c["index"] for c in doc["cpus"]] == [0] and doc["cpus"][0]["status"] is None
    suite = ET.fromstring(junit_xml(result)).find("testsuite")
    assert not [c for c in suite.findall("testcase") if c.get("classname").endswith(".cpus")]


def test_every_version_1_log_is_pinned():
    logs = {p.name for p in DATA.glob("*.log") if b"#BOOTGEN begin proto=1 " in p.read_bytes()}
    assert logs == set(V1_VERDICTS)


def test_sections_in_a_version_1_report_are_unknown_records():
    """Protocol 1 has no sections: its records read as they always did, whatever a forged log adds."""
    records = smp_records(section(0, probe()), section(1, [UNRESPONSIVE], "status=unresponsive", entry=[]))
    report = read(make_report(records, protocol=1))
    assert not report.sectioned and len(report.cpus) == 1 and report.unknown_records > 0
    assert evaluate(make_report(records, protocol=1)).verdict is Verdict.NO_VERDICT  # two verdict records


@pytest.mark.parametrize("log", sorted(V2_LOGS))
def test_the_stubs_version_2_logs(log):
    result = evaluate((DATA / log).read_bytes())
    expected = V2_LOGS[log]
    assert verdicts(result) == expected, [c.reason for c in result.cpus]
    worst = next((v for v in expected if not v.ready), expected[0])
    assert result.verdict is worst, result.reason
    assert result.report.framing.protocol == 2 and result.report.smp.count == len(expected)
    if not worst.ready:
        bad = [i for i, v in enumerate(expected) if v is worst]
        assert result.reason.startswith(f"{worst.value} on CPU {bad[0]} of {len(expected)}: ")
    suite = _suite(result)
    cases = [c for c in suite.findall("testcase") if c.get("classname").endswith(".cpus")]
    assert [c.find("failure") is None for c in cases] == [v.ready for v in expected]


# --------------------------------------------------------------------------- reading sections


def test_sections_are_read_into_cpus():
    records = smp_records(section(0, probe()), section(1, probe(microcode=0x2)), section(2, probe()))
    report = read(make_report(records, protocol=2))
    assert report.sectioned and [c.index for c in report.cpus] == [0, 1, 2] and report.section_order == [0, 1, 2]
    boot, ap = report.cpus[0], report.cpus[1]
    assert (ap.apic_id, ap.status, ap.join_us, ap.began, ap.ended) == (1, "finished", 1001, True, True)
    assert boot.join_us is None and boot.verdict is not None and ap.verdict is not None
    # The machine's records (its steps outside every section) are the boot CPU's; an AP has its own entry.
    assert [s.name for s in boot.steps[:4]] == ["descriptors", "descriptors", "paging", "paging"]
    assert any(s.name == "cpu-discovery" for s in boot.steps) and not any(s.name == "cpu-discovery"
                                                                           for s in ap.steps)
    assert ap.registers("loader") is not None and len(ap.verdicts) == 1
    smp = report.smp
    assert (smp.source, smp.count, smp.listed, smp.apic_mode, smp.boot_apic, smp.run, smp.tsc_khz) == \
        ("madt", 3, 3, "xapic", 0, "concurrent", 2400000)
    assert [(p.apic, p.usable, p.index) for p in report.processors] == [(0, True, 0), (1, True, 1), (2, True, 2)]
    assert report.config.cpus == "all" and report.config.inject_cpu == 0


def test_a_warning_in_a_section_names_its_cpu():
    ap = probe()
    ap.insert(-1, "warning what=vmcs-memory-type -- IA32_VMX_BASIC asks for a VMCS memory type other than WB")
    result = judge(smp_records(section(0, probe()), section(1, ap)))
    assert result.verdict is Verdict.VMX_READY, result.reason
    assert [(w.what, w.cpu) for w in result.report.warnings] == [("vmcs-memory-type", 1)]
    assert to_json(result)["warnings"][0]["cpu"] == 1
    assert "warning: vmcs-memory-type (CPU 1)" in to_text(result)


# --------------------------------------------------------------------------- the machine's verdict


@pytest.mark.parametrize("count", [2, 4])
def test_all_ready(count):
    result = judge(ready_sections(count))
    assert result.verdict is Verdict.VMX_READY, result.reason
    assert result.reason.startswith(f"VT-x works on all {count} CPUs: VMXON")
    assert verdicts(result) == [Verdict.VMX_READY] * count
    assert [c.apic_id for c in result.cpus] == list(range(count))
    assert [c.join_us for c in result.cpus] == [None, *(1000 + i for i in range(1, count))]
    assert all(not c.differences for c in result.cpus)
    assert exit_status(result.verdict, None) is ExitStatus.OK


def test_amd_v_ready_on_every_cpu():
    result = judge(smp_records(*(section(i, probe(SVM), entry=ap_entry(SVM)) for i in range(2)), name=SVM))
    assert result.verdict is Verdict.SVM_READY, result.reason
    assert result.reason.startswith("AMD-V works on all 2 CPUs")
    assert [c.facts.technology for c in result.cpus] == ["svm", "svm"]


def test_the_boot_cpu_alone():
    records = smp_records(section(0, probe()), processors=[], config="cpus=bsp inject_cpu=0",
                          cpus="cpus source=boot-only count=1 listed=0 apic_mode=xapic apic=0x00000000 "
                               "madt=0x00000000 run=boot-only tsc_khz=2400000 -- cpus=bsp")
    result = judge(records)
    assert result.verdict is Verdict.VMX_READY, result.reason
    assert result.reason == evaluate((DATA / "bochs-sandy-bridge.log").read_bytes()).reason  # as protocol 1 says
    assert to_json(result)["cpus_checked"]["scope"] == "boot-cpu" and len(result.cpus) == 1
    # cpus=bsp with a second section contradicts itself.
    two = smp_records(section(0, probe()), section(1, probe()), config="cpus=bsp inject_cpu=0")
    assert judge(two).verdict is Verdict.NO_VERDICT and "only the boot CPU runs" in judge(two).reason


def test_vt_x_disabled_by_firmware_on_some_cpus():
    records = smp_records(section(0, probe()), section(1, probe()), section(2, locked_off()),
                          section(3, locked_off()))
    result = judge(records)
    assert result.verdict is Verdict.VMX_DISABLED_BY_FIRMWARE, result.reason
    assert result.reason.startswith("vmx-disabled-by-firmware on CPUs 2, 3 of 4: IA32_FEATURE_CONTROL is locked")
    assert verdicts(result) == [Verdict.VMX_READY] * 2 + [Verdict.VMX_DISABLED_BY_FIRMWARE] * 2
    assert result.deciding.index == 2 and result.detail["cpu"] == 2
    assert result.cpus[2].differences[0].as_dict() == {
        "what": "IA32_FEATURE_CONTROL", "boot": "0x0000000000000005", "this": "0x0000000000000001"}
    advice = "\n".join(advise(result))
    assert "enable 'Intel Virtualization Technology'" in advice  # the verdict's own advice
    assert "VT-x is disabled on CPUs 2, 3 only and works on CPUs 0, 1" in advice
    assert "one socket only" in advice and "boot CPU only" in advice and "update the firmware" in advice
    assert exit_status(result.verdict, None) is ExitStatus.VERDICT


def test_an_unresponsive_ap():
    result = judge(smp_records(section(0, probe()), section(1, probe()),
                               section(2, [UNRESPONSIVE], "status=unresponsive", entry=[])))
    assert result.verdict is Verdict.UNRESPONSIVE, result.reason
    assert result.reason.startswith("unresponsive on CPU 2 of 3: it did not reach the stub's code")
    unresponsive = result.cpus[2]
    assert (unresponsive.status, unresponsive.join_us, unresponsive.apic_id) == ("unresponsive", None, 2)
    advice = "\n".join(advise(result))
    assert "CPU 2 (APIC 0x02) never reached the stub's code" in advice and "cpus=bsp" in advice
    assert "MADT" in advice and "should agree" not in advice  # its own advice names the CPU


def test_unresponsive_outranks_a_firmware_setting():
    result = judge(smp_records(section(0, probe()), section(1, locked_off()),
                               section(2, [UNRESPONSIVE], "status=unresponsive", entry=[])))
    assert result.verdict is Verdict.UNRESPONSIVE
    assert verdicts(result) == [Verdict.VMX_READY, Verdict.VMX_DISABLED_BY_FIRMWARE, Verdict.UNRESPONSIVE]


def test_an_ap_that_timed_out():
    result = judge(smp_records(section(0, probe()), timed_out(1)))
    assert result.verdict is Verdict.UNRESPONSIVE, result.reason
    assert result.reason == f"unresponsive on CPU 1 of 2: {TIMEOUT.partition(' -- ')[2]}"
    ap = result.cpus[1]
    assert (ap.status, ap.join_us, ap.facts.cpu.end_step) == ("timeout", 900, "vmlaunch")
    assert ap.detail["status"] == "timeout" and ap.facts.cpu.steps[-1].name == "vmlaunch"
    assert "did not finish its checks within 10 s (it was in step vmlaunch)" in "\n".join(advise(result))


@pytest.mark.parametrize("change, why", [
    (lambda s: s[:1] + ["cpuid leaf=0x00000000 subleaf=0x00000000 eax=0x16 ebx=0x0 ecx=0x0 edx=0x0"] + s[1:],
     "holds 1 of its records"),
    (lambda s: s[:-1] + ["cpu index=1 state=end status=unresponsive join_us=50"], "join_us=50"),
    (lambda s: s[:-2] + ["verdict name=unresponsive status=timeout -- x"] + s[-1:], "status=timeout"),
], ids=["records", "join time", "verdict status"])
def test_an_unresponsive_ap_that_says_otherwise_is_no_verdict(change, why):
    result = judge(smp_records(section(0, probe()),
                               change(section(1, [UNRESPONSIVE], "status=unresponsive", entry=[]))))
    assert result.verdict is Verdict.NO_VERDICT and result.cpus[1].verdict is Verdict.NO_VERDICT
    assert result.reason.startswith(f"no-verdict on CPU 1 of 2: {CONTRADICTION}") and why in result.reason


def test_the_boot_cpu_cannot_be_unresponsive():
    result = judge(smp_records(section(0, [UNRESPONSIVE], "status=unresponsive"), section(1, probe())))
    assert result.verdict is Verdict.NO_VERDICT and "the boot CPU wrote the report" in result.reason


def test_a_truncated_section_has_no_verdict():
    result = judge(smp_records(section(0, probe()), section(1, until(probe(), "step name=vmxon "),
                                                            "status=truncated join_us=1001")))
    assert result.verdict is Verdict.NO_VERDICT
    assert result.reason == f"no-verdict on CPU 1 of 2: {TRUNCATED}"
    assert verdicts(result) == [Verdict.VMX_READY, Verdict.NO_VERDICT]
    assert "overflowed its report buffer" in advise(result)[0]
    assert exit_status(result.verdict, None) is ExitStatus.NO_VERDICT


def test_a_cpu_never_started_is_not_a_pass():
    why = "no free page below 1 MiB for the APs' start-up code: the APs are not started"
    cpus = "cpus source=madt count=2 listed=2 apic_mode=xapic apic=0x00000000 madt=0x07fe1234 run=concurrent " \
           f"tsc_khz=2400000 -- {why}"
    result = judge(smp_records(section(0, probe()), section(1, [], "status=not-started", entry=[]), cpus=cpus))
    assert result.verdict is Verdict.NO_VERDICT and result.cpus[1].reason == f"{NOT_STARTED} ({why})"
    assert "the stub did not start CPU 1" in advise(result)[0]


def test_an_ap_that_stalled_after_its_own_verdict_is_unresponsive():
    result = judge(smp_records(section(0, probe()), section(1, probe(), "status=timeout join_us=800")))
    assert result.verdict is Verdict.UNRESPONSIVE, result.reason
    assert result.cpus[1].reason.endswith("after its own verdict vmx-ready")
    assert result.cpus[1].detail["own_verdict"] == "vmx-ready"


def test_the_boot_cpu_need_not_be_in_the_madt():
    """The boot CPU writes section 0 whatever the MADT says; every AP's section needs its processor."""
    aps = ["processor apic=0x00000001 kind=lapic uid=1 flags=0x00000001 usable=yes index=1",
           "processor apic=0x00000009 kind=lapic uid=9 flags=0x00000000 usable=no"]
    result = judge(smp_records(*all_sections(2), processors=aps))
    assert result.verdict is Verdict.VMX_READY, result.reason
    assert [p.usable for p in result.report.processors] == [True, False]


@pytest.mark.parametrize("count", [0, 2])
def test_a_section_without_exactly_one_verdict(count):
    ap = until(probe(), "verdict ") + [probe()[-1]] * count
    result = judge(smp_records(section(0, probe()), section(1, ap)))
    assert result.verdict is Verdict.NO_VERDICT
    assert f"its section holds {count} verdict records, not 1" in result.reason


def test_a_stub_verdict_that_disagrees_with_its_records_names_the_cpu():
    """CPU 1's records say IA32_FEATURE_CONTROL is locked off, its verdict record says ready."""
    liar = [*locked_off()[:-1], probe()[-1]]
    result = judge(smp_records(section(0, probe()), section(1, liar), section(2, probe())))
    assert result.verdict is Verdict.NO_VERDICT
    assert result.reason.startswith(f"no-verdict on CPU 1 of 3: {CONTRADICTION}: the verdict record says vmx-ready "
                                    "but the records say vmx-disabled-by-firmware")
    assert verdicts(result) == [Verdict.VMX_READY, Verdict.NO_VERDICT, Verdict.VMX_READY]
    assert result.deciding.index == 1
    assert advise(result)[0].startswith("the report contradicts itself")


def test_injection_knowledge_applies_to_the_targeted_cpu_only():
    """inject=vmxe-preset sets CR4.VMXE after the loader: only CPU inject_cpu may show a CR4 the loader did not."""
    preset = probe("bochs-inject-vmxe-preset.log")
    config = "cpus=all inject_cpu=1"
    on_1 = judge(smp_records(section(0, probe()), section(1, preset), name="bochs-inject-vmxe-preset.log",
                             config=config))
    assert on_1.verdict is Verdict.VMX_IN_USE, on_1.reason
    assert on_1.reason.startswith("vmx-in-use on CPU 1 of 2")
    assert "inject=vmxe-preset on CPU 1" in advise(on_1)[0]
    assert any(line.startswith("vmx-in-use on CPU 1 only, ready on CPU 0: the CPUs of one machine should agree")
               for line in advise(on_1))
    on_0 = judge(smp_records(section(0, preset), section(1, probe()), name="bochs-inject-vmxe-preset.log",
                             config=config))
    assert on_0.verdict is Verdict.NO_VERDICT and "CPU 0" in on_0.reason and "loader's CR4" in on_0.reason


# --------------------------------------------------------------------------- a report that contradicts itself


BAD_SECTIONS = {
    "count": (lambda: smp_records(*all_sections(2), count=3), "cpus count=3 but the report holds 2 CPU sections"),
    "missing end": (lambda: smp_records(section(0, probe()), section(1, probe())[:-1]),
                    "CPU 1's section never ends"),
    "nested": (lambda: smp_records(section(0, probe())[:-1] + section(1, probe()) + section(0, probe())[-1:],
                                   count=2), "CPU 1's section begins inside CPU 0's"),
    "order": (lambda: smp_records(section(0, probe()), section(2, probe()), section(1, probe())),
              "the CPU sections are [0, 2, 1]"),
    "repeated": (lambda: smp_records(section(0, probe()), section(1, probe()), section(1, probe()), count=2),
                 "a second section for CPU 1"),
    "processor apic": (lambda: smp_records(section(0, probe()), section(1, probe(), apic=7)),
                       "processor index=1 has APIC ID 0x1 but CPU 1's section names 0x7"),
    "unnamed section": (lambda: smp_records(section(0, probe()), section(1, probe()), processors=[
        "processor apic=0x00000000 kind=lapic uid=0 flags=0x00000001 usable=yes index=0"]),
        "the MADT's usable processors name no section for CPU 1"),
    "no cpus record": (lambda: [r for r in smp_records(*all_sections(2)) if not r.startswith("cpus ")],
                       "it has CPU sections but no cpus record"),
    "unknown status": (lambda: smp_records(section(0, probe()), section(1, probe(), "status=maybe")),
                       "CPU 1's section ends with status='maybe'"),
    "boot apic": (lambda: smp_records(section(0, probe(), apic=4), section(1, probe())),
                  "cpus apic=0x0 but CPU 0's section names APIC 0x4"),
}


@pytest.mark.parametrize("case", sorted(BAD_SECTIONS))
def test_sections_that_do_not_fit_are_no_verdict(case):
    build, why = BAD_SECTIONS[case]
    result = judge(build())
    assert result.verdict is Verdict.NO_VERDICT
    assert result.reason.startswith(CONTRADICTION) and why in result.reason, result.reason
    assert set(verdicts(result)) == {Verdict.NO_VERDICT}  # no CPU of such a report is believed
    assert advise(result)[0].startswith("the report contradicts itself")


def test_a_report_cut_before_cpu_discovery_is_the_boot_cpus():
    """An early fault: no cpus record and no sections, the records all the boot CPU's, as in protocol 1."""
    result = judge(log_records("qemu-tcg-page-fault.log"))
    assert result.verdict is Verdict.FAULT, result.reason
    assert len(result.cpus) == 1 and not result.report.sectioned


def test_a_run_that_did_not_end_as_the_stub_ends_it():
    outcome = RunOutcome("qemu", b"", Ending.TIMEOUT, detail="no exit")
    result = judge(ready_sections(2), outcome)
    assert result.verdict is Verdict.NO_VERDICT and "ended by timeout" in result.reason
    assert verdicts(result) == [Verdict.NO_VERDICT] * 2
    assert judge(ready_sections(2), RunOutcome("qemu", b"", Ending.GUEST_EXIT)).verdict is Verdict.VMX_READY


# --------------------------------------------------------------------------- differences from the boot CPU


def test_a_microcode_difference_is_reported():
    result = judge(smp_records(section(0, probe()), section(1, probe(microcode=0x2f))))
    assert result.verdict is Verdict.VMX_READY, result.reason
    assert [c.microcode for c in result.cpus] == [0x1, 0x2F]
    assert [d.as_dict() for d in result.cpus[1].differences] == [
        {"what": "microcode revision", "boot": "0x1", "this": "0x2f"}]
    assert any("different microcode revisions (0x1 on CPU 0; 0x2f on CPU 1)" in line for line in advise(result))
    assert "CPU 1 differs from the boot CPU: microcode revision 0x1 -> 0x2f" in to_text(result)
    assert to_json(result)["cpus"][1]["differences"] == [{"what": "microcode revision", "boot": "0x1",
                                                          "this": "0x2f"}]


def test_a_vmx_capability_difference_is_reported():
    ap = replaced(probe(), "msr index=0x0000048b value=", "msr index=0x0000048b value=0x00177fff00000000 "
                  "phase=capability")
    result = judge(smp_records(section(0, probe()), section(1, ap)))
    assert [d.what for d in result.cpus[1].differences] == ["IA32_VMX_PROCBASED_CTLS2"]
    difference = result.cpus[1].differences[0]
    assert difference.this == "0x00177fff00000000" and difference.boot != difference.this
    assert any("feature inconsistency" in line for line in advise(result))


def test_identity_facts_per_cpu():
    result = judge(ready_sections(3))
    ids = result.cpus[2].ids
    assert (ids.apic_id, ids.initial_apic_id, ids.x2apic_id, ids.microcode, ids.signature) == \
        (2, 2, None, 1, 0x00050654)


# --------------------------------------------------------------------------- outputs


def test_json_cpus_and_smp():
    result = judge(smp_records(section(0, probe()), section(1, locked_off())))
    doc = to_json(result)
    assert doc["verdict"] == "vmx-disabled-by-firmware" and doc["reason"] == result.reason
    assert doc["detail"]["cpu"] == 1
    assert [(c["index"], c["apic_id"], c["verdict"], c["status"], c["join_us"]) for c in doc["cpus"]] == [
        (0, 0, "vmx-ready", "finished", None), (1, 1, "vmx-disabled-by-firmware", "finished", 1001)]
    one = doc["cpus"][1]
    assert one["microcode"] == 1 and one["technology"] == "vmx" and one["feature_control"]["state"] == \
        "disabled-by-firmware"
    assert one["differences"][0]["what"] == "IA32_FEATURE_CONTROL"
    assert [e["name"] for e in doc["cpus"][0]["guest"]["exits"]] == ["CPUID", "I/O instruction", "VMCALL", "HLT"]
    assert one["guest"] is None and one["exception"] is None
    assert {k: doc["smp"][k] for k in ("source", "count", "listed", "apic_mode", "run", "tsc_khz")} == {
        "source": "madt", "count": 2, "listed": 2, "apic_mode": "xapic", "run": "concurrent", "tsc_khz": 2400000}
    assert doc["cpus_checked"] == {"count": 2, "scope": "every-cpu",
                                   "note": "every logical CPU that the ACPI MADT lists was checked (2)"}


def test_text_table():
    text = to_text(judge(smp_records(section(0, probe()), section(1, locked_off()),
                                     section(2, [UNRESPONSIVE], "status=unresponsive", entry=[]))))
    lines = text.splitlines()
    assert lines[0].startswith("verdict: unresponsive  unresponsive on CPU 2 of 3")
    assert "cpus:    3 from the ACPI MADT, 3 listed, APIC mode xapic, run concurrent, TSC 2400000 kHz" in lines
    rows = [line.split() for line in lines if line.startswith("  ") and line.split()[0] in ("0", "1", "2")]
    assert [r[:3] for r in rows] == [["0", "0x00", "vmx-ready"], ["1", "0x01", "vmx-disabled-by-firmware"],
                                     ["2", "0x02", "unresponsive"]]
    assert rows[1][4] == "1001" and rows[2][4] == "-"
    assert "IA32_FEATURE_CONTROL is locked with VMX off" in " ".join(rows[1])
    assert "scope:   every logical CPU that the ACPI MADT lists was checked (3)" in lines


def test_text_table_groups_many_cpus():
    sections = [section(i, locked_off() if i == 5 else probe()) for i in range(20)]
    text = to_text(judge(smp_records(*sections)))
    rows = [line.split()[:3] for line in text.splitlines() if line.startswith("  ") and line.split()[0][0].isdigit()]
    assert rows == [["0-4", "0x00-0x04", "vmx-ready"], ["5", "0x05", "vmx-disabled-by-firmware"],
                    ["6-19", "0x06-0x13", "vmx-ready"]]
    few = to_text(judge(ready_sections(3)))
    assert [line.split()[0] for line in few.splitlines() if line.startswith("  ") and line.split()[0].isdigit()] == \
        ["0", "1", "2"]


def _suite(result: Result, **kwargs) -> ET.Element:
    xml = junit_xml(result, **kwargs)
    SCHEMA.validate(xml.decode())
    return ET.fromstring(xml).find("testsuite")


def test_junit_has_one_case_per_cpu():
    result = judge(smp_records(section(0, probe()), section(1, probe()), section(2, locked_off())))
    suite = _suite(result)
    cpus = [c for c in suite.findall("testcase") if c.get("classname") == f"{suite.get('name')}.cpus"]
    assert [c.get("name") for c in cpus] == ["cpu 0 (APIC 0x00)", "cpu 1 (APIC 0x01)", "cpu 2 (APIC 0x02)"]
    assert [c.find("failure") is not None for c in cpus] == [False, False, True]
    assert "CPU 2: vmx-disabled-by-firmware" in cpus[2].find("failure").get("message")
    # The boot CPU's cases stay as protocol 1 has them, and they pass: CPU 0 is ready.
    boot = [c for c in suite.findall("testcase") if c.get("classname").endswith(".check")]
    assert boot and all(c.find("failure") is None for c in boot)
    verdict = next(c for c in suite.findall("testcase") if c.get("name") == "verdict")
    assert verdict.find("failure") is not None


def test_junit_all_ready_and_expected():
    suite = _suite(judge(ready_sections(4)))
    assert suite.get("failures") == "0"
    assert len([c for c in suite.findall("testcase") if c.get("classname").endswith(".cpus")]) == 4
    expected = _suite(judge(smp_records(section(0, probe()), section(1, locked_off()))),
                      expect=Verdict.VMX_DISABLED_BY_FIRMWARE)
    assert expected.get("failures") == "0"  # the expected verdict reached: the CPU that gives it passes too


def test_cpu_lists():
    assert cpu_list([2, 3]) == "2, 3"
    assert cpu_list([0, 2, 3, 4, 5, 7]) == "0, 2-5, 7"
    assert cpu_list([1]) == "1"


# --------------------------------------------------------------------------- the host never takes one CPU's word


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_a_forgery_in_one_aps_section_is_no_verdict_for_that_cpu(forgery):
    ap = FORGERIES[forgery](probe())
    result = judge(smp_records(section(0, probe()), section(1, probe()), section(2, ap)))
    assert result.verdict is Verdict.NO_VERDICT, (forgery, result.reason)
    assert result.reason.startswith(f"no-verdict on CPU 2 of 3: {CONTRADICTION}"), result.reason
    assert verdicts(result) == [Verdict.VMX_READY, Verdict.VMX_READY, Verdict.NO_VERDICT]


def _number(text: str | None) -> int | None:
    try:
        return int(text, 0) if text is not None else None
    except ValueError:
        return None


def _per_cpu(records: list[str]) -> tuple[dict[int, list[str]], str | None]:
    """A plain reading of a version 2 report: each CPU's records, and what is wrong with its sections."""
    cpus: dict[int, list[str]] = {0: []}
    current, begun, ended, count = 0, [], [], None
    for record in records:
        words = dict(w.split("=", 1) for w in record.split(" -- ")[0].split(" ")[1:] if "=" in w)
        if record.startswith("cpu "):
            index = _number(words.get("index"))
            if words.get("state") == "begin":
                current = -1 if index is None else index
                begun.append(current)
                cpus.setdefault(current, [])
            else:
                ended.append((index, words.get("status")))
                current = 0
            continue
        if record.startswith("cpus "):
            count = _number(words.get("count"))
        cpus[current].append(record)
    n = len(begun)
    if count != n or begun != list(range(n)) or ended != [(i, "finished") for i in range(n)]:
        return cpus, "the sections"
    return cpus, None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_multi_cpu_reports_are_ready_only_when_every_section_is(data):
    records = ready_sections(3, "bochs-sandy-bridge.log")
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        index = data.draw(st.integers(min_value=0, max_value=len(records) - 1))
        records = _mutate(records, index, data.draw(st.integers(min_value=0, max_value=20)), data.draw(_VALUES))
    result = judge(records)
    assert to_json(result)["verdict"] == result.verdict.value
    if result.verdict is Verdict.VMX_READY:
        cpus, problem = _per_cpu(records)
        assert problem is None, records
        for index, own in cpus.items():
            assert _oracle_problem(own) is None, (index, _oracle_problem(own))
        assert all(c.verdict is Verdict.VMX_READY for c in result.cpus)


def test_the_plain_reading_accepts_the_unmutated_report():
    cpus, problem = _per_cpu(ready_sections(3, "bochs-sandy-bridge.log"))
    assert problem is None and sorted(cpus) == [0, 1, 2]
    assert all(_oracle_problem(own) is None for own in cpus.values())
    assert _per_cpu(ready_sections(3)[:-2])[1] == "the sections"  # the last end record cut
