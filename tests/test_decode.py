"""Bit-field decoding, checked against values from the SDM and from real CPUs."""

from bootgen.decode.cpu import cpu_identity, family_model_stepping
from bootgen.decode.msr_fields import FeatureControl, VmxBasic
from bootgen.report import read

from conftest import DATA


def test_vmx_basic_sandy_bridge_value():
    # IA32_VMX_BASIC as read on a Sandy Bridge CPU: revision 0x10, 1 KiB region, dual-monitor SMM, WB,
    # INS/OUTS info, TRUE_* MSRs.
    basic = VmxBasic.decode(0x00DA040000000010)
    assert basic.revision == 0x10
    assert basic.region_size == 1024
    assert basic.memory_type == 6 and basic.memory_type_name == "WB"
    assert basic.ins_outs_info and basic.true_controls
    assert basic.dual_monitor and not basic.addr32  # bit 49 set, bit 48 clear


def test_vmx_basic_addr32_and_reserved_memtype():
    basic = VmxBasic.decode((1 << 48) | (2 << 50) | 0x7FFFFFFF)
    assert basic.addr32 and basic.revision == 0x7FFFFFFF
    assert basic.memory_type_name == "reserved(2)"


def test_feature_control_bits():
    fc = FeatureControl.decode(0x5)
    assert fc.locked and fc.vmx_outside_smx and not fc.vmx_inside_smx
    assert not FeatureControl.decode(0x1).vmx_outside_smx


def test_family_model_stepping():
    assert family_model_stepping(0x000306A9) == (6, 0x3A, 9)      # Ivy Bridge
    assert family_model_stepping(0x00A20F12) == (0x19, 0x21, 2)   # Zen 3 (extended family)


def test_identity_from_real_log():
    identity = cpu_identity(read((DATA / "qemu-tcg-no-vmx.log").read_bytes()).boot_cpu)
    assert identity.vendor == "AuthenticAMD"
    assert identity.vmx is False
    assert identity.hypervisor is True and identity.hypervisor_vendor == "TCGTCGTCGTCG"
    assert identity.physical_address_bits and identity.physical_address_bits >= 32
