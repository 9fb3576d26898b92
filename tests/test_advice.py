"""Advice per verdict and situation: real Bochs and QEMU logs, and reports built record by record."""

from __future__ import annotations

import struct

import pytest
from stub_reports import (
    UNRESPONSIVE,
    after_vmptrld,
    log_records,
    probe,
    ready,
    replaced,
    section,
    smp_records,
    stopped_at_vmxon,
    until,
)

from bootgen.backends.outcome import Ending, RunOutcome
from bootgen.render.jsondoc import to_json
from bootgen.render.text import to_text
from bootgen.verdict import Verdict
from bootgen.verdict.advice import advise
from bootgen.verdict.evaluate import evaluate

from conftest import DATA
from test_protocol import make_report


def advice_for(serial: bytes, outcome: RunOutcome | None = None) -> tuple[Verdict, str]:
    result = evaluate(serial, outcome)
    return result.verdict, "\n".join(advise(result))


def log_advice(name: str) -> tuple[Verdict, str]:
    return advice_for((DATA / name).read_bytes())


def _text_regs(text: str) -> tuple[int, int, int]:
    raw = text.encode().ljust(12, b"\0")
    return struct.unpack("<3I", raw)


def cpuid_records(vendor: str = "GenuineIntel", vmx: bool = False, hypervisor: str | None = None) -> list[str]:
    """CPUID leaves 0 and 1 (and 0x40000000) as the stub writes them."""
    ebx, edx, ecx = _text_regs(vendor)  # the vendor string is EBX, EDX, ECX
    ecx1 = (1 << 5 if vmx else 0) | (1 << 31 if hypervisor else 0)
    records = [f"cpuid leaf=0x00000000 subleaf=0x00000000 eax=0x0000000d ebx={ebx:#010x} ecx={ecx:#010x} "
               f"edx={edx:#010x}",
               f"cpuid leaf=0x00000001 subleaf=0x00000000 eax=0x000306a9 ebx=0x00000000 ecx={ecx1:#010x} "
               "edx=0x00000000"]
    if hypervisor:
        hb, hc, hd = _text_regs(hypervisor)
        records.append(f"cpuid leaf=0x40000000 subleaf=0x00000000 eax=0x40000001 ebx={hb:#010x} ecx={hc:#010x} "
                       f"edx={hd:#010x}")
    return records


# --------------------------------------------------------------------------- no-vmx


def test_amd_cpu_is_told_about_amd_v():
    # A log from a bootgen that did not test AMD-V yet is still read, and says so.
    verdict, text = log_advice("bochs-ryzen-no-vmx.log")
    assert verdict is Verdict.NO_VMX
    assert "which the bootgen that made this log did not test" in text


def test_svm_advice():
    verdict, text = log_advice("qemu-tcg-no-svm.log")
    assert verdict is Verdict.NO_SVM and "--cpu max" in text and "firmware" not in text  # TCG: pick a model
    verdict, text = log_advice("bochs-ryzen-svm-ready.log")
    assert verdict is Verdict.SVM_READY and text.startswith("nothing to do: AMD-V works") and "NPT" not in text
    verdict, text = log_advice("qemu-tcg-inject-asid-zero.log")
    assert verdict is Verdict.VMRUN_FAILED and "VMEXIT_INVALID" in text and "ASID 0" in text
    verdict, text = log_advice("qemu-tcg-inject-svme-preset.log")
    assert verdict is Verdict.SVM_IN_USE and "EFER.SVME was set" in text


def test_qemu_tcg_is_told_to_use_kvm_or_bochs():
    verdict, text = log_advice("qemu-tcg-no-vmx.log")
    assert verdict is Verdict.NO_VMX
    assert "TCG" in text and "--backend bochs" in text and "AMD-V" in text
    assert "SVM Mode" not in text and "firmware" not in text  # an emulator's CPU has no firmware setting to change


def test_kvm_guest_without_vmx_gets_nested_advice():
    verdict, text = advice_for(make_report([*cpuid_records(hypervisor="KVMKVMKVM"), "verdict name=no-vmx"]))
    assert verdict is Verdict.NO_VMX
    assert "kvm_intel nested=1" in text and "-cpu host" in text and "nested-virtualization option" in text
    assert "KVMKVMKVM" in text


@pytest.mark.parametrize("vendor, needle", [
    ("Microsoft Hv", "ExposeVirtualizationExtensions"),
    ("VMwareVMware", "vhv.enable"),
    ("VBoxVBoxVBox", "--nested-hw-virt on"),
    ("XenVMMXenVMM", "nestedhvm=1"),
    ("SomethingNew", "kvm_intel nested=1"),
])
def test_nested_advice_per_hypervisor(vendor, needle):
    _, text = advice_for(make_report([*cpuid_records(hypervisor=vendor), "verdict name=no-vmx"]))
    assert needle in text and "nested virtualization" in text


