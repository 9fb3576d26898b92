"""What to do about an AMD-V verdict (the VT-x ones are in advice.py): short, actionable lines for people."""

from __future__ import annotations

from ..arch import exceptions, svm
from ..contract.records import VmCrState
from ..decode.facts import CpuFacts
from ..decode.svm import svm_trace_problem
from .advice_text import KVM_SIGNATURE, NESTED_BY_HYPERVISOR, NESTED_CLOUD, NESTED_KVM_AMD, REPORT_BUG

TCG = "TCGTCGTCGTCG"
SVM_FIRMWARE_SETUP = ("enable 'SVM Mode' (AMD-V; often under Advanced > CPU Configuration) in the firmware setup "
                      "(BIOS/UEFI), save, then power the machine off and on again: VM_CR stays locked until a reset")


def _nested(facts: CpuFacts) -> list[str]:
    """How to expose AMD-V to this virtual machine, per hypervisor vendor."""
    vendor = facts.identity.hypervisor_vendor or ""
    if vendor == TCG:
        return ["QEMU's TCG gives AMD-V only to the CPU models that have it (`bootgen models --backend qemu`): "
                "use `--cpu max` (the default), `EPYC` or `qemu64`"]
    lines = [f"this machine is a virtual machine (hypervisor: {vendor or 'unknown'}) that does not pass AMD-V "
             "through: enable nested virtualization on the host"]
    specific = NESTED_BY_HYPERVISOR.get(vendor)
    lines.append(specific if specific and vendor != KVM_SIGNATURE else NESTED_KVM_AMD)
    return lines + [NESTED_CLOUD]


def svm_ready(facts: CpuFacts, detail: dict) -> list[str]:
    if facts.identity.hypervisor_vendor == TCG:
        return ["AMD-V as QEMU's TCG emulates it works: this proves the image and the emulator, not this machine's "
                "CPU; for the CPU itself run `--accel kvm --cpu host` (nested SVM or VMX) or boot the image on it"]
    lines = ["nothing to do: AMD-V works here, a hypervisor (KVM, Xen, Hyper-V, VMware, VirtualBox) can use it"]
    if facts.identity.hypervisor:
        lines.append(f"tested through a hypervisor ({facts.identity.hypervisor_vendor or 'unknown'}, nested "
                     "AMD-V): the features are those the host exposes, not the silicon's")
    check = facts.cpu.check("vm-cr")
    if check is not None and check.name_value("state") == VmCrState.ENABLED_BY_STUB:
        lines.append("the firmware left VM_CR.SVMDIS set but unlocked and the stub cleared it; enabling SVM Mode in "
                     "the firmware setup makes that unnecessary")
    if facts.svm_capabilities is not None and not facts.svm_capabilities.features.get("np"):
        lines.append("no nested paging (NPT): hypervisors fall back to shadow paging (slow) or refuse to start")
    return lines


def no_svm(facts: CpuFacts, detail: dict) -> list[str]:
    if facts.identity.hypervisor:
        return _nested(facts)
    return ["this AMD CPU does not report AMD-V (CPUID Fn8000_0001_ECX.SVM = 0): check the processor's "
            "specification for 'AMD Virtualization (AMD-V)'",
            "some firmware hides it when SVM Mode is off: " + SVM_FIRMWARE_SETUP]


def svm_disabled_by_firmware(facts: CpuFacts, detail: dict) -> list[str]:
    if facts.identity.hypervisor:
        return [f"the hypervisor ({facts.identity.hypervisor_vendor or 'unknown'}) disables AMD-V for this virtual "
                "machine (VM_CR.SVMDIS)", *_nested(facts)[1:]]
    lines = [SVM_FIRMWARE_SETUP]
    if detail.get("vector") is not None:
        lines.append(f"setting EFER.SVME raised {exceptions.describe(detail['vector'])}: SVM is disabled (VM_CR."
                     "SVMDIS) even where VM_CR reads otherwise")
    lines.append("if the setting is missing, update the firmware; some vendors hide it on locked-down models")
    return lines


def svm_in_use(facts: CpuFacts, detail: dict) -> list[str]:
    lines = ["another hypervisor already holds AMD-V (EFER.SVME was set when the stub started)",
             "boot bootgen directly from the firmware (USB stick or CD), not chained from a running OS or a boot "
             "manager that starts a hypervisor"]
    if facts.identity.hypervisor:
        lines.append(f"under a hypervisor ({facts.identity.hypervisor_vendor or 'unknown'}), EFER.SVME set in the "
                     "guest is the hypervisor's doing: report it to its vendor")
    return lines


def vmrun_failed(facts: CpuFacts, detail: dict) -> list[str]:
    lines = ["EFER.SVME could be set, so AMD-V is there; bootgen's test guest did not run"]
    vector, code = detail.get("vector"), detail.get("code")
    if vector == exceptions.UD:
        lines.append("VMRUN raised #UD: EFER.SVME was clear, or the CPU (or the hypervisor emulating it) does "
                     "not implement VMRUN")
    elif vector == exceptions.GP:
        lines.append("VMRUN raised #GP: its VMCB address is not 4 KiB aligned or lies beyond the physical "
                     "address width (AMD APM Vol. 2, 15.5)")
    elif vector is not None:
        lines.append(f"VMRUN raised {exceptions.describe(vector)}")
    elif code == svm.EXIT_INVALID:
        lines.append("VMRUN refused the VMCB (VMEXIT_INVALID): it failed the consistency checks of AMD APM Vol. 2, "
                     "15.5.1 (ASID 0, the VMRUN intercept clear, the guest's EFER.SVME clear, illegal CR0, CR3, CR4 "
                     "or EFER)")
    elif problem := svm_trace_problem(facts.cpu):
        lines[0] = "EFER.SVME could be set and the test guest ran, but not as designed"
        lines.append(f"the guest ran, but {problem}")
    if facts.identity.hypervisor:
        lines.append(f"AMD-V here is nested ({facts.identity.hypervisor_vendor or 'unknown'}): this points at the "
                     "hypervisor's SVM emulation; try a newer host kernel or hypervisor")
    return lines + [REPORT_BUG]
