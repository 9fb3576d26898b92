"""Verdicts: only a complete, self-consistent report is believed; exit statuses."""

from stub_reports import ready, stopped_at_vmxon, without

from bootgen.backends.outcome import Ending, RunOutcome
from bootgen.render.jsondoc import to_json
from bootgen.render.text import to_text
from bootgen.verdict import ExitStatus, Verdict, exit_status
from bootgen.verdict.evaluate import evaluate

from conftest import DATA
from test_protocol import make_report


def test_vmx_ready_needs_successful_vmxon_and_vmxoff():
    good = evaluate(make_report(ready()))
    assert good.verdict is Verdict.VMX_READY
    liar = evaluate(make_report(without(ready(), "vmx insn=vmxoff")))
    assert liar.verdict is Verdict.NO_VERDICT and "vmxoff" in liar.reason


def test_no_vmx_contradicted_by_cpuid_is_rejected():
    cpuid = "cpuid leaf=0x00000001 subleaf=0x00000000 eax=0x000306a9 ebx=0x0 ecx=0x00000020 edx=0x0"
    result = evaluate(make_report([cpuid, "verdict name=no-vmx"]))
    assert result.verdict is Verdict.NO_VERDICT


def test_unknown_verdict_name():
    assert evaluate(make_report(["verdict name=maybe"])).verdict is Verdict.NO_VERDICT


def test_vmxon_failure_detail():
    vmx = "vmx insn=vmxon outcome=fail-invalid cf=1 zf=0 eflags=0x00000003"
    result = evaluate(make_report(stopped_at_vmxon(
        vmx, "verdict name=vmxon-failed insn=vmxon outcome=fail-invalid cf=1 zf=0")))
    assert result.verdict is Verdict.VMXON_FAILED
    doc = to_json(result)
    assert doc["vmxon"]["cf"] == 1 and doc["vmxon"]["outcome"] == "fail-invalid"
    assert doc["detail"]["cf"] == 1


def test_triple_fault_is_named():
    outcome = RunOutcome("qemu", b"#BOOTGEN begin proto=1 stub=x\n", Ending.TRIPLE_FAULT)
    result = evaluate(outcome.serial, outcome)
    assert result.verdict is Verdict.NO_VERDICT and "triple fault" in result.reason


def test_real_fault_log():
    result = evaluate((DATA / "qemu-tcg-page-fault.log").read_bytes())
    assert result.verdict is Verdict.FAULT
    doc = to_json(result)
    assert doc["exception"]["vector"] == 14
    assert doc["exception"]["cr2"] == 0xFFFFF000
    assert doc["exception"]["step"] == "inject"
    assert "verdict: fault" in to_text(result)


def test_exit_statuses():
    assert exit_status(Verdict.VMX_READY, None) is ExitStatus.OK
    assert exit_status(Verdict.NO_VMX, None) is ExitStatus.VERDICT
    assert exit_status(Verdict.NO_VERDICT, None) is ExitStatus.NO_VERDICT
    assert exit_status(Verdict.NO_VMX, Verdict.NO_VMX) is ExitStatus.OK
    assert exit_status(Verdict.VMX_READY, Verdict.NO_VMX) is ExitStatus.VERDICT
    assert exit_status(Verdict.NO_VERDICT, Verdict.NO_VERDICT) is ExitStatus.OK


def test_corrupted_records_never_crash_the_outputs():
    """A dropped byte can glue two fields together; JSON and text must still come out."""
    glued = b"#BOOTGEN begin proto=1 stub=0.1.0\nexception vector=6 mnemonic=#UD error_code=0x0000eip=0x00101234\n"
    result = evaluate(glued)
    assert result.verdict is Verdict.NO_VERDICT
    assert to_json(result)["exception"]["error_code"] == "0x0000eip=0x00101234"
    failure = make_report(["config serial=0x000003f8 mode=full", "entry-failure reason=33 qualificaton=0x0",
                           "verdict name=vmentry-failed entry_failure_reason=33"])
    text = to_text(evaluate(failure))
    assert "VM entry failed: reason 33" in text and "no qualification" in text


def test_an_emulator_crash_is_told_once():
    detail = "QEMU exited with status -6 before starting the guest: qemu-system-x86_64: error: failed to set MSR 0x10a"
    outcome = RunOutcome("qemu", b"", Ending.EMULATOR_CRASH, detail)
    text = to_text(evaluate(b"", outcome))
    assert text.count("failed to set MSR 0x10a") == 1, text
    assert "ended by emulator-crash" in text