def test_bare_metal_intel_without_vmx():
    _, text = advice_for(make_report([*cpuid_records(), "verdict name=no-vmx"]))
    assert "CPUID.1:ECX.VMX = 0" in text and "nested" not in text


# --------------------------------------------------------------------------- firmware, in use


def _feature_control(value: int) -> str:
    return f"msr index=0x0000003a value=0x{value:016x} phase=loader"


def test_disabled_by_firmware():
    verdict, text = advice_for(make_report([*cpuid_records(vmx=True), _feature_control(0x1),
                                            "verdict name=vmx-disabled-by-firmware"]))
    assert verdict is Verdict.VMX_DISABLED_BY_FIRMWARE
    assert "Intel Virtualization Technology" in text and "power the machine off and on" in text


def test_disabled_by_firmware_inside_smx_only():
    _, text = advice_for(make_report([*cpuid_records(vmx=True), _feature_control(0x3),
                                      "verdict name=vmx-disabled-by-firmware"]))
    assert "only inside SMX" in text


def test_disabled_by_hypervisor():
    _, text = advice_for(make_report([*cpuid_records(vmx=True, hypervisor="KVMKVMKVM"), _feature_control(0x1),
                                      "verdict name=vmx-disabled-by-firmware"]))
    assert "nested virtualization" in text and "kvm_intel nested=1" in text


def test_vmx_in_use_real_log():
    verdict, text = log_advice("bochs-inject-vmxe-preset.log")
    assert verdict is Verdict.VMX_IN_USE
    assert "another hypervisor or VMM already holds VT-x" in text
    assert "inject=vmxe-preset" in text  # the log is from a fault-injection run, and says so


# --------------------------------------------------------------------------- VMXON and VM entry


def test_vmxon_fail_invalid_names_the_revision_mismatch():
    verdict, text = log_advice("bochs-inject-bad-revision.log")
    assert verdict is Verdict.VMXON_FAILED
    assert "VMfailInvalid (CF=1)" in text and "0x0000002c differs from IA32_VMX_BASIC's 0x0000002b" in text


def test_vmxon_fail_valid_names_the_error():
    vmx = "vmx insn=vmxon outcome=fail-valid cf=0 zf=1 insn_error=15 eflags=0x00000042"
    _, text = advice_for(make_report(stopped_at_vmxon(vmx, "verdict name=vmxon-failed insn=vmxon outcome=fail-valid "
                                                           "cf=0 zf=1 insn_error=15")))
    assert "VM-instruction error 15: VMXON executed in VMX root operation" in text
    assert "another VMM" in text


def test_vmxon_general_protection():
    vmx = "vmx insn=vmxon outcome=fault cf=1 zf=1 vector=13 error_code=0x00000000"
    records = replaced(stopped_at_vmxon(vmx, "verdict name=vmxon-failed insn=vmxon outcome=fault cf=1 zf=1 vector=13"),
                       "check name=cr4-fixed", "check name=cr4-fixed result=adjust value=0x00002020 fixed0=0x00002000 "
                       "fixed1=0x003727ff missing=0x00000000 forbidden=0x00000020")
    _, text = advice_for(make_report(records))
    assert "#GP (vector 13)" in text and "cr4-fixed" in text


def test_second_vmxon_is_expected_to_fail():
    _, text = log_advice("bochs-inject-double-vmxon.log")
    assert "as it must" in text and "firmware" not in text


def test_vmentry_invalid_control_real_log():
    verdict, text = log_advice("bochs-inject-bad-control.log")
    assert verdict is Verdict.VMENTRY_FAILED
    assert "VM-instruction error 7: VM entry with invalid control field(s)" in text
    assert "VMXON works" in text


def test_vmentry_invalid_guest_state_real_log():
    _, text = log_advice("bochs-inject-bad-guest-state.log")
    assert "exit reason 33 (VM-entry failure due to invalid guest state)" in text


def test_vmentry_vmwrite_field():
    vmwrite = "vmx insn=vmwrite outcome=fail-valid field=0x00002012 insn_error=12"
    _, text = advice_for(make_report(after_vmptrld(vmwrite, verdict="verdict name=vmentry-failed field=0x00002012 "
                                                                    "exits=0")))
    assert "VMWRITE to VMCS field 0x2012 failed" in text


# --------------------------------------------------------------------------- fault, no verdict, ready


def test_injected_fault_says_so():
    verdict, text = log_advice("qemu-tcg-page-fault.log")
    assert verdict is Verdict.FAULT
    assert "injected on purpose" in text and "#PF (vector 14)" in text


def test_msr_fault_under_a_hypervisor():
    _, text = advice_for(make_report([*cpuid_records(vmx=True, hypervisor="KVMKVMKVM"),
                                      "verdict name=fault vector=13 msr=0x00000480"]))
    assert "MSR 0x480" in text and "does not implement" in text


