"""What real firmware and real CPUs hand the stub that an emulator does not: reports of those cases, judged.

Bochs locks IA32_FEATURE_CONTROL, implements every TRUE_* MSR and has no SMM monitor, so these
paths are shown with the records the stub writes in them (stage/vmx/checks.c, vmcs.c, probe.c,
boot/exceptions.c), built from a real ready log: the host must reach the verdict those records
prove, say what to do, and refuse the verdict the stub gave before these paths existed.
"""

from __future__ import annotations

from stub_reports import after_vmptrld, ready, replaced, until

from bootgen.render.jsondoc import to_json
from bootgen.render.text import to_text
from bootgen.verdict import Verdict
from bootgen.verdict.evaluate import CONTRADICTION, evaluate

from test_protocol import make_report

_FC_READ = "msr index=0x0000003a"


def _judge(records: list[str]):
    return evaluate(make_report(records))


def _write_faulted(verdict: str) -> list[str]:
    return [*until(ready(), _FC_READ),
            "msr index=0x0000003a value=0x0000000000000000 phase=loader",
            "msr-write index=0x0000003a value=0x0000000000000005 fault=13",
            "check name=feature-control result=fail state=write-faulted value=0x0000000000000000 -- was unlocked, "
            "but writing it raised an exception (see the msr-write record)",
            "step name=feature-control state=fail", verdict]


def test_feature_control_whose_write_faults_is_disabled_by_firmware():
    result = _judge(_write_faulted("verdict name=vmx-disabled-by-firmware vector=13 -- IA32_FEATURE_CONTROL is "
                                   "unlocked but cannot be written"))
    assert result.verdict is Verdict.VMX_DISABLED_BY_FIRMWARE, result.reason
    doc = to_json(result)
    assert doc["feature_control"]["state"] == "write-faulted" and doc["vector"] == 13
    assert any("guards it" in line and "#GP" in line for line in doc["advice"]), doc["advice"]


def test_the_old_fault_verdict_for_a_faulting_feature_control_write_is_refused():
    result = _judge(_write_faulted("verdict name=fault vector=13 msr=0x0000003a -- reading or writing a VMX MSR "
                                   "raised an exception"))
    assert result.verdict is Verdict.NO_VERDICT and result.reason.startswith(CONTRADICTION)


def _controls_fault(pin: str, verdict: str) -> list[str]:
    records = replaced(ready(), "controls name=pin-based", pin)
    if verdict:
        records = replaced(records, "verdict ", verdict)
    return records


def test_a_faulting_true_msr_with_the_plain_fallback_stays_ready():
    result = _judge(_controls_fault(
        "controls name=pin-based msr=0x0000048d fault=13 fallback=0x00000481 wanted=0x00000008 "
        "allowed0=0x00000016 allowed1=0x0000007f value=0x0000001e refused=0x00000000", ""))
    assert result.verdict is Verdict.VMX_READY, result.reason


def test_a_faulting_capability_msr_without_fallback_is_a_fault_naming_it():
    head = until(ready(), "controls ")
    tail = until(ready()[ready().index("step name=vmxoff state=begin"):], "verdict ")
    records = [*head, "controls name=pin-based msr=0x00000481 fault=13 wanted=0x00000008 allowed0=0x00000000 "
               "allowed1=0x00000000 value=0x00000000 refused=0x00000008",
               "step name=vmcs state=fail", "vmx insn=vmclear outcome=success cf=0 zf=0", *tail,
               "verdict name=fault vector=13 msr=0x00000481 -- reading or writing a VMX MSR raised an exception"]
    result = _judge(records)
    assert result.verdict is Verdict.FAULT, result.reason
    assert "MSR 0x481" in to_json(result)["advice"][0]
    # The stub's earlier behaviour (all controls zero, then a failed entry) is no longer believed.
    stale = [*records[:-1], "verdict name=vmentry-failed -- VMLAUNCH/VMRESUME failed or the VM entry failed"]
    assert _judge(stale).verdict is Verdict.NO_VERDICT


def test_a_vmxoff_refused_under_the_dual_monitor_treatment_gets_its_advice():
    """VMXOFF VMfailValid error 23: CR4.VMXE stays set (no #GP from clearing it), the advice is reachable."""
    records = [*until(ready(), "vmx insn=vmxoff"),
               "vmx insn=vmxoff outcome=fail-valid cf=0 zf=1 insn_error=23 eflags=0x00000042",
               "cr phase=after-vmxoff cr0=0x80010031 cr3=0x0010f1e0 cr4=0x00002020",
               "step name=vmxoff state=fail",
               "verdict name=vmxon-failed insn=vmxoff outcome=fail-valid cf=0 zf=1 insn_error=23 -- the instruction "
               "reported VMfail"]
    result = _judge(records)
    assert result.verdict is Verdict.VMXON_FAILED, result.reason
    assert any("dual-monitor" in line for line in to_json(result)["advice"])


def test_a_machine_check_is_its_own_fault():
    records = [*until(ready(), "step name=vmxon-region"),
               "exception vector=18 mnemonic=#MC error_code=0x00000000 eip=0x00101234 eflags=0x00000002 "
               "cr0=0x80010031 cr2=0x00000000 cr3=0x0010f1e0 cr4=0x00000060 step=vmx-basic",
               "verdict name=fault vector=18 eip=0x00101234 cause=machine-check -- a machine check (hardware error) "
               "in the stub"]
    result = _judge(records)
    assert result.verdict is Verdict.FAULT, result.reason
    assert result.detail["cause"] == "machine-check"
    assert "machine check" in to_json(result)["advice"][0]


def test_nmis_warnings_and_the_scope_reach_text_and_json():
    records = ready()
    verdict = records.pop()
    records += ["warning what=vmcs-memory-type -- IA32_VMX_BASIC asks for a VMCS memory type other than write-back",
                "nmi host=2 guest=1", "poweroff method=halt emulator=none", verdict]
    result = _judge(records)
    assert result.verdict is Verdict.VMX_READY, result.reason
    doc, text = to_json(result), to_text(result)
    assert doc["nmis"] == {"host": 2, "guest": 1}
    assert doc["poweroff"] == {"method": "halt", "emulator": "none"}
    assert doc["cpus_checked"]["scope"] == "boot-cpu" and doc["cpus_checked"]["count"] == 1
    assert "only the boot CPU was checked" in text
    assert "NMIs:    2 in the stub, 1 during the guest" in text
    assert "warning: vmcs-memory-type -- IA32_VMX_BASIC asks" in text
    assert any("write-back" in line for line in doc["advice"])


def test_after_vmptrld_helper_still_builds_guest_failures():
    """The helper the tests above lean on keeps VMXON and VMXOFF around a changed guest part."""
    records = after_vmptrld("vmx insn=vmlaunch outcome=fail-valid cf=0 zf=1 insn_error=7",
                            verdict="verdict name=vmentry-failed insn_error=7 -- VMLAUNCH/VMRESUME failed or the VM "
                            "entry failed")
    assert _judge(records).verdict is Verdict.VMENTRY_FAILED
