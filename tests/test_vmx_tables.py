"""Exit reasons and VM-instruction errors named as in the SDM (Vol. 3D appendix C; Vol. 3C table 31-1)."""

from stub_reports import after_vmptrld, ready, without

from bootgen.arch.vmx_exits import exit_reason_name, instruction_error_name
from bootgen.render.jsondoc import to_json
from bootgen.render.text import to_text
from bootgen.verdict import Verdict
from bootgen.verdict.evaluate import evaluate

from test_protocol import make_report


def test_exit_reason_names():
    assert exit_reason_name(10) == "CPUID"
    assert exit_reason_name(12) == "HLT"
    assert exit_reason_name(18) == "VMCALL"
    assert exit_reason_name(30) == "I/O instruction"
    assert exit_reason_name(33) == "VM-entry failure due to invalid guest state"
    assert exit_reason_name(34) == "VM-entry failure due to MSR loading"
    assert exit_reason_name(41) == "VM-entry failure due to machine-check event"
    assert exit_reason_name(48) == "EPT violation"
    assert exit_reason_name(0x80000021) == "VM-entry failure due to invalid guest state"  # bit 31 + 33
    assert exit_reason_name(35).startswith("unknown")  # reserved


def test_instruction_error_names():
    assert instruction_error_name(7) == "VM entry with invalid control field(s)"
    assert instruction_error_name(8) == "VM entry with invalid host-state field(s)"
    assert instruction_error_name(15) == "VMXON executed in VMX root operation"
    assert instruction_error_name(11) == "VMPTRLD with incorrect VMCS revision identifier"
    assert instruction_error_name(14).startswith("unknown")  # not assigned


def test_vmx_ready_needs_the_full_trace_in_full_mode():
    good = evaluate(make_report(ready()))
    assert good.verdict is Verdict.VMX_READY, good.reason
    guest = to_json(good)["guest"]
    assert [e["name"] for e in guest["exits"]] == ["CPUID", "I/O instruction", "VMCALL", "HLT"]
    assert guest["vmcall_value"] == 0xB007C0DE and guest["exits"][0]["instruction_length"] == 2
    missing_hlt = without(ready(), "exit n=4 ")
    bad = evaluate(make_report(missing_hlt))
    assert bad.verdict is Verdict.NO_VERDICT and "exit trace" in bad.reason


def test_vmentry_failed_is_named():
    launch = "vmx insn=vmlaunch outcome=fail-valid cf=0 zf=1 insn_error=8"
    result = evaluate(make_report(after_vmptrld(launch, "guest-trace exits=0 expected=no", "step name=vmlaunch "
                                                "state=fail", verdict="verdict name=vmentry-failed cf=0 zf=1 "
                                                "insn_error=8 exits=0")))
    assert result.verdict is Verdict.VMENTRY_FAILED, result.reason
    doc = to_json(result)
    assert doc["guest"]["launch_failure"]["instruction_error_name"] == "VM entry with invalid host-state field(s)"
    assert "invalid host-state" in to_text(result)
    failure = "entry-failure reason=33 exit_reason=0x80000021 qualification=0x00000000"
    result = evaluate(make_report(after_vmptrld(failure, "guest-trace exits=1 expected=no", verdict=(
        "verdict name=vmentry-failed entry_failure_reason=33 qualification=0x0 exits=1"))))
    assert result.verdict is Verdict.VMENTRY_FAILED, result.reason
    assert to_json(result)["detail"]["entry_failure_reason"] == 33
    assert to_json(result)["guest"]["entry_failure"]["name"] == "VM-entry failure due to invalid guest state"
