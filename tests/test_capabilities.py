"""VMX capability decoding against real Bochs logs and values built from the SDM's bit definitions."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

import pytest

from bootgen.arch import msr, vmx_controls
from bootgen.decode.capabilities import CapabilityMsrs, VmxCapabilities, decode_capabilities, from_msrs
from bootgen.decode.msr_fields import VmxBasic, VmxMisc
from bootgen.render.capabilities_text import to_text_lines
from bootgen.render.jsondoc import to_json
from bootgen.render.terminal import use_color
from bootgen.render.text import to_text
from bootgen.report import read
from bootgen.verdict.evaluate import evaluate

from conftest import DATA, ROOT
from test_protocol import make_report

REQUIRED_KEYS = ("ept", "vpid", "unrestricted_guest", "preemption_timer", "vmcs_shadowing",
                 "posted_interrupts", "ept_1g_pages")
BOCHS_LOGS = sorted(DATA.glob("bochs-*.log"))


def caps_of(name: str) -> VmxCapabilities:
    return decode_capabilities(read((DATA / name).read_bytes()).boot_cpu)


# --------------------------------------------------------------------------- published / SDM values


def test_sandy_bridge_vmx_basic():
    """A Sandy Bridge IA32_VMX_BASIC as published: revision 0x10, 1 KiB regions, WB, dual-monitor SMM,
    INS/OUTS exit information, TRUE controls (A.1)."""
    basic = VmxBasic.decode(0x00DA040000000010)
    assert (basic.revision, basic.region_size, basic.memory_type_name) == (0x10, 1024, "WB")
    assert basic.true_controls and basic.ins_outs_info and basic.dual_monitor and not basic.addr32
    caps = from_msrs(CapabilityMsrs({msr.IA32_VMX_BASIC: 0x00DA040000000010}))
    flat = caps.flat()
    assert flat["true_controls"] is True
    # Only IA32_VMX_BASIC: every control capability is false, not guessed.
    assert not any(flat[key] for key in REQUIRED_KEYS)


def test_misc_fields():
    """IA32_VMX_MISC (A.6): rate in 4:0, activity states 8:6, CR3 targets 24:16, MSR lists 27:25, bit 29."""
    value = 5 | 1 << 5 | 0b101 << 6 | 4 << 16 | 2 << 25 | 1 << 29 | 0x1234 << 32
    misc = VmxMisc(value)
    assert misc.preemption_timer_rate == 5
    assert misc.stores_lma_on_exit
    assert misc.activity_states == ["hlt", "wait-for-sipi"]
    assert misc.cr3_target_count == 4
    assert misc.max_msr_list_size == 512 * 3
    assert misc.vmwrite_exit_information_fields and not misc.zero_length_injection
    assert misc.mseg_revision == 0x1234
    # The rate is reported only with a preemption timer to go with it.
    pin_with_timer = 0x0000007F00000016
    flat = from_msrs(CapabilityMsrs({msr.IA32_VMX_MISC: value, msr.IA32_VMX_PINBASED_CTLS: pin_with_timer})).flat()
    assert flat["preemption_timer"] is True and flat["preemption_timer_rate"] == 5
    flat = from_msrs(CapabilityMsrs({msr.IA32_VMX_MISC: value, msr.IA32_VMX_PINBASED_CTLS: 0x3F00000016})).flat()
    assert flat["preemption_timer"] is False and flat["preemption_timer_rate"] is None


def _ept_machine(ept_vpid_cap: int, secondary_allowed1: int = 0x000000A2) -> VmxCapabilities:
    """Primary allows secondary controls; secondary allows EPT, VPID, unrestricted guest by default."""
    return from_msrs(CapabilityMsrs({
        msr.IA32_VMX_PROCBASED_CTLS: 0xF7F9FFFE_0401E172,
        msr.IA32_VMX_PROCBASED_CTLS2: secondary_allowed1 << 32,
        msr.IA32_VMX_EPT_VPID_CAP: ept_vpid_cap,
    }))


def test_ept_vpid_cap_bits():
    """IA32_VMX_EPT_VPID_CAP (A.10), bit by bit."""
    value = (1 << 6 | 1 << 7 | 1 << 14 | 1 << 17 | 1 << 20 | 1 << 21 | 1 << 26
             | 1 << 32 | 1 << 41 | 1 << 42)
    flat = _ept_machine(value).flat()
    assert flat["ept"] and flat["vpid"] and flat["unrestricted_guest"]
    assert flat["ept_page_walk_lengths"] == [4, 5]
    assert flat["ept_memory_types"] == ["WB"]
    assert flat["ept_1g_pages"] and not flat["ept_2m_pages"] and not flat["ept_execute_only"]
    assert flat["ept_accessed_dirty"] and flat["invept"]
    assert flat["invept_types"] == ["all-context"]
    assert flat["invvpid_types"] == ["single-context", "all-context"]


def test_ept_bits_need_ept_enabled():
    """EPT capability bits mean nothing when the secondary controls do not allow EPT."""
    flat = _ept_machine(0x00000F0106334141, secondary_allowed1=1 << 5).flat()  # VPID only
    assert flat["vpid"] and flat["invvpid"]
    assert not flat["ept"] and not flat["ept_1g_pages"] and flat["ept_page_walk_lengths"] == []


def test_secondary_controls_need_the_primary_activation_bit():
    msrs = CapabilityMsrs({msr.IA32_VMX_PROCBASED_CTLS: 0x7781FFFE_0401E172,  # bit 63 clear
                           msr.IA32_VMX_PROCBASED_CTLS2: 0xFF << 32})
    caps = from_msrs(msrs)
    assert not caps.groups["secondary_processor_based"].active
    assert not caps.flat()["ept"] and not caps.flat()["unrestricted_guest"]


def test_true_controls_give_the_must_be_1_settings():
    """A.2: with IA32_VMX_BASIC[55], allowed-0 comes from the TRUE MSR (CR3-load exiting may be 0)."""
    msrs = {msr.IA32_VMX_PROCBASED_CTLS: 0xF7F9FFFE_0401E172, msr.IA32_VMX_TRUE_PROCBASED_CTLS: 0xF7F9FFFE_04006172}
    with_true = from_msrs(CapabilityMsrs({**msrs, msr.IA32_VMX_BASIC: 0x00D8100000000001}))
    without = from_msrs(CapabilityMsrs({**msrs, msr.IA32_VMX_BASIC: 0x0058100000000001}))
    assert not with_true.groups["primary_processor_based"].must_be_1("cr3_load_exiting")
    assert without.groups["primary_processor_based"].must_be_1("cr3_load_exiting")
    assert with_true.groups["primary_processor_based"].can_be_1("hlt_exiting")


def test_tertiary_controls():
    msrs = CapabilityMsrs({msr.IA32_VMX_PROCBASED_CTLS: (0xF7F9FFFE | 1 << 17) << 32 | 0x0401E172,
                           msr.IA32_VMX_PROCBASED_CTLS3: 1 << 4 | 1 << 1})
    flat = from_msrs(msrs).flat()
    assert flat["tertiary_controls"] and flat["ipi_virtualization"] and flat["hlat"]
    # The same MSR without the activation bit in the primary controls counts for nothing.
    msrs = CapabilityMsrs({msr.IA32_VMX_PROCBASED_CTLS: 0xF7F9FFFE_0401E172, msr.IA32_VMX_PROCBASED_CTLS3: 0x12})
    assert not from_msrs(msrs).flat()["ipi_virtualization"]


def test_vmfunc_and_vmcs_enum():
    msrs = CapabilityMsrs({msr.IA32_VMX_PROCBASED_CTLS: 0xF7F9FFFE_0401E172,
                           msr.IA32_VMX_PROCBASED_CTLS2: (1 << 13) << 32,
                           msr.IA32_VMX_VMFUNC: 1, msr.IA32_VMX_VMCS_ENUM: 0x2E << 1})
    caps = from_msrs(msrs)
    assert caps.flat()["eptp_switching"] and caps.flat()["vmcs_highest_index"] == 0x2E
    assert caps.vm_functions == [0]


def test_control_tables_are_consistent():
    for spec in vmx_controls.CONTROL_WORDS:
        bits = [b.bit for b in spec.bits]
        keys = [b.key for b in spec.bits]
        assert len(set(bits)) == len(bits) and len(set(keys)) == len(keys), spec.key
        assert all(0 <= b < (64 if spec.allowed1_only else 32) for b in bits)
        assert all(k.isidentifier() and k == k.lower() for k in keys)
    # Default-1 controls (A.2) are not named as optional capabilities.
    assert {b.bit for b in vmx_controls.PIN_BASED_BITS}.isdisjoint({1, 2, 4})


# --------------------------------------------------------------------------- real Bochs logs


def test_bochs_skylake_x():
    caps = caps_of("bochs-skylake-x.log")
    flat = caps.flat()
    assert {k: flat[k] for k in REQUIRED_KEYS} == {
        "ept": True, "vpid": True, "unrestricted_guest": True, "preemption_timer": True,
        "vmcs_shadowing": True, "posted_interrupts": False, "ept_1g_pages": True}
    assert flat["ept_page_walk_lengths"] == [4] and flat["ept_memory_types"] == ["UC", "WB"]
    assert flat["pml"] and flat["tsc_scaling"] and not flat["mode_based_execute_control"]
    assert flat["eptp_switching"] and flat["vmcs_highest_index"] == 0x1A
    assert flat["preemption_timer_rate"] == 0
    assert flat["cr0_must_be_1"] == ["PE", "NE", "PG"] and flat["cr4_must_be_1"] == ["VMXE"]
    assert not flat["tertiary_controls"] and not flat["hlat"]
    # Every capability MSR the stub dumped, plus the CR fixed MSRs of the loader phase.
    assert len(caps.msrs.values) == 18 and not caps.msrs.faults


def test_bochs_tigerlake_has_cet_and_sub_page_permissions():
    flat = caps_of("bochs-tigerlake.log").flat()
    assert flat["sub_page_write_permissions"] and flat["load_cet_state"]
    controls = caps_of("bochs-tigerlake.log").controls_dict()
    assert controls["vm_entry"]["controls"]["load_cet_state"] == {
        "bit": 20, "name": "Load CET state", "can_be_1": True, "must_be_1": False}


def test_bochs_sandy_bridge_has_no_1g_ept_pages_or_ad_flags():
    flat = caps_of("bochs-sandy-bridge.log").flat()
    assert flat["ept"] and flat["vpid"] and flat["unrestricted_guest"]
    assert not flat["ept_1g_pages"] and not flat["ept_accessed_dirty"] and flat["ept_2m_pages"]
    assert not flat["vmcs_shadowing"] and flat["invept_types"] == ["single-context", "all-context"]


def test_bochs_penryn_has_secondary_controls_without_ept():
    caps = caps_of("bochs-penryn.log")
    flat = caps.flat()
    assert flat["secondary_controls"] and not flat["ept"] and not flat["vpid"]
    assert flat["apic_access_virtualization"] and not flat["preemption_timer"]
    assert msr.IA32_VMX_EPT_VPID_CAP not in caps.msrs.values
    text = "\n".join(to_text_lines(caps))
    assert "EPT" in text and "not reported" not in text.split("interrupts")[0]  # EPT is known to be absent


def test_bochs_yonah_has_no_secondary_controls():
    caps = caps_of("bochs-yonah.log")
    flat = caps.flat()
    assert not flat["secondary_controls"] and not flat["ept"] and not flat["vpid"]
    assert not flat["ia32e_mode_guest"]  # a 32-bit CPU
    assert msr.IA32_VMX_PROCBASED_CTLS2 not in caps.msrs.values


def test_no_vmx_cpu_reports_nothing():
    caps = caps_of("bochs-ryzen-no-vmx.log")
    assert not caps.reported
    assert not any(v for v in caps.flat().values())
    assert to_text_lines(caps) == ["VMX capabilities: not reported (the report holds no VMX capability MSRs)"]


@pytest.mark.parametrize("log", BOCHS_LOGS, ids=lambda p: p.name)
def test_json_capabilities_for_every_real_log(log):
    doc = to_json(evaluate(log.read_bytes()))
    json.dumps(doc)  # serialisable
    for key in REQUIRED_KEYS:
        assert isinstance(doc["capabilities"][key], bool), key
    assert set(doc["vmx_controls"]) == {g.key for g in vmx_controls.CONTROL_WORDS}
    assert isinstance(doc["advice"], list) and doc["advice"]
    assert all(isinstance(line, str) and line for line in doc["advice"])


# --------------------------------------------------------------------------- report forms


def test_faulted_msr_is_absent_and_said_so():
    report = make_report([
        "msr index=0x00000480 value=0x00d810000000002b phase=capability",
        "msr index=0x00000482 value=0xf7f9fffe0401e172 phase=capability",
        "msr index=0x0000048b value=0x000000a200000000 phase=capability",
        "msr index=0x0000048c fault=13 phase=capability",
        "verdict name=vmx-ready",
    ])
    caps = decode_capabilities(read(report).boot_cpu)
    assert caps.msrs.faults == {msr.IA32_VMX_EPT_VPID_CAP: 13}
    assert caps.flat()["ept"] and not caps.flat()["ept_1g_pages"]
    assert caps.msrs.as_dict()["0x0000048c"] == {"name": "IA32_VMX_EPT_VPID_CAP", "fault": 13}
    text = "\n".join(to_text_lines(caps))
    assert "IA32_VMX_EPT_VPID_CAP (vector 13)" in text and "1G pages" in text


def test_controls_records_stand_in_for_missing_msr_records():
    """Logs from stubs that predate the capability dump still decode their control words."""
    report = make_report([
        "msr index=0x00000480 value=0x00d810000000002b phase=loader",
        "controls name=pin-based msr=0x0000048d wanted=0x00000000 allowed0=0x00000016 allowed1=0x0000007f "
        "value=0x00000016 refused=0x00000000",
        "controls name=primary-processor-based msr=0x0000048e wanted=0x01000080 allowed0=0x04006172 "
        "allowed1=0xf7f9fffe value=0x050061f2 refused=0x00000000",
        "controls name=secondary-processor-based msr=0x0000048b wanted=0x00000000 allowed0=0x00000000 "
        "allowed1=0x02177fff value=0x00000000 refused=0x00000000",
        "verdict name=no-vmx",
    ])
    caps = decode_capabilities(read(report).boot_cpu)
    flat = caps.flat()
    assert flat["preemption_timer"] and flat["ept"] and flat["vmcs_shadowing"]
    assert caps.groups["pin_based"].source == msr.IA32_VMX_TRUE_PINBASED_CTLS
    # The EPT capability MSR was never read: its details are "not reported", not "no".
    summary = {i.key: i for g in caps.summary() for i in g.items}
    assert not summary["ept_1g_pages"].reported and summary["ept"].reported
    assert "not reported:" in "\n".join(to_text_lines(caps))


def test_text_output_order_verdict_advice_capabilities():
    text = to_text(evaluate((DATA / "bochs-skylake-x.log").read_bytes()))
    lines = text.splitlines()
    assert lines[0].startswith("verdict: vmx-ready")
    assert lines[1] == "what to do:"
    assert text.index("VMX capabilities") > text.index("cpu:")
    for group in ("memory virtualization", "interrupts and APIC", "timers and TSC", "nesting"):
        assert f"  {group}" in lines


# --------------------------------------------------------------------------- colour


class _Stream:
    def __init__(self, tty: bool):
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_color_decision():
    assert use_color(_Stream(True), {})
    assert not use_color(_Stream(True), {"NO_COLOR": "1"})
    assert not use_color(_Stream(True), {"NO_COLOR": ""})  # set at all, whatever its value
    assert not use_color(_Stream(False), {})


def test_plain_text_has_no_escape_codes_and_colour_has():
    result = evaluate((DATA / "bochs-skylake-x.log").read_bytes())
    assert "\033[" not in to_text(result, color=False)
    assert "\033[" in to_text(result, color=True)


def _cli_in_pty(env: dict) -> str:
    """Run `bootgen report` with stdout on a pseudo-terminal, as a person would see it."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "bootgen", "report", str(DATA / "bochs-skylake-x.log")],
                            stdout=slave, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    return b"".join(chunks).decode()


def test_cli_on_a_terminal_honours_no_color():
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    assert "\033[" in _cli_in_pty(env)
    plain = _cli_in_pty({**env, "NO_COLOR": "1"})
    assert "verdict: vmx-ready" in plain and "\033[" not in plain
