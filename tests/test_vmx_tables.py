"""Exit reasons and VM-instruction errors named as in the SDM (Vol. 3D appendix C; Vol. 3C table 31-1)."""

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


VMX_OK = ["vmx insn=vmxon outcome=success cf=0 zf=0", "vmx insn=vmxoff outcome=success cf=0 zf=0"]
CONFIG = "config serial=0x000003f8 screen=on inject=none mode=full"
TRACE = [
    "exit n=1 reason=10 qualification=0x00000000 rip=0x00101208 length=2",
    "exit n=2 reason=30 qualification=0x00800040 rip=0x0010120c length=2",
    "exit n=3 reason=18 qualification=0x00000000 rip=0x00101213 length=3",
    "vmcall value=0xb007c0de",
    "exit n=4 reason=12 qualification=0x00000000 rip=0x00101216 length=1",
    "guest-trace exits=4 expected=yes vmcall_value=0xb007c0de",
]


def test_vmx_ready_needs_the_full_trace_in_full_mode():
    good = evaluate(make_report([CONFIG, *VMX_OK[:1], *TRACE, VMX_OK[1], "verdict name=vmx-ready"]))
    assert good.verdict is Verdict.VMX_READY, good.reason
    guest = to_json(good)["guest"]
    assert [e["name"] for e in guest["exits"]] == ["CPUID", "I/O instruction", "VMCALL", "HLT"]
    assert guest["vmcall_value"] == 0xB007C0DE and guest["exits"][0]["instruction_length"] == 2
    missing_hlt = [r for r in TRACE if "reason=12" not in r]
    bad = evaluate(make_report([CONFIG, *VMX_OK, *missing_hlt, "verdict name=vmx-ready"]))
    assert bad.verdict is Verdict.NO_VERDICT and "exit trace" in bad.reason


def test_vmentry_failed_is_named():
    launch = "vmx insn=vmlaunch outcome=fail-valid cf=0 zf=1 insn_error=8"
    result = evaluate(make_report([CONFIG, *VMX_OK, launch, "guest-trace exits=0 expected=no",
                                   "verdict name=vmentry-failed cf=0 zf=1 insn_error=8 exits=0"]))
    assert result.verdict is Verdict.VMENTRY_FAILED
    doc = to_json(result)
    assert doc["guest"]["launch_failure"]["instruction_error_name"] == "VM entry with invalid host-state field(s)"
    assert "invalid host-state" in to_text(result)
    failure = "entry-failure reason=33 exit_reason=0x80000021 qualification=0x00000000"
    result = evaluate(make_report([CONFIG, *VMX_OK, failure, "guest-trace exits=1 expected=no",
                                   "verdict name=vmentry-failed entry_failure_reason=33 qualification=0x0 exits=1"]))
    assert result.verdict is Verdict.VMENTRY_FAILED
    assert to_json(result)["detail"]["entry_failure_reason"] == 33
    assert to_json(result)["guest"]["entry_failure"]["name"] == "VM-entry failure due to invalid guest state"