def test_no_verdict_reasons():
    begin_only = b"#BOOTGEN begin proto=1 stub=0.1.0\r\nboot magic=0x2badb002\r\n"
    cases = {
        "triple": (RunOutcome("qemu", begin_only, Ending.TRIPLE_FAULT), "triple fault"),
        "silent": (RunOutcome("qemu", b"SeaBIOS\r\n", Ending.TIMEOUT), "serial-port"),
        "hang": (RunOutcome("bochs", begin_only, Ending.TIMEOUT), "--timeout"),
        "crash": (RunOutcome("qemu", b"", Ending.EMULATOR_CRASH, "killed"), "bootgen doctor"),
    }
    for name, (outcome, needle) in cases.items():
        verdict, text = advice_for(outcome.serial, outcome)
        assert verdict is Verdict.NO_VERDICT, name
        assert needle in text, (name, text)
    _, text = advice_for(b"garbage from a cable")
    assert "115200 8N1" in text and "from power-on" in text
    _, text = advice_for(make_report(["verdict name=no-vmx"], crc=0))
    assert "damaged in transit" in text


def test_ready_with_and_without_ept():
    verdict, text = log_advice("bochs-skylake-x.log")
    assert verdict is Verdict.VMX_READY and text.startswith("nothing to do") and "EPT" not in text
    _, text = log_advice("bochs-penryn.log")
    assert "no EPT" in text


def test_advice_in_json_and_text():
    result = evaluate((DATA / "bochs-ryzen-no-vmx.log").read_bytes())
    doc = to_json(result)
    assert doc["advice"] == advise(result)
    lines = to_text(result).splitlines()
    assert lines[1] == "what to do:" and lines[2].startswith("  - AMD CPUs use AMD-V")


def _report_for(verdict: Verdict) -> list[str]:
    """A whole report whose records lead to ``verdict``."""
    lockout = [*until(ready(), "msr index=0x0000003a"), "msr index=0x0000003a value=0x0000000000000001 phase=loader",
               "check name=feature-control result=fail state=disabled-by-firmware value=0x0000000000000001"]
    svm_lockout = [*until(log_records("qemu-tcg-svm-ready.log"), "msr index=0xc0010114"),
                   "msr index=0xc0010114 value=0x0000000000000018 phase=loader",
                   "check name=vm-cr result=fail state=disabled-by-firmware value=0x0000000000000018"]
    return {
        Verdict.VMX_READY: ready(),
        Verdict.NO_VMX: log_records("bochs-ryzen-no-vmx.log"),
        Verdict.VMX_DISABLED_BY_FIRMWARE: [*lockout, "verdict name=vmx-disabled-by-firmware"],
        Verdict.VMX_IN_USE: log_records("bochs-inject-vmxe-preset.log"),
        Verdict.VMXON_FAILED: log_records("bochs-inject-bad-revision.log"),
        Verdict.VMENTRY_FAILED: log_records("bochs-inject-bad-control.log"),
        Verdict.FAULT: log_records("qemu-tcg-page-fault.log"),
        Verdict.SVM_READY: log_records("qemu-tcg-svm-ready.log"),
        Verdict.NO_SVM: log_records("qemu-tcg-no-svm.log"),
        Verdict.SVM_DISABLED_BY_FIRMWARE: [*svm_lockout, "step name=vm-cr state=fail",
                                           "verdict name=svm-disabled-by-firmware msr=0xc0010114"],
        Verdict.SVM_IN_USE: log_records("qemu-tcg-inject-svme-preset.log"),
        Verdict.VMRUN_FAILED: log_records("qemu-tcg-inject-asid-zero.log"),
        Verdict.UNRESPONSIVE: smp_records(section(0, probe()), section(1, [UNRESPONSIVE], "status=unresponsive",
                                                                        entry=[])),
    }[verdict]


@pytest.mark.parametrize("verdict", [v for v in Verdict if v is not Verdict.NO_VERDICT])
def test_every_stub_verdict_has_advice(verdict):
    protocol = 2 if verdict is Verdict.UNRESPONSIVE else 1  # only a report with per-CPU sections has it
    result = evaluate(make_report(_report_for(verdict), protocol=protocol))
    assert result.verdict is verdict
    lines = advise(result)
    assert lines and all(isinstance(line, str) and line.strip() for line in lines)


@pytest.mark.parametrize("verdict", ["fault vector=#PF", "vmxon-failed insn=vmxon vector=x",
                                     "vmentry-failed entry_failure_reason=x exits=0"])
def test_garbled_detail_values_never_raise(verdict):
    """A CRC-valid report whose detail fields are not numbers still gets advice, text and JSON."""
    vmx = ["vmx insn=vmxon outcome=fault cf=0 zf=0 vector=x"] if verdict.startswith("vmxon") else []
    result = evaluate(make_report([*cpuid_records(vmx=True), *vmx, f"verdict name={verdict}"]))
    assert advise(result) and to_text(result) and to_json(result)["advice"]
