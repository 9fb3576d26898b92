"""The host's own verdict for a CPU tested with AMD-V, derived from the raw facts (see derive.py).

The walk follows stage/svm/probe.c, after the AMD APM Vol. 2, 15.4 "Enabling
SVM": CPUID Fn8000_0001_ECX.SVM, VM_CR as read and as written (15.30.1),
EFER.SVME as the loader left it, the EFER and VM_HSAVE_PA writes, the VMCB,
VMRUN's exceptions, the guest's #VMEXIT trace and VMMCALL value, and clearing
EFER.SVME. Each ``check`` record must agree with the raw values it summarizes.
"""

from __future__ import annotations

from ..arch import msr, svm
from ..contract.options import Mode
from ..contract.records import Check, MsrPhase
from ..contract.verdicts import Verdict
from ..decode.svm import LOCK, SVMDIS, SVME, svm_bit, svm_trace_problem
from .derive import Derivation, _decide, _Decided, _stopped, _Walk


class SvmWalk(_Walk):
    """One CPU's AMD-V facts, walked in the stub's order."""

    def walk(self) -> Derivation:
        try:
            self.exceptions()
            self.cpuid_svm()
            self.vm_cr()
            efer = self.svme_free()
            self.enable(efer)
            if self.mode != Mode.VMXON:
                self.guest()
            elif self.cpu.vmcb is not None or self.cpu.svm_exits:
                self.contradict("mode=vmxon but the report holds a VMCB or #VMEXITs")
            self.disable(efer)
        except _Decided as decided:
            return Derivation(decided.verdict, decided.why, self.contradictions)
        return Derivation(Verdict.SVM_READY, "every fact passed", self.contradictions)

    def cpuid_svm(self) -> None:
        present = svm_bit(self.cpu)
        if present is None:
            raise _stopped("the CPU's identity: no cpuid leaf=0x80000001 record")
        self.agree(Check.CPUID_SVM, present, f"CPUID Fn8000_0001_ECX.SVM is {int(present)}")
        if not present:
            raise _decide(Verdict.NO_SVM, "CPUID Fn8000_0001_ECX.SVM is 0")

    def vm_cr(self) -> None:
        reads = [r for r in self.cpu.msrs if r.index == svm.VM_CR]
        if not reads:
            raise _stopped("CPUID: no msr index=0xc0010114 (VM_CR) record")
        if reads[0].fault is not None:
            self.agree(Check.VM_CR, True, "VM_CR does not exist")
            return
        final = reads[-1].value
        if final is None:
            raise _stopped("reading VM_CR")
        disabled = SVMDIS.is_set(final)
        self.agree(Check.VM_CR, not disabled, f"VM_CR is {final:#x}")
        if disabled:
            locked = "locked" if LOCK.is_set(final) else "and clearing it did not stick"
            raise _decide(Verdict.SVM_DISABLED_BY_FIRMWARE, f"VM_CR.SVMDIS is set ({final:#x}, {locked})")

    def svme_free(self) -> int:
        efer = self.msr_read(msr.IA32_EFER, MsrPhase.LOADER)
        taken = SVME.is_set(efer)
        self.agree(Check.EFER_SVME_FREE, not taken, f"EFER is {efer:#x}")
        if taken:
            raise _decide(Verdict.SVM_IN_USE, f"EFER.SVME was set ({efer:#x})")
        return efer

    def _efer_writes(self) -> list:
        return [w for w in self.cpu.msr_writes if w.index == msr.IA32_EFER]

    def enable(self, efer: int) -> None:
        sets = [w for w in self._efer_writes() if w.value is not None and SVME.is_set(w.value)]
        if not sets:
            raise _stopped("EFER.SVME was found clear: no msr-write of EFER with SVME")
        if sets[0].fault is not None:
            raise _decide(Verdict.SVM_DISABLED_BY_FIRMWARE, f"setting EFER.SVME raised vector {sets[0].fault}")
        hsave = [w for w in self.cpu.msr_writes if w.index == svm.VM_HSAVE_PA]
        if not hsave:
            raise _stopped("EFER.SVME: no msr-write of VM_HSAVE_PA")
        if hsave[0].fault is not None:
            raise _decide(Verdict.FAULT, f"writing VM_HSAVE_PA raised vector {hsave[0].fault}")

    def guest(self) -> None:
        cpu = self.cpu
        if cpu.vmcb is None:
            raise _stopped("EFER.SVME and VM_HSAVE_PA: no vmcb record")
        if cpu.svm_instructions:
            fault = cpu.svm_instructions[0]
            raise _decide(Verdict.VMRUN_FAILED, f"{(fault.insn or 'vmrun').upper()} raised vector {fault.vector}")
        if cpu.guest_trace is None:
            raise _stopped("the VMCB: no guest-trace record")
        if cpu.svm_exits and cpu.svm_exits[0].code == svm.EXIT_INVALID:
            raise _decide(Verdict.VMRUN_FAILED, "VMRUN refused the VMCB (VMEXIT_INVALID)")
        problem = svm_trace_problem(cpu)
        if cpu.guest_trace.expected != (problem is None):
            self.contradict(f"guest-trace expected={'yes' if cpu.guest_trace.expected else 'no'} but "
                            f"{problem or 'the trace is the expected one'}")
        if cpu.guest_trace.exits is not None and cpu.guest_trace.exits != len(cpu.svm_exits):
            self.contradict(f"guest-trace exits={cpu.guest_trace.exits} but {len(cpu.svm_exits)} svm-exit records")
        if problem is not None:
            raise _decide(Verdict.VMRUN_FAILED, problem)

    def disable(self, efer: int) -> None:
        clears = [w for w in self._efer_writes() if w.value is not None and not SVME.is_set(w.value)]
        if not clears:
            raise _stopped("the guest: no msr-write clearing EFER.SVME")
        if clears[-1].fault is not None:
            raise _decide(Verdict.FAULT, f"clearing EFER.SVME raised vector {clears[-1].fault}")
