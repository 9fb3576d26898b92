"""The host's own verdict, derived from the raw facts of a report, and what in the report contradicts itself.

The stub's verdict record is a claim. This module walks the raw facts in the
order the stub's probe takes (stage/vmx/probe.c, after SDM Vol. 3C, 24.6-24.8):
CPUID.1:ECX.VMX, IA32_FEATURE_CONTROL as read and as written, CR4.VMXE,
IA32_VMX_BASIC, the CR fixed-bit MSRs, every VMX instruction's outcome, the
guest's exit trace and VMCALL value, and any exception. The first fact that
fails decides the verdict; where the facts stop without one (the stub stopped
and said nothing of why) only Verdict.FAULT fits; only a complete path of facts
that all pass is ready. Independently, each ``check`` and ``vmx`` record must
agree with the raw values it summarizes. ``verdict.evaluate`` believes the stub
only when its verdict equals the derived one and nothing contradicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..arch import msr
from ..arch.bits import bit_named
from ..arch.registers import CPUID1_ECX_BITS, CPUID_LEAF_FEATURES, CR0_BITS, CR4_BITS, EFLAGS_BITS
from ..contract import guest as guest_abi
from ..contract.injects import Inject
from ..contract.options import Mode
from ..contract.records import (
    Check,
    CheckResult,
    FeatureControlState,
    Insn,
    Key,
    MsrPhase,
    Outcome,
    Step,
    StepState,
    Technology,
)
from ..contract.smp import CpuStatus
from ..contract.verdicts import Verdict
from ..decode.svm import technology
from ..report.model import CpuReport, Report, VmxInstruction

_VMX = bit_named(CPUID1_ECX_BITS, "vmx")
_HYPERVISOR = bit_named(CPUID1_ECX_BITS, "hypervisor")
_VMXE = bit_named(CR4_BITS, "vmxe")
_PG = bit_named(CR0_BITS, "pg")
_CF, _ZF = bit_named(EFLAGS_BITS, "cf"), bit_named(EFLAGS_BITS, "zf")
_LOCK, _OUTSIDE_SMX = (bit_named(msr.FEATURE_CONTROL_BITS, k) for k in ("lock", "vmx_outside_smx"))
_REGION_SIZE = bit_named(msr.VMX_BASIC_FIELDS, "region_size")
#: The largest VMXON/VMCS region the stub provides (stage/include/cpu.h, CPU_REGION_SIZE).
MAX_REGION_SIZE = 4096
#: The I/O exit qualification (SDM Vol. 3C, 28.2.1, table 28-5): size - 1, direction (1 = IN), port.
_IO_SIZE, _IO_IN, _IO_PORT_SHIFT = 0x7, 1 << 3, 16


@dataclass
class Derivation:
    verdict: Verdict
    why: str                                    # the fact that decided it
    contradictions: list[str] = field(default_factory=list)


class _Decided(Exception):
    """The walk reached a fact that decides the verdict."""

    def __init__(self, verdict: Verdict, why: str) -> None:
        super().__init__(why)
        self.verdict, self.why = verdict, why


def _decide(verdict: Verdict, why: str) -> _Decided:
    return _Decided(verdict, why)


def _stopped(after: str) -> _Decided:
    return _Decided(Verdict.FAULT, f"the facts stop after {after}, and none of them failed")


def _instruction_problem(record: VmxInstruction) -> str | None:
    """A vmx record whose outcome does not match its own flags (SDM Vol. 3C, 31.2)."""
    cf, zf, outcome = record.cf, record.zf, record.outcome
    expected: dict[str | None, tuple[int, int]] = {Outcome.SUCCESS: (0, 0), Outcome.FAIL_INVALID: (1, 0),
                                                   Outcome.FAIL_VALID: (0, 1)}
    if outcome == Outcome.FAULT:
        if record.vector is None:
            return f"vmx insn={record.insn} outcome=fault without a vector"
    elif outcome in expected:
        if (cf, zf) == (None, None):  # the stub's vmwrite record carries no flags
            return None
        if (cf, zf) != expected[outcome]:
            return f"vmx insn={record.insn} outcome={outcome} with cf={cf} zf={zf}"
        if record.eflags is not None and (_CF.get(record.eflags), _ZF.get(record.eflags)) != (cf, zf):
            return f"vmx insn={record.insn}: eflags={record.eflags:#x} disagrees with cf={cf} zf={zf}"
    else:
        return f"vmx insn={record.insn} with an unknown outcome {outcome!r}"
    return None


class _Walk:
    """One CPU's facts, walked in the stub's order."""

    def __init__(self, report: Report, cpu: CpuReport) -> None:
        self.report, self.cpu = report, cpu
        self.contradictions: list[str] = []
        config = report.config
        # An injection acts on one CPU only (inject_cpu, the boot CPU by default): the others' facts are plain.
        targeted = config is not None and cpu.index == (config.inject_cpu or 0)
        self.inject = config.inject if config is not None and targeted else None
        self.mode = report.config.mode if report.config and report.config.mode else Mode.FULL

    def contradict(self, text: str) -> None:
        self.contradictions.append(text)

    def check(self, name: str) -> tuple[str | None, dict]:
        record = self.cpu.check(name)
        return (record.result, dict(record.values)) if record else (None, {})

    def agree(self, name: str, passed: bool, facts: str) -> None:
        """The check record, when there is one, must say what the raw facts say."""
        result, _ = self.check(name)
        if result is None:
            return
        if result == CheckResult.FAIL and passed or result in (CheckResult.PASS, CheckResult.ADJUST) and not passed:
            self.contradict(f"check name={name} result={result} but {facts}")

    def msr_read(self, index: int, phase: str) -> int:
        reads = [r for r in self.cpu.msrs if r.index == index and r.phase == phase]
        if not reads:
            raise _stopped(f"reading {msr.NAMES.get(index, hex(index))}")
        if reads[0].fault is not None or reads[0].value is None:
            raise _decide(Verdict.FAULT, f"reading {msr.NAMES.get(index, hex(index))} raised vector "
                                         f"{reads[0].fault}")
        return reads[0].value

    # -- the path (stage/vmx/probe.c) ---------------------------------------------------------------

    def walk(self) -> Derivation:
        try:
            self.exceptions()
            self.cpuid_vmx()
            self.feature_control()
            self.vmxe_free()
            self.vmx_basic()
            self.fixed_bits()
            self.vmxon()
        except _Decided as decided:
            return Derivation(decided.verdict, decided.why, self.contradictions)
        return Derivation(Verdict.VMX_READY, "every fact passed", self.contradictions)

    def exceptions(self) -> None:
        if self.cpu.exceptions:
            raise _decide(Verdict.FAULT, f"exception vector={self.cpu.exceptions[0].vector}")

    def cpuid_vmx(self) -> None:
        leaf = self.cpu.cpuid_leaf(CPUID_LEAF_FEATURES)
        if leaf is None:
            raise _stopped("the CPU's identity: no cpuid leaf=0x00000001 record")
        vmx = _VMX.is_set(leaf.ecx)
        self.agree(Check.CPUID_VMX, vmx, f"CPUID.1:ECX.VMX is {int(vmx)}")
        _, values = self.check(Check.HYPERVISOR_PRESENT)
        if values.get("value") not in (None, int(_HYPERVISOR.is_set(leaf.ecx))):
            self.contradict(f"check name={Check.HYPERVISOR_PRESENT} value={values.get('value')} but "
                            f"CPUID.1:ECX[31] is {int(_HYPERVISOR.is_set(leaf.ecx))}")
        if not vmx:
            raise _decide(Verdict.NO_VMX, "CPUID.1:ECX.VMX is 0")

    def feature_control(self) -> None:
        value = self.msr_read(msr.IA32_FEATURE_CONTROL, MsrPhase.LOADER)
        _, values = self.check(Check.FEATURE_CONTROL)
        state = values.get("state")
        if _LOCK.is_set(value):
            enabled = _OUTSIDE_SMX.is_set(value)
            self.agree(Check.FEATURE_CONTROL, enabled, f"IA32_FEATURE_CONTROL is {value:#x}")
            wanted = FeatureControlState.ENABLED_BY_FIRMWARE if enabled else FeatureControlState.DISABLED_BY_FIRMWARE
            if state is not None and state != wanted:
                self.contradict(f"check name={Check.FEATURE_CONTROL} state={state} but the MSR is {value:#x} (locked)")
            if not enabled:
                raise _decide(Verdict.VMX_DISABLED_BY_FIRMWARE, f"IA32_FEATURE_CONTROL is {value:#x}: locked, "
                                                                "VMX outside SMX off")
            return
        writes = [w for w in self.cpu.msr_writes if w.index == msr.IA32_FEATURE_CONTROL]
        if not writes:
            raise _stopped("IA32_FEATURE_CONTROL was read unlocked")
        if writes[0].fault is not None:
            # Unlocked, but the firmware (or SMM, or a hypervisor) refuses the write: VT-x stays off.
            self.agree(Check.FEATURE_CONTROL, False, f"writing IA32_FEATURE_CONTROL raised vector {writes[0].fault}")
            if state is not None and state != FeatureControlState.WRITE_FAULTED:
                self.contradict(f"check name={Check.FEATURE_CONTROL} state={state} but writing the MSR raised "
                                f"vector {writes[0].fault}")
            raise _decide(Verdict.VMX_DISABLED_BY_FIRMWARE, f"writing the unlocked IA32_FEATURE_CONTROL raised "
                                                            f"vector {writes[0].fault}")
        after = self.msr_read(msr.IA32_FEATURE_CONTROL, MsrPhase.AFTER_WRITE)
        enabled = _LOCK.is_set(after) and _OUTSIDE_SMX.is_set(after)
        self.agree(Check.FEATURE_CONTROL, enabled, f"IA32_FEATURE_CONTROL is {after:#x} after the write")
        wanted = FeatureControlState.ENABLED_BY_STUB if enabled else FeatureControlState.WRITE_IGNORED
        if state is not None and state != wanted:
            self.contradict(f"check name={Check.FEATURE_CONTROL} state={state} but the MSR went from {value:#x} "
                            f"to {after:#x}")
        if not enabled:
            raise _decide(Verdict.VMX_DISABLED_BY_FIRMWARE, f"IA32_FEATURE_CONTROL is {after:#x} after the write")

    def vmxe_free(self) -> None:
        result, values = self.check(Check.CR4_VMXE_FREE)
        cr4 = values.get("cr4")
        if result is None or not isinstance(cr4, int):
            raise _stopped("the feature-control check")
        loader = self.cpu.registers("loader")
        if loader is not None and loader.cr4 is not None and loader.cr4 != cr4 and self.inject != Inject.VMXE_PRESET:
            self.contradict(f"check name={Check.CR4_VMXE_FREE} cr4={cr4:#x} but the loader's CR4 was "
                            f"{loader.cr4:#x}")
        taken = _VMXE.is_set(cr4)
        self.agree(Check.CR4_VMXE_FREE, not taken, f"CR4.VMXE is {int(taken)} in cr4={cr4:#x}")
        if taken:
            raise _decide(Verdict.VMX_IN_USE, f"CR4.VMXE was set (cr4={cr4:#x})")

    def vmx_basic(self) -> None:
        basic = self.msr_read(msr.IA32_VMX_BASIC, MsrPhase.LOADER)
        size = _REGION_SIZE.get(basic)
        _, values = self.check(Check.VMX_BASIC)
        if values.get("region_size") not in (None, size):
            self.contradict(f"check name={Check.VMX_BASIC} region_size={values.get('region_size')} but "
                            f"IA32_VMX_BASIC says {size}")
        usable = 0 < size <= MAX_REGION_SIZE
        self.agree(Check.VMX_BASIC, usable, f"IA32_VMX_BASIC's region size is {size}")
        if not usable:
            raise _decide(Verdict.VMXON_FAILED, f"IA32_VMX_BASIC asks for a {size}-byte region")

    def fixed_bits(self) -> None:
        fixed = {i: self.msr_read(i, MsrPhase.LOADER) for i in (msr.IA32_VMX_CR0_FIXED0, msr.IA32_VMX_CR0_FIXED1,
                                                                msr.IA32_VMX_CR4_FIXED0, msr.IA32_VMX_CR4_FIXED1)}
        _, values = self.check(Check.CR0_PE_NE_PG)
        cr0 = values.get("cr0")
        if not isinstance(cr0, int):
            raise _stopped("the CR fixed-bit MSRs")
        wanted = (cr0 | fixed[msr.IA32_VMX_CR0_FIXED0]) & fixed[msr.IA32_VMX_CR0_FIXED1]
        if _PG.is_set(wanted) and not _PG.is_set(cr0):
            raise _decide(Verdict.VMXON_FAILED, "VMX needs CR0.PG, and paging was refused")

    def vmxon(self) -> None:
        for record in self.cpu.vmx:
            if problem := _instruction_problem(record):
                self.contradict(problem)
        ons = self.cpu.instructions(Insn.VMXON)
        if not ons:
            raise _stopped("the CR fixed bits: no vmx insn=vmxon record")
        if not ons[0].succeeded:
            raise _decide(Verdict.VMXON_FAILED, f"VMXON {ons[0].outcome}")
        # The stub's precedence: a failed VMXOFF, then a second VMXON, then the guest.
        offs = self.cpu.instructions(Insn.VMXOFF)
        if not offs:
            raise _stopped("VMXON: no vmx insn=vmxoff record")
        if not offs[0].succeeded:
            raise _decide(Verdict.VMXON_FAILED, f"VMXOFF {offs[0].outcome}")
        if len(ons) > 1:
            raise _decide(Verdict.VMXON_FAILED, f"a second VMXON ({ons[1].outcome})")
        if self.mode != Mode.VMXON:
            self.control_msrs()
        if (guest := self.guest_problem()) is not None:
            raise _decide(Verdict.VMENTRY_FAILED, guest)
        if len(offs) > 1:
            self.contradict(f"{len(offs)} VMXOFF records")

    def control_msrs(self) -> None:
        """A control word's capability MSR that faulted, with no plain MSR to fall back on, stops the probe."""
        for word in self.cpu.controls:
            if word.fault is not None and Key.FALLBACK not in word.raw:
                name = msr.NAMES.get(word.msr, hex(word.msr)) if word.msr is not None else "?"
                raise _decide(Verdict.FAULT, f"reading {name} for the {word.name} controls raised vector "
                                             f"{word.fault}")

    def guest_problem(self) -> str | None:
        """Why the guest did not run as designed (None: it did), from its VMX records and exits."""
        cpu = self.cpu
        guest_records = cpu.instructions(Insn.VMCLEAR) + cpu.instructions(Insn.VMPTRLD) or cpu.exits \
            or cpu.guest_trace
        if self.mode == Mode.VMXON:
            if guest_records:
                self.contradict("mode=vmxon but the report holds guest records")
            return None
        for insn in (Insn.VMCLEAR, Insn.VMPTRLD):
            failed = [r for r in cpu.instructions(insn) if not r.succeeded]
            if failed:
                return f"{insn.upper()} {failed[0].outcome}"
        for insn in (Insn.VMWRITE, Insn.VMLAUNCH, Insn.VMRESUME):  # written only when they failed
            if cpu.instructions(insn):
                return f"{insn.upper()} {cpu.instructions(insn)[0].outcome}"
        if cpu.entry_failure is not None:
            return f"VM entry failed (exit reason {cpu.entry_failure.reason})"
        if not cpu.instructions(Insn.VMPTRLD) or cpu.guest_trace is None:
            raise _stopped("VMXON: no vmx insn=vmptrld or guest-trace record")
        reasons = tuple(e.reason for e in cpu.exits)
        exact = reasons == guest_abi.EXPECTED_EXIT_NUMBERS and cpu.vmcall_value == guest_abi.GUEST_VMCALL_VALUE
        io = [e.qualification for e in cpu.exits if e.reason == guest_abi.EXPECTED_EXITS[1].number]
        if exact and not (io and io[0] is not None and io[0] & _IO_SIZE == 0 and not io[0] & _IO_IN
                          and io[0] >> _IO_PORT_SHIFT == guest_abi.GUEST_TEST_PORT):
            exact = False
        if cpu.guest_trace.expected != exact:
            self.contradict(f"guest-trace expected={'yes' if cpu.guest_trace.expected else 'no'} but the exits "
                            f"are {reasons} with VMCALL value {cpu.vmcall_value!r}")
        entries = len(cpu.exits) + (cpu.entry_failure is not None)
        if cpu.guest_trace.exits is not None and cpu.guest_trace.exits != entries:
            self.contradict(f"guest-trace exits={cpu.guest_trace.exits} but {len(cpu.exits)} exit records")
        if not exact:
            return f"exit trace {reasons}, VMCALL value {cpu.vmcall_value!r}"
        return None


