"""Decode the VMX capability MSRs into control settings and capability facts.

SDM Vol. 3D, appendix A ("VMX Capability Reporting Facility"): which MSR
reports what, the allowed-0 / allowed-1 encoding of the control MSRs
(A.3-A.5), IA32_VMX_MISC (A.6), CR0/CR4 fixed bits (A.7, A.8),
IA32_VMX_VMCS_ENUM (A.9), IA32_VMX_EPT_VPID_CAP (A.10), IA32_VMX_VMFUNC (A.11).
The bit tables are data in ``bootgen.arch.vmx_controls``; the headline
capabilities people read are the table in ``capability_summary``.

For a control, "can be 1" is its allowed-1 setting (bits 63:32 of the MSR) and
"must be 1" its allowed-0 setting (bits 31:0), taken from the IA32_VMX_TRUE_*
MSR when IA32_VMX_BASIC[55] says those exist (A.2). A capability whose MSR is
absent from the report is false; the text output says "not reported".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..arch import msr, registers
from ..arch.bits import bit_named, set_bits
from ..arch.memory_types import MEMORY_TYPES
from ..arch.vmx_controls import CONTROL_WORDS, EPT_VPID_BITS, ControlWord
from ..report.model import CpuReport
from .capability_summary import CapabilityGroup, summarize
from .msr_fields import CrFixed, VmxBasic, VmxMisc


@dataclass(frozen=True)
class Control:
    """One control bit: may it be 1 (allowed-1), must it be 1 (allowed-0 setting is 1)."""

    bit: int
    key: str
    name: str
    can_be_1: bool
    must_be_1: bool


@dataclass(frozen=True)
class ControlGroup:
    """A control word's settings as the capability MSRs report them."""

    spec: ControlWord
    source: int | None     # MSR the allowed-1 settings came from; None: not reported
    allowed0: int = 0      # bit set: the control must be 1
    allowed1: int = 0      # bit set: the control may be 1
    active: bool = True    # False when the control word itself cannot be activated

    @property
    def reported(self) -> bool:
        return self.source is not None

    @property
    def known(self) -> bool:
        """Its settings are known: reported, or ruled out because the word cannot be activated."""
        return self.reported or not self.active

    @property
    def controls(self) -> tuple[Control, ...]:
        return tuple(Control(b.bit, b.key, b.name, self.can_be_1(b.key), self.must_be_1(b.key))
                     for b in self.spec.bits)

    def can_be_1(self, key: str) -> bool:
        return self.reported and self.active and bool(self.allowed1 >> bit_named(self.spec.bits, key).bit & 1)

    def must_be_1(self, key: str) -> bool:
        return self.reported and self.active and bool(self.allowed0 >> bit_named(self.spec.bits, key).bit & 1)

    def unnamed_can_be_1(self) -> list[int]:
        """Optional bits (allowed-1, not must-be-1) the table does not name: controls newer than it."""
        named = {b.bit for b in self.spec.bits}
        width = 64 if self.spec.allowed1_only else 32
        return [b for b in set_bits(self.allowed1, width) if b not in named and not self.allowed0 >> b & 1]

    def as_dict(self) -> dict:
        width = 16 if self.spec.allowed1_only else 8
        return {
            "title": self.spec.title,
            "reported": self.reported,
            "msr": f"0x{self.source:08x}" if self.source is not None else None,
            "active": self.active,
            "allowed0": f"0x{self.allowed0:0{width}x}" if self.reported else None,
            "allowed1": f"0x{self.allowed1:0{width}x}" if self.reported else None,
            "controls": {c.key: {"bit": c.bit, "name": c.name, "can_be_1": c.can_be_1, "must_be_1": c.must_be_1}
                         for c in self.controls},
            "unnamed_can_be_1": self.unnamed_can_be_1() if self.reported else [],
        }


