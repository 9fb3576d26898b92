"""The real stub on Bochs's emulated VT-x: the success path, the guest's exit trace, every CPU model."""

from __future__ import annotations

from pathlib import Path

import pytest

from bootgen.backends.bochs import BochsConfig, run_bochs
from bootgen.backends.bochs.install import list_cpu_models
from bootgen.backends.host import Host
from bootgen.backends.outcome import Ending
from bootgen.contract.guest import GUEST_VMCALL_VALUE
from bootgen.decode.msr_fields import vmx_basic
from bootgen.image.iso import IsoConfig, build_iso
from bootgen.render.jsondoc import to_json
from bootgen.verdict import Verdict
from bootgen.verdict.evaluate import evaluate

pytestmark = [pytest.mark.bochs, pytest.mark.grub]

DEFAULT_MODEL = "corei7_sandy_bridge_2600k"
NO_EPT_MODEL = "core2_penryn_t9600"  # secondary controls without EPT (bit 1) or unrestricted guest (bit 7)


@pytest.fixture(scope="module", autouse=True)
def _bochs_usable():
    if Host().bochs_unavailable() is not None:
        pytest.skip("Bochs (with SDL2 display plugin and BIOS images) is not installed")


@pytest.fixture(scope="module")
def stub_iso(stub_elf, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("iso") / "bootgen.iso"
    return build_iso(IsoConfig(elf=stub_elf, output=out)).path


def boot(iso: Path, model: str = DEFAULT_MODEL):
    outcome = run_bochs(BochsConfig(image=iso, cpu_model=model, timeout_s=120))
    return outcome, evaluate(outcome.serial, outcome)


def test_default_model_is_vmx_ready(stub_iso):
    outcome, result = boot(stub_iso)
    assert outcome.ending is Ending.GUEST_EXIT, outcome.detail
    assert result.verdict is Verdict.VMX_READY, result.reason
    doc = to_json(result)
    assert doc["vmxon"]["outcome"] == "success" and doc["vmxoff"]["outcome"] == "success"
    assert doc["cpu"]["vendor"] == "GenuineIntel" and doc["cpu"]["vmx"] is True
    assert doc["vmx_basic"]["revision_id"] == vmx_basic(result.report.boot_cpu).revision
    # The revision the stub wrote into its regions is the one this model's IA32_VMX_BASIC reports.
    basic = vmx_basic(result.report.boot_cpu)
    assert basic is not None and basic.region_size <= 4096
    assert result.report.boot_cpu.vmxon_region.revision == basic.revision
    assert result.report.boot_cpu.vmcs_region.revision == basic.revision
    # IA32_FEATURE_CONTROL: either firmware enabled and locked it, or the stub did and said so.
    fc = doc["feature_control"]
    assert fc["state"] in ("enabled-by-firmware", "enabled-by-stub")
    if fc["state"] == "enabled-by-stub":
        assert not fc["loader"]["locked"] and fc["after_write"]["locked"] and fc["after_write"]["vmx_outside_smx"]
    else:
        assert fc["loader"]["locked"] and fc["loader"]["vmx_outside_smx"]


def test_guest_exit_trace(stub_iso):
    _, result = boot(stub_iso)
    guest = to_json(result)["guest"]
    assert [e["reason"] for e in guest["exits"]] == [10, 30, 18, 12]
    assert [e["name"] for e in guest["exits"]] == ["CPUID", "I/O instruction", "VMCALL", "HLT"]
    assert guest["vmcall_value"] == GUEST_VMCALL_VALUE
    entry = result.report.boot_cpu.guest.entry
    rips = [e["rip"] for e in guest["exits"]]
    assert entry < rips[0] < rips[1] < rips[2] < rips[3] < entry + 64  # in order, inside the guest's code
    assert [e["instruction_length"] for e in guest["exits"]] == [2, 2, 3, 1]  # cpuid, out imm8, vmcall, hlt
    io = guest["exits"][1]["qualification"]
    assert io >> 16 == 0x80 and io & 0x8 == 0  # OUT to port 0x80 (SDM table 28-5)


def test_vmxon_only_mode(stub_elf, tmp_path):
    iso = build_iso(IsoConfig(elf=stub_elf, output=tmp_path / "vmxon.iso", cmdline="mode=vmxon")).path
    _, result = boot(iso)
    assert result.verdict is Verdict.VMX_READY
    assert result.report.config.mode == "vmxon"
    assert result.report.boot_cpu.instruction("vmlaunch") is None and to_json(result)["guest"] is None


def test_model_without_ept_or_unrestricted_guest(stub_iso):
    if NO_EPT_MODEL not in list_cpu_models():
        pytest.skip(f"this Bochs has no {NO_EPT_MODEL} model")
    _, result = boot(stub_iso, NO_EPT_MODEL)
    assert result.verdict is Verdict.VMX_READY, result.reason
    secondary = result.report.boot_cpu.control_word("secondary-processor-based")
    if secondary is not None:
        assert secondary.allowed1 & ((1 << 1) | (1 << 7)) == 0  # no EPT, no unrestricted guest
    for controls in result.report.boot_cpu.controls:
        assert controls.refused == 0, controls


# Every CPU model against Bochs's CPU database: tests/test_matrix.py runs the shipped bochs-models matrix.


def test_capabilities_decoded_from_a_real_boot(stub_iso):
    """The decoded capabilities agree with the raw allowed-1 bits the stub's `controls` records carry."""
    _, result = boot(stub_iso, "corei7_skylake_x" if "corei7_skylake_x" in list_cpu_models() else DEFAULT_MODEL)
    doc = to_json(result)
    caps = doc["capabilities"]
    secondary = result.report.boot_cpu.control_word("secondary-processor-based")
    pin = result.report.boot_cpu.control_word("pin-based")
    allowed2 = secondary.allowed1 if secondary else 0
    assert caps["ept"] == bool(allowed2 & (1 << 1))
    assert caps["vpid"] == bool(allowed2 & (1 << 5))
    assert caps["unrestricted_guest"] == bool(allowed2 & (1 << 7))
    assert caps["vmcs_shadowing"] == bool(allowed2 & (1 << 14))
    assert caps["preemption_timer"] == bool(pin.allowed1 & (1 << 6))
    assert caps["posted_interrupts"] == bool(pin.allowed1 & (1 << 7))
    assert isinstance(caps["ept_1g_pages"], bool)
    assert doc["advice"] and isinstance(doc["advice"][0], str)
