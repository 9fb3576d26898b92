"""The host never takes the stub's word alone: forged and mutated reports (with the CRC fixed up, so that
framing passes) never give a ready verdict unless their raw records say so, and exit status, JSON and JUnit
always agree."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stub_reports import log_records, ready, replaced

from bootgen.contract.exit_status import ExitStatus, exit_status
from bootgen.render.jsondoc import to_json
from bootgen.render.junit import junit_xml
from bootgen.verdict import Verdict
from bootgen.verdict.evaluate import CONTRADICTION, evaluate

from test_protocol import make_report

READY_LOGS = ("bochs-sandy-bridge.log", "bochs-skylake-x.log", "bochs-penryn.log", "bochs-yonah.log",
              "bochs-tigerlake.log")

FORGERIES = {
    "a VMX step that never ended": lambda r: [x for x in r if x != "step name=vmxon state=ok"],
    "a failed cpuid-vmx check": lambda r: replaced(r, "check name=cpuid-vmx",
                                                   "check name=cpuid-vmx result=fail -- CPUID.1:ECX.VMX[bit 5] is 0"),
    "CPUID.1:ECX.VMX clear": lambda r: replaced(r, "cpuid leaf=0x00000001", "cpuid leaf=0x00000001 "
                                                "subleaf=0x00000000 eax=0x000206a7 ebx=0x00010800 ecx=0x179ae39f "
                                                "edx=0xbfebfbff"),
    "feature control disabled by firmware": lambda r: replaced(
        r, "check name=feature-control", "check name=feature-control result=fail state=disabled-by-firmware "
        "value=0x0000000000000005"),
    "CR4.VMXE taken": lambda r: replaced(r, "check name=cr4-vmxe-free",
                                         "check name=cr4-vmxe-free result=fail cr4=0x00000000"),
    "a failed VMXON step": lambda r: replaced(r, "step name=vmxon state=ok", "step name=vmxon state=fail"),
    "an extra exception": lambda r: r[:-1] + ["exception vector=13 mnemonic=#GP error_code=0x00000000 "
                                              "eip=0x00101234 eflags=0x00000002 cr0=0x80010031 cr2=0x00000000 "
                                              "cr3=0x0010f1e0 cr4=0x00002020 step=vmxon"] + r[-1:],
    "a second VMXON that faulted": lambda r: r[:-1] + ["vmx insn=vmxon outcome=fault cf=0 zf=0 vector=13 "
                                                       "error_code=0x00000000 eflags=0x00000002"] + r[-1:],
}


def _agreement(serial: bytes) -> tuple[Verdict, ExitStatus]:
    """Evaluate, and check that the exit status, the JSON and the JUnit XML say the same."""
    result = evaluate(serial)
    status = exit_status(result.verdict, None)
    doc = to_json(result)
    assert doc["verdict"] == result.verdict.value
    suite = ET.fromstring(junit_xml(result)).find("testsuite")
    verdict_case = next(c for c in suite.findall("testcase") if c.get("name") == "verdict")
    if status is ExitStatus.OK:
        assert suite.get("failures") == "0", "exit 0 with JUnit failures"
    else:
        assert verdict_case.find("failure") is not None, "a failing exit status with a passing verdict case"
    return result.verdict, status


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_a_forged_ready_report_is_no_verdict(forgery):
    records = FORGERIES[forgery](ready())
    assert records != ready()
    result = evaluate(make_report(records))
    assert result.verdict is Verdict.NO_VERDICT, (forgery, result.reason)
    assert result.reason.startswith(CONTRADICTION), result.reason
    assert _agreement(make_report(records)) == (Verdict.NO_VERDICT, ExitStatus.NO_VERDICT)


@pytest.mark.parametrize("log", READY_LOGS)
def test_real_ready_logs_are_believed(log):
    assert _agreement(make_report(log_records(log))) == (Verdict.VMX_READY, ExitStatus.OK)


def _oracle_problem(records: list[str]) -> str | None:
    """An independent, deliberately plain reading of what a ready report must show."""
    fields = [dict(w.split("=", 1) for w in r.split(" -- ")[0].split(" ")[1:] if "=" in w) for r in records]
    kinds = [r.split(" ", 1)[0] for r in records]
    def records_of(kind: str) -> list[dict]:
        return [f for k, f in zip(kinds, fields) if k == kind]
    def number(text: str | None) -> int | None:
        try:
            return int(text, 0) if text is not None else None
        except ValueError:
            return None
    leaf1 = [f for f in records_of("cpuid") if number(f.get("leaf")) == 1]
    if not leaf1 or not (number(leaf1[0].get("ecx")) or 0) >> 5 & 1:
        return "CPUID.1:ECX.VMX"
    if any(f.get("result") not in ("pass", "info", "adjust") for f in records_of("check")):
        return "a check did not pass"
    if any(f.get("state") == "fail" for f in records_of("step")) or records_of("exception"):
        return "a step failed or an exception"
    if any((f.get("outcome"), number(f.get("cf")), number(f.get("zf"))) != ("success", 0, 0)
           for f in records_of("vmx")):
        return "a VMX instruction did not succeed"
    if [f.get("insn") for f in records_of("vmx")].count("vmxon") != 1:
        return "not exactly one VMXON"
    fc = [number(f.get("value")) for f in records_of("msr") if number(f.get("index")) == 0x3A]
    if not fc or fc[-1] is None or fc[-1] & 0x5 != 0x5:
        return "IA32_FEATURE_CONTROL"
    vmxe = [number(f.get("cr4")) for f in records_of("check") if f.get("name") == "cr4-vmxe-free"]
    if not vmxe or vmxe[0] is None or vmxe[0] & (1 << 13):
        return "CR4.VMXE"
    exits = [number(f.get("reason")) for f in records_of("exit")]
    vmcall = [number(f.get("value")) for f in records_of("vmcall")]
    if exits != [10, 30, 18, 12] or vmcall != [0xB007C0DE] or records_of("entry-failure"):
        return "the guest's trace"
    verdicts = records_of("verdict")
    if len(verdicts) != 1 or verdicts[0].get("name") != "vmx-ready":
        return "the verdict record"
    return None


def _mutate(records: list[str], index: int, field: int, value: str) -> list[str]:
    record = records[index]
    body, sep, text = record.partition(" -- ")
    words = body.split(" ")
    keyed = [i for i, w in enumerate(words) if "=" in w]
    if not keyed:
        return records
    i = keyed[field % len(keyed)]
    key = words[i].split("=", 1)[0]
    words[i] = f"{key}={value}"
    return [*records[:index], " ".join(words) + sep + text, *records[index + 1:]]


_VALUES = st.one_of(
    st.integers(min_value=0, max_value=2**64 - 1).map(lambda n: f"{n:#x}"),
    st.integers(min_value=0, max_value=2**32 - 1).map(lambda n: f"0x{n:08x}"),
    st.integers(min_value=0, max_value=100).map(str),
    st.sampled_from(["pass", "fail", "adjust", "info", "ok", "begin", "success", "fail-invalid", "fail-valid",
                     "fault", "yes", "no", "vmx-ready", "no-vmx", "vmxon-failed", "vmxon", "vmxoff", "vmlaunch",
                     "full", "vmxon", "loader", "capability", "enabled-by-firmware", "enabled-by-stub", "x"]),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(READY_LOGS), st.data())
def test_mutated_ready_logs_are_ready_only_when_consistent(log, data):
    records = log_records(log)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        index = data.draw(st.integers(min_value=0, max_value=len(records) - 1))
        records = _mutate(records, index, data.draw(st.integers(min_value=0, max_value=20)), data.draw(_VALUES))
    verdict, status = _agreement(make_report(records))
    if verdict is Verdict.VMX_READY:
        assert _oracle_problem(records) is None, (_oracle_problem(records), records)
        assert status is ExitStatus.OK


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(FORGERIES)), st.sampled_from(READY_LOGS))
def test_every_forgery_of_every_ready_log(forgery, log):
    records = FORGERIES[forgery](log_records(log))
    if records == log_records(log):
        return
    verdict, _ = _agreement(make_report(records))
    assert verdict is not Verdict.VMX_READY, forgery


def test_oracle_accepts_the_real_logs():
    for log in READY_LOGS:
        assert _oracle_problem(log_records(log)) is None, log
    assert re.search("vmx insn=vmxon", "\n".join(ready()))