def derive(report: Report, cpu: CpuReport | None = None) -> Derivation:
    """The verdict one CPU's raw facts give (the boot CPU by default), and what contradicts itself; an AMD-V
    CPU's facts are walked by derive_svm, an AP's section that ended unresponsive or timed out gives
    Verdict.UNRESPONSIVE (its end record is the raw fact)."""
    cpu = cpu or report.boot_cpu
    if cpu.status in (CpuStatus.UNRESPONSIVE, CpuStatus.TIMEOUT):
        return _unanswered(cpu)
    if technology(cpu) is Technology.SVM:
        from .derive_svm import SvmWalk  # it builds on this module's walk
        walk: _Walk = SvmWalk(report, cpu)
    else:
        walk = _Walk(report, cpu)
    derivation = walk.walk()
    if derivation.verdict.ready:
        derivation.contradictions += _ready_problems(walk)
    return derivation


#: A CPU's own records (a CPU that never joined has none).
_OWN_RECORDS = ("cpuid", "msrs", "msr_writes", "control_registers", "steps", "checks", "vmx", "controls", "exits",
                "exceptions", "svm_instructions", "svm_exits")


def _unanswered(cpu: CpuReport) -> Derivation:
    """An AP that never reached the stub's code (status=unresponsive) or did not finish in time (timeout)."""
    problems = []
    if cpu.index == 0:
        problems.append(f"the boot CPU's section ends with status={cpu.status}, but the boot CPU wrote the report")
    if cpu.status == CpuStatus.UNRESPONSIVE:
        why = "it did not reach the stub's code after INIT-SIPI-SIPI"
        held = sum(len(getattr(cpu, name)) for name in _OWN_RECORDS)
        if held:
            problems.append(f"CPU {cpu.index} never joined (status={cpu.status}) but its section holds {held} of its "
                            "records")
        if cpu.join_us is not None:
            problems.append(f"CPU {cpu.index} never joined (status={cpu.status}) but has join_us={cpu.join_us}")
    else:
        joined = f" after {cpu.join_us} us" if cpu.join_us is not None else ""
        why = f"it joined{joined} but did not finish its checks in time" + \
            (f" (it was in step {cpu.end_step})" if cpu.end_step else "")
    return Derivation(Verdict.UNRESPONSIVE, why, problems)