@dataclass(frozen=True)
class CapabilityMsrs:
    """The capability MSR values and faults a report holds."""

    values: dict[int, int] = field(default_factory=dict)
    faults: dict[int, int] = field(default_factory=dict)   # index -> exception vector

    @classmethod
    def from_cpu(cls, cpu: CpuReport) -> "CapabilityMsrs":
        """Every read of a VMX capability MSR (msr.VMX_CAPABILITY_MSRS), whatever its phase (first one wins).

        A control word the stub computed carries allowed0/allowed1 of its capability
        MSR; it stands in for that MSR when no read of it is in the report (reports
        from older stubs).
        """
        values: dict[int, int] = {}
        faults: dict[int, int] = {}
        for read in cpu.msrs:
            if read.index not in msr.VMX_CAPABILITY_MSRS or read.index in values or read.index in faults:
                continue
            if read.value is not None:
                values[read.index] = read.value
            elif read.fault is not None:
                faults[read.index] = read.fault
        for word in cpu.controls:
            if word.msr in msr.VMX_CAPABILITY_MSRS and word.msr not in values and word.msr not in faults \
                    and word.allowed0 is not None and word.allowed1 is not None:
                values[word.msr] = (word.allowed1 & 0xFFFFFFFF) << 32 | (word.allowed0 & 0xFFFFFFFF)
        return cls(values, faults)

    def get(self, index: int) -> int | None:
        return self.values.get(index)

    def as_dict(self) -> dict:
        out: dict = {}
        for index in sorted(set(self.values) | set(self.faults)):
            entry: dict = {"name": msr.NAMES[index]}
            if index in self.values:
                entry["value"] = f"0x{self.values[index]:016x}"
            else:
                entry["fault"] = self.faults[index]
            out[f"0x{index:08x}"] = entry
        return out


def _control_group(spec: ControlWord, msrs: CapabilityMsrs, true_controls: bool) -> ControlGroup:
    """Settings per A.2-A.5: allowed-0 from the TRUE MSR when IA32_VMX_BASIC[55] is set
    (a VMM may then clear some default-1 controls), allowed-1 from either (they agree)."""
    plain = msrs.get(spec.msr)
    true = msrs.get(spec.true_msr) if spec.true_msr is not None and true_controls else None
    if spec.allowed1_only:
        if plain is None:
            return ControlGroup(spec, None)
        return ControlGroup(spec, spec.msr, 0, plain)
    if plain is None and true is None:
        return ControlGroup(spec, None)
    allowed0 = (true if true is not None else plain) & 0xFFFFFFFF  # type: ignore[operator]
    source = spec.msr if plain is not None else spec.true_msr
    allowed1 = ((plain if plain is not None else true) >> 32) & 0xFFFFFFFF  # type: ignore[operator]
    return ControlGroup(spec, source, allowed0, allowed1)


@dataclass(frozen=True)
class VmxCapabilities:
    msrs: CapabilityMsrs
    basic: VmxBasic | None
    groups: dict[str, ControlGroup]
    misc: VmxMisc | None
    ept_vpid: int | None          # IA32_VMX_EPT_VPID_CAP, when the CPU has it
    vmfunc: int | None            # IA32_VMX_VMFUNC
    vmcs_enum: int | None         # IA32_VMX_VMCS_ENUM
    cr0: CrFixed | None
    cr4: CrFixed | None

    @property
    def reported(self) -> bool:
        """Whether the report holds any capability MSR at all."""
        return bool(self.msrs.values)

    def control(self, group: str, key: str) -> bool:
        return self.groups[group].can_be_1(key)

    # What the EPT/VPID capability bits say is known when the MSR was read, or when the
    # secondary controls already rule EPT (VPID, VM functions) out.
    def _known_unless_ruled_out(self, value: int | None, control: str) -> bool:
        secondary = self.groups["secondary_processor_based"]
        return value is not None or (secondary.known and not secondary.can_be_1(control))

    @property
    def ept_known(self) -> bool:
        return self._known_unless_ruled_out(self.ept_vpid, "enable_ept")

    @property
    def vpid_known(self) -> bool:
        return self._known_unless_ruled_out(self.ept_vpid, "enable_vpid")

    @property
    def vmfunc_known(self) -> bool:
        return self._known_unless_ruled_out(self.vmfunc, "enable_vm_functions")

    # EPT/VPID capability bits count only when EPT (for EPT bits) or VPID (for INVVPID
    # bits) can be enabled at all (A.10: the MSR exists when either can).
    def ept_bit(self, key: str) -> bool:
        return self.control("secondary_processor_based", "enable_ept") \
            and bit_named(EPT_VPID_BITS, key).is_set(self.ept_vpid)

    def vpid_bit(self, key: str) -> bool:
        return self.control("secondary_processor_based", "enable_vpid") \
            and bit_named(EPT_VPID_BITS, key).is_set(self.ept_vpid)

    @property
    def ept_page_walk_lengths(self) -> list[int]:
        return [n for n, key in ((4, "page_walk_length_4"), (5, "page_walk_length_5")) if self.ept_bit(key)]

    @property
    def ept_memory_types(self) -> list[str]:
        return [MEMORY_TYPES[t] for t, key in ((0, "memory_type_uc"), (6, "memory_type_wb")) if self.ept_bit(key)]

    @property
    def invept_types(self) -> list[str]:
        if not self.ept_bit("invept"):
            return []
        return [name for name, key in (("single-context", "invept_single_context"),
                                       ("all-context", "invept_all_context")) if self.ept_bit(key)]

    @property
    def invvpid_types(self) -> list[str]:
        if not self.vpid_bit("invvpid"):
            return []
        return [name for name, key in (("individual-address", "invvpid_individual_address"),
                                       ("single-context", "invvpid_single_context"),
                                       ("all-context", "invvpid_all_context"),
                                       ("single-context-retaining-globals",
                                        "invvpid_single_context_retaining_globals"))
                if self.vpid_bit(key)]

    @property
    def vm_functions(self) -> list[int]:
        if not self.control("secondary_processor_based", "enable_vm_functions") or self.vmfunc is None:
            return []
        return set_bits(self.vmfunc)

    @property
    def preemption_timer_rate(self) -> int | None:
        """A.6: bits 4:0 give the rate when the timer is supported; None otherwise."""
        timer = self.control("pin_based", "activate_vmx_preemption_timer")
        return self.misc.preemption_timer_rate if self.misc and timer else None

    @property
    def vmcs_highest_index(self) -> int | None:
        return bit_named(msr.VMCS_ENUM_FIELDS, "highest_index").get(self.vmcs_enum) \
            if self.vmcs_enum is not None else None

    def summary(self) -> tuple[CapabilityGroup, ...]:
        """The headline capabilities, grouped for people (the table in capability_summary)."""
        return summarize(self)

    def flat(self) -> dict:
        """The JSON ``capabilities`` object: snake_case key -> bool, number, list (or null)."""
        return {item.key: item.value for group in self.summary() for item in group.items}

    def controls_dict(self) -> dict:
        """The JSON ``vmx_controls`` object: every named control bit of every control word."""
        return {key: group.as_dict() for key, group in self.groups.items()}


