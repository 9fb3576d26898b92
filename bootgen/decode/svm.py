"""AMD-V facts of one CPU's report: which technology it was tested with, the SVM features by name, VM_CR,
the guest's #VMEXITs (AMD APM Vol. 2, chapter 15; Vol. 3, E.4.9)."""

from __future__ import annotations

from dataclasses import dataclass

from ..arch import msr, registers, svm
from ..arch.bits import bit_named
from ..contract import guest as guest_abi
from ..contract.records import MsrPhase, Step, Technology
from ..report.model import CpuReport
from .cpu import SVM_VENDORS, _regs_text

_VMX = bit_named(registers.CPUID1_ECX_BITS, "vmx")
_SVM = bit_named(svm.EXTENDED_FEATURES_ECX_BITS, "svm")
#: VM_CR.SVMDIS, VM_CR.LOCK and EFER.SVME, for every reader of the AMD-V facts.
SVMDIS, LOCK = bit_named(svm.VM_CR_BITS, "svmdis"), bit_named(svm.VM_CR_BITS, "lock")
SVME = bit_named(msr.EFER_BITS, "svme")


def technology(cpu: CpuReport) -> Technology:
    """The path the stub took: the one its steps name (a log from a stub without AMD-V took the VT-x path on
    every CPU); before any step, the stub's rule (stage/probe/probe.c): VT-x where CPUID.1:ECX.VMX says so,
    else AMD-V on an AMD or Hygon CPU, else VT-x (whose answer is then no-vmx)."""
    names = {s.name for s in cpu.steps}
    if Step.CPUID_SVM in names:
        return Technology.SVM
    if Step.CPUID_VMX in names:
        return Technology.VMX
    leaf1 = cpu.cpuid_leaf(registers.CPUID_LEAF_FEATURES)
    if leaf1 is not None and _VMX.is_set(leaf1.ecx):
        return Technology.VMX
    leaf0 = cpu.cpuid_leaf(registers.CPUID_LEAF_VENDOR)
    if leaf0 is not None and _regs_text(leaf0.ebx, leaf0.edx, leaf0.ecx) in SVM_VENDORS:
        return Technology.SVM
    return Technology.VMX


def svm_bit(cpu: CpuReport) -> bool | None:
    """CPUID Fn8000_0001_ECX.SVM; False when the CPU has no such leaf; None when the report does not say."""
    top = cpu.cpuid_leaf(registers.CPUID_LEAF_EXTENDED_MAX)
    if top is not None and top.eax < svm.CPUID_LEAF_EXTENDED_FEATURES:
        return False
    leaf = cpu.cpuid_leaf(svm.CPUID_LEAF_EXTENDED_FEATURES)
    return None if leaf is None else _SVM.is_set(leaf.ecx)


@dataclass(frozen=True)
class SvmCapabilities:
    """CPUID Fn8000_000A: the SVM revision, the number of ASIDs and every feature bit, by name."""

    revision: int
    asids: int
    features: dict[str, bool]

    def as_json(self) -> dict:
        return {"revision": self.revision, "asids": self.asids, "features": dict(self.features),
                "feature_names": {b.key: b.name for b in svm.SVM_FEATURE_BITS}}


def svm_capabilities(cpu: CpuReport) -> SvmCapabilities | None:
    leaf = cpu.cpuid_leaf(svm.CPUID_LEAF_SVM)
    if leaf is None:
        return None
    return SvmCapabilities(revision=leaf.eax & svm.SVM_REVISION_MASK, asids=leaf.ebx,
                           features={b.key: b.is_set(leaf.edx) for b in svm.SVM_FEATURE_BITS})


def vm_cr(cpu: CpuReport) -> dict | None:
    """VM_CR as read (absent when the read raised #GP), and after the stub's write when it wrote one."""
    reads = [r for r in cpu.msrs if r.index == svm.VM_CR]
    if not reads:
        return None
    first = reads[0]
    out: dict = {"absent": first.fault is not None, "value": first.value}
    if first.value is not None:
        out |= {"svmdis": SVMDIS.is_set(first.value), "lock": LOCK.is_set(first.value)}
    after = [r for r in reads if r.phase == MsrPhase.AFTER_WRITE]
    if after and after[-1].value is not None:
        out["after_write"] = after[-1].value
    check = cpu.check("vm-cr")
    if check is not None:
        out["state"] = check.name_value("state")
    return out


def efer_svme(cpu: CpuReport) -> bool | None:
    value = cpu.msr(msr.IA32_EFER, MsrPhase.LOADER)
    return None if value is None else SVME.is_set(value)


def svm_guest(cpu: CpuReport) -> dict | None:
    """The JSON ``guest`` object under AMD-V: the #VMEXIT trace, the VMMCALL value, the VMCB's choices."""
    if cpu.vmcb is None and not cpu.svm_exits and not cpu.svm_instructions:
        return None
    exits = [{"code": e.code, "name": svm.exit_code_name(e.code) if e.code is not None else "unreadable",
              "exitinfo1": e.info1, "exitinfo2": e.info2, "rip": e.rip, "next_rip": e.next_rip}
             for e in cpu.svm_exits]
    out: dict = {"exits": exits, "vmcall_value": cpu.vmcall_value,
                 "expected_trace": bool(cpu.guest_trace and cpu.guest_trace.expected)}
    if cpu.vmcb is not None:
        out["nested_paging"] = cpu.vmcb.nested_paging
        out["nrip_save"] = cpu.vmcb.nrip_save
        out["asid"] = cpu.vmcb.asid
    if faults := cpu.svm_instructions:
        out["vmrun_fault"] = {"vector": faults[0].vector, "error_code": faults[0].error_code}
    return out


def svm_trace_problem(cpu: CpuReport) -> str | None:
    """Why the guest's #VMEXIT trace is not the one its ABI promises (None when it is)."""
    codes = tuple(e.code for e in cpu.svm_exits)
    if codes != guest_abi.EXPECTED_SVM_EXIT_CODES:
        names = ", ".join(svm.exit_code_name(c) if c is not None else "?" for c in codes) or "none"
        return f"#VMEXITs {names}, expected CPUID, IOIO, VMMCALL, HLT"
    io = cpu.svm_exits[1].info1
    if io is None or io & svm.IOIO_TYPE_IN or not io & svm.IOIO_SIZE8 or \
            io >> svm.IOIO_PORT_SHIFT & 0xFFFF != guest_abi.GUEST_TEST_PORT:
        return f"the IOIO #VMEXIT's EXITINFO1 {io!r} is not an 8-bit OUT to port {guest_abi.GUEST_TEST_PORT:#x}"
    if cpu.vmcall_value != guest_abi.GUEST_VMCALL_VALUE:
        return f"VMMCALL value {cpu.vmcall_value!r}, expected {guest_abi.GUEST_VMCALL_VALUE:#x}"
    return None