#: The boot CPU's steps for the whole machine (outside every section): not part of its own checks.
_MACHINE_STEPS = (Step.CPU_DISCOVERY, Step.AP_START)


def _ready_problems(walk: _Walk) -> list[str]:
    """What a ready run cannot hold: a failed step or check, a region with another revision than IA32_VMX_BASIC."""
    cpu, problems = walk.cpu, []
    steps = [s for s in cpu.steps if s.name not in _MACHINE_STEPS]
    problems += [f"step name={s.name} state=fail in a run whose facts all pass"
                 for s in cpu.steps if s.state == StepState.FAIL][:1]   # the machine's steps too: they never fail
    last = {s.name: s.state for s in steps if s.name in tuple(Step)}
    problems += [f"step name={name} state={state} is its last record in a run whose facts all pass"
                 for name, state in last.items() if state not in (StepState.OK, StepState.FAIL)][:1]
    problems += [f"check name={c.name} result={c.result} in a run whose facts all pass" for c in cpu.checks
                 if c.result not in (CheckResult.PASS, CheckResult.INFO, CheckResult.ADJUST)][:1]
    basic = cpu.msr(msr.IA32_VMX_BASIC, MsrPhase.LOADER)
    revision = bit_named(msr.VMX_BASIC_FIELDS, "revision").get(basic) if basic is not None else None
    _, values = walk.check(Check.VMX_BASIC)
    if values.get("revision") not in (None, revision):
        problems.append(f"check name={Check.VMX_BASIC} revision={values.get('revision')} but IA32_VMX_BASIC says "
                        f"{revision!r}")
    for name, region in (("vmxon-region", cpu.vmxon_region), ("vmcs-region", cpu.vmcs_region)):
        if region is not None and region.revision != revision:
            problems.append(f"{name} revision={region.revision!r} but IA32_VMX_BASIC says {revision!r}, and the "
                            "VMX instructions on it succeeded")
    return problems
