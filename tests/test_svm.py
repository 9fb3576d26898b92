"""AMD-V: the SVM path proven on two independent implementations, QEMU's TCG and Bochs.

QEMU's TCG emulates SVM (nested paging on the EPYC models and `max`, no NRIP
save), and so do Bochs's AMD models (NRIP save and nested paging on ryzen,
neither on turion64_tyler): both ways of advancing RIP get exercised. Every
injected AMD-V failure (bootgen/contract/injects.py, SVM_MATRIX) runs on both.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bootgen.arch import svm
from bootgen.backends.host import Host
from bootgen.backends.outcome import Ending
from bootgen.backends.qemu import QemuConfig, run_qemu
from bootgen.contract.injects import SPECS, SVM_MATRIX
from bootgen.decode.svm import svm_capabilities
from bootgen.image.iso import IsoConfig, build_iso
from bootgen.render.jsondoc import to_json
from bootgen.report.model import CpuidLeaf, CpuReport
from bootgen.report.reader import read
from bootgen.verdict.evaluate import evaluate

from conftest import DATA

EXACT_TRACE = ["CPUID", "IOIO", "VMMCALL", "HLT"]


def _qemu(elf: Path, cpu: str | None = None, append: str = "", **kwargs):
    outcome = run_qemu(QemuConfig(image=elf, cpu=cpu, append=append, timeout_s=30, **kwargs))
    assert outcome.ending is Ending.GUEST_EXIT, outcome.detail
    return to_json(evaluate(outcome.serial, outcome))


def _bochs(stub_elf: Path, tmp_path: Path, model: str, cmdline: str = ""):
    from bootgen.backends.bochs import BochsConfig, run_bochs
    if Host().bochs_unavailable() is not None:
        pytest.skip("Bochs (with SDL2 display plugin and BIOS images) is not installed")
    iso = build_iso(IsoConfig(elf=stub_elf, output=tmp_path / f"{model}.iso", cmdline=cmdline)).path
    outcome = run_bochs(BochsConfig(image=iso, cpu_model=model, timeout_s=120))
    assert outcome.ending is Ending.GUEST_EXIT, outcome.detail
    return to_json(evaluate(outcome.serial, outcome))


def _assert_ready(doc: dict, nested_paging: bool, nrip_save: bool) -> None:
    assert doc["verdict"] == "svm-ready", doc["reason"]
    assert doc["technology"] == "svm"
    guest = doc["guest"]
    assert [e["name"] for e in guest["exits"]] == EXACT_TRACE and guest["expected_trace"]
    assert guest["vmcall_value"] == 0xB007C0DE
    assert guest["nested_paging"] is nested_paging and guest["nrip_save"] is nrip_save
    assert doc["svm_capabilities"]["features"]["np"] is nested_paging
    io = guest["exits"][1]["exitinfo1"]
    assert io >> 16 == 0x80 and io & 0x10 and not io & 1  # an 8-bit OUT to port 0x80
    if nrip_save:
        assert all(e["next_rip"] for e in guest["exits"][:3])


@pytest.mark.qemu
@pytest.mark.parametrize("cpu, nested_paging", [("max", True), ("EPYC", True), ("qemu64", False),
                                                ("Opteron_G3", False)])
def test_qemu_tcg_models_are_svm_ready(stub_elf, cpu, nested_paging):
    """Nested paging used exactly where the model has it; QEMU 7.2's TCG has no NRIP save on any model."""
    _assert_ready(_qemu(stub_elf, cpu), nested_paging, nrip_save=False)


@pytest.mark.qemu
def test_qemu_amd_model_without_svm_is_no_svm(stub_elf):
    doc = _qemu(stub_elf, "EPYC,-svm")
    assert doc["verdict"] == "no-svm" and doc["technology"] == "svm"
    assert [c["result"] for c in doc["checks"] if c["name"] == "cpuid-svm"] == ["fail"]
    assert not any("firmware" in line for line in doc["advice"])  # TCG: pick a model, not a BIOS setting


