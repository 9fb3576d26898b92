"""The fields of single MSRs: IA32_FEATURE_CONTROL, IA32_VMX_BASIC, IA32_VMX_MISC, the CR fixed-bit MSRs.

Field positions come from ``bootgen.arch.msr`` (SDM Vol. 3C, 24.7; Vol. 3D, A.1, A.6-A.8).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..arch import msr
from ..arch.bits import Bit, bit_named
from ..arch.memory_types import memory_type_name
from ..contract.records import Check, Key, MsrPhase
from ..report.model import CpuReport


def _field(table: tuple[Bit, ...], key: str, value: int) -> int:
    return bit_named(table, key).get(value)


@dataclass(frozen=True)
class FeatureControl:
    """IA32_FEATURE_CONTROL (SDM Vol. 3C, 24.7 "Enabling and Entering VMX Operation")."""

    value: int
    locked: bool
    vmx_inside_smx: bool
    vmx_outside_smx: bool

    @classmethod
    def decode(cls, value: int) -> "FeatureControl":
        bits = {b.key: b.is_set(value) for b in msr.FEATURE_CONTROL_BITS}
        return cls(value=value, locked=bits["lock"], vmx_inside_smx=bits["vmx_inside_smx"],
                   vmx_outside_smx=bits["vmx_outside_smx"])

    def as_dict(self) -> dict:
        return {"value": f"0x{self.value:016x}", "locked": self.locked,
                "vmx_inside_smx": self.vmx_inside_smx, "vmx_outside_smx": self.vmx_outside_smx}


@dataclass(frozen=True)
class VmxBasic:
    """IA32_VMX_BASIC (SDM Vol. 3D, A.1 "Basic VMX Information")."""

    value: int
    revision: int
    region_size: int
    addr32: bool
    dual_monitor: bool
    memory_type: int
    ins_outs_info: bool
    true_controls: bool
    no_error_code_requirement: bool

    @classmethod
    def decode(cls, value: int) -> "VmxBasic":
        fields: dict = {b.key: (b.is_set(value) if b.width == 1 else b.get(value)) for b in msr.VMX_BASIC_FIELDS}
        return cls(value=value, **fields)

    @property
    def memory_type_name(self) -> str:
        return memory_type_name(self.memory_type)

    def as_dict(self) -> dict:
        return {
            "value": f"0x{self.value:016x}", "region_size": self.region_size, "addr32": self.addr32,
            "dual_monitor": self.dual_monitor, "memory_type": self.memory_type, "ins_outs_info": self.ins_outs_info,
            "true_controls": self.true_controls, "no_error_code_requirement": self.no_error_code_requirement,
            "revision_id": self.revision, "memory_type_name": self.memory_type_name,
        }


@dataclass(frozen=True)
class VmxMisc:
    """IA32_VMX_MISC (SDM Vol. 3D, A.6 "Miscellaneous Data")."""

    value: int

    def _get(self, key: str) -> int:
        return _field(msr.VMX_MISC_FIELDS, key, self.value)

    @property
    def preemption_timer_rate(self) -> int:
        """Bits 4:0 = X: the VMX-preemption timer counts down by 1 each time TSC bit X changes."""
        return self._get("preemption_timer_rate")

    @property
    def stores_lma_on_exit(self) -> bool:
        """Bit 5: VM exits store EFER.LMA into the "IA-32e mode guest" VM-entry control."""
        return bool(self._get("stores_lma_on_exit"))

    @property
    def activity_states(self) -> list[str]:
        """Bits 8:6: activity states HLT, shutdown, wait-for-SIPI (active is always supported)."""
        names = (("activity_hlt", "hlt"), ("activity_shutdown", "shutdown"),
                 ("activity_wait_for_sipi", "wait-for-sipi"))
        return [name for key, name in names if self._get(key)]

    @property
    def intel_pt_in_vmx(self) -> bool:
        return bool(self._get("intel_pt_in_vmx"))

    @property
    def rdmsr_smbase_in_smm(self) -> bool:
        """Bit 15: RDMSR can read IA32_SMBASE in SMM."""
        return bool(self._get("rdmsr_smbase_in_smm"))

    @property
    def cr3_target_count(self) -> int:
        return self._get("cr3_target_count")

    @property
    def max_msr_list_size(self) -> int:
        """Bits 27:25 = N: each MSR load/store list holds at most 512 * (N + 1) entries."""
        return 512 * (self._get("msr_list_size") + 1)

    @property
    def smm_monitor_ctl_bit2(self) -> bool:
        """Bit 28: IA32_SMM_MONITOR_CTL bit 2 can be set; VMXOFF unblocks SMIs unless that bit is 1."""
        return bool(self._get("smm_monitor_ctl_bit2"))

    @property
    def vmwrite_exit_information_fields(self) -> bool:
        return bool(self._get("vmwrite_exit_information_fields"))

    @property
    def zero_length_injection(self) -> bool:
        return bool(self._get("zero_length_injection"))

    @property
    def mseg_revision(self) -> int:
        """Bits 63:32: the MSEG revision identifier (dual-monitor treatment of SMM)."""
        return self._get("mseg_revision")


@dataclass(frozen=True)
class CrFixed:
    """IA32_VMX_CRn_FIXED0/FIXED1 (SDM Vol. 3D, A.7, A.8): a bit set in FIXED0 must be 1,
    a bit clear in FIXED1 must be 0, in VMX operation."""

    fixed0: int
    fixed1: int
    bits: tuple[Bit, ...]

    @property
    def must_be_1(self) -> list[str]:
        return [b.name for b in self.bits if self.fixed0 >> b.bit & 1]

    @property
    def must_be_0(self) -> list[str]:
        return [b.name for b in self.bits if not self.fixed1 >> b.bit & 1]


def feature_control(cpu: CpuReport) -> dict | None:
    """What the loader handed over, what the stub did, and the state it left (the JSON ``feature_control``)."""
    before = cpu.msr(msr.IA32_FEATURE_CONTROL, MsrPhase.LOADER)
    if before is None:
        return None
    out: dict = {"loader": FeatureControl.decode(before).as_dict()}
    after = cpu.msr(msr.IA32_FEATURE_CONTROL, MsrPhase.AFTER_WRITE)
    if after is not None:
        out["after_write"] = FeatureControl.decode(after).as_dict()
    check = cpu.check(Check.FEATURE_CONTROL)
    out["state"] = check.name_value(Key.STATE) if check else None
    return out


def vmx_basic(cpu: CpuReport) -> VmxBasic | None:
    value = cpu.msr(msr.IA32_VMX_BASIC)
    return VmxBasic.decode(value) if value is not None else None