def from_msrs(msrs: CapabilityMsrs) -> VmxCapabilities:
    """Decode capability MSR values (SDM Vol. 3D, appendix A)."""
    basic_value = msrs.get(msr.IA32_VMX_BASIC)
    basic = VmxBasic.decode(basic_value) if basic_value is not None else None
    true_controls = bool(basic and basic.true_controls)
    groups = {spec.key: _control_group(spec, msrs, true_controls) for spec in CONTROL_WORDS}
    primary = groups["primary_processor_based"]
    # The secondary and tertiary controls count only when the primary controls may
    # activate them (A.3.3, A.3.4).
    for key, activator in (("secondary_processor_based", "activate_secondary_controls"),
                           ("tertiary_processor_based", "activate_tertiary_controls")):
        group = groups[key]
        if primary.reported and not primary.can_be_1(activator):
            groups[key] = ControlGroup(group.spec, group.source, group.allowed0, group.allowed1, active=False)
    misc_value = msrs.get(msr.IA32_VMX_MISC)
    cr0 = cr4 = None
    if (f0 := msrs.get(msr.IA32_VMX_CR0_FIXED0)) is not None and (f1 := msrs.get(msr.IA32_VMX_CR0_FIXED1)) is not None:
        cr0 = CrFixed(f0 & 0xFFFFFFFF, f1 & 0xFFFFFFFF, registers.CR0_BITS)
    if (f0 := msrs.get(msr.IA32_VMX_CR4_FIXED0)) is not None and (f1 := msrs.get(msr.IA32_VMX_CR4_FIXED1)) is not None:
        cr4 = CrFixed(f0 & 0xFFFFFFFF, f1 & 0xFFFFFFFF, registers.CR4_BITS)
    return VmxCapabilities(
        msrs=msrs, basic=basic, groups=groups,
        misc=VmxMisc(misc_value) if misc_value is not None else None,
        ept_vpid=msrs.get(msr.IA32_VMX_EPT_VPID_CAP), vmfunc=msrs.get(msr.IA32_VMX_VMFUNC),
        vmcs_enum=msrs.get(msr.IA32_VMX_VMCS_ENUM), cr0=cr0, cr4=cr4,
    )


def decode_capabilities(cpu: CpuReport) -> VmxCapabilities:
    """Every capability MSR in one CPU's report, decoded."""
    return from_msrs(CapabilityMsrs.from_cpu(cpu))