@pytest.mark.qemu
def test_intel_model_keeps_the_vmx_path(stub_elf):
    doc = _qemu(stub_elf, "Skylake-Client")
    assert doc["verdict"] == "no-vmx" and doc["technology"] == "vmx"


@pytest.mark.qemu
def test_vmxon_mode_sets_and_clears_svme_only(stub_elf):
    doc = _qemu(stub_elf, append="mode=vmxon")
    assert doc["verdict"] == "svm-ready" and doc["detail"]["mode"] == "vmxon"
    assert doc["guest"] is None


@pytest.mark.qemu
@pytest.mark.parametrize("inject", sorted(SVM_MATRIX))
def test_injected_svm_failure_on_qemu(stub_elf, inject):
    spec = SPECS[inject]
    doc = _qemu(stub_elf, append=f"inject={inject}")
    assert doc["verdict"] == spec.verdict, doc["reason"]
    for key, value in spec.detail.items():
        assert doc[key] == value, (key, doc[key], doc["detail"])
    assert not [w for w in doc["warnings"] if w["what"] == "inject-not-applicable"]


@pytest.mark.qemu
def test_svmdis_locked(stub_elf):
    doc = _qemu(stub_elf, append="inject=svmdis-locked")
    refused = [w for w in doc["warnings"] if w["what"] == "inject-not-applicable"]
    if refused:
        pytest.skip(f"QEMU's TCG does not let the stub lock VM_CR: {refused[0]['text']}")
    assert doc["verdict"] == "svm-disabled-by-firmware", doc["reason"]


@pytest.mark.bochs
@pytest.mark.grub
@pytest.mark.parametrize("model, features", [("ryzen", True), ("turion64_tyler", False)])
def test_bochs_svm_models_are_svm_ready(stub_elf, tmp_path, model, features):
    """ryzen has nested paging and NRIP save (RIP from the CPU), turion64_tyler neither (RIP from the lengths)."""
    doc = _bochs(stub_elf, tmp_path, model)
    _assert_ready(doc, nested_paging=features, nrip_save=features)
    assert doc["vm_cr"]["absent"]  # Bochs 2.7 has no VM_CR: no firmware lock, said as such


@pytest.mark.bochs
@pytest.mark.grub
def test_bochs_amd_model_without_svm_is_no_svm(stub_elf, tmp_path):
    assert _bochs(stub_elf, tmp_path, "athlon64_venice")["verdict"] == "no-svm"


@pytest.mark.bochs
@pytest.mark.grub
@pytest.mark.parametrize("inject", sorted(SVM_MATRIX))
def test_injected_svm_failure_on_bochs(stub_elf, tmp_path, inject):
    spec = SPECS[inject]
    doc = _bochs(stub_elf, tmp_path, "ryzen", f"inject={inject}")
    assert doc["verdict"] == spec.verdict, doc["reason"]
    for key, value in spec.detail.items():
        assert doc[key] == value, (key, doc[key], doc["detail"])


def test_svm_capabilities_are_decoded_by_name():
    """CPUID Fn8000_000A as two real CPUs give it: each feature bit by the APM's name."""
    qemu = svm_capabilities(read((DATA / "qemu-tcg-svm-ready.log").read_bytes()).boot_cpu)
    assert (qemu.revision, qemu.asids) == (1, 16)
    assert {k for k, on in qemu.features.items() if on} == {"np", "vgif", "svme_addr_chk"}  # EDX 0x10010001
    ryzen = svm_capabilities(read((DATA / "bochs-ryzen-svm-ready.log").read_bytes()).boot_cpu)
    on = {k for k, v in ryzen.features.items() if v}
    assert {"np", "nrip_save", "lbr_virt"} <= on and "avic" not in on
    # Every named bit set decodes to every name.
    every = sum(1 << b.bit for b in svm.SVM_FEATURE_BITS)
    cpu = CpuReport(cpuid=[CpuidLeaf(svm.CPUID_LEAF_SVM, 0, 1, 32768, 0, every)])
    decoded = svm_capabilities(cpu)
    assert all(decoded.features.values()) and decoded.asids == 32768
    assert decoded.as_json()["feature_names"]["nrip_save"] == "NRIP save: the next RIP on #VMEXIT"
