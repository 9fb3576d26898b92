"""What to do about a verdict: short, actionable lines for people.

Each verdict (and the situation around it: a hypervisor underneath, an AMD CPU,
the firmware's IA32_FEATURE_CONTROL, the exact VMX failure) maps to a few lines
that say what to change. The lines go into the text output after the verdict
and into the JSON as ``advice``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import decode
from .capabilities import VmxCapabilities, decode_capabilities
from .protocol import ParsedReport
from .runners.base import Ending
from .verdicts import Verdict
from .vmx_tables import exit_reason_name, instruction_error_name

if TYPE_CHECKING:
    from .result import Result

NESTED_KVM_INTEL = ("on a KVM host: `modprobe -r kvm_intel; modprobe kvm_intel nested=1` (keep it with "
                    "`options kvm_intel nested=1` in /etc/modprobe.d/kvm.conf), then start the guest with "
                    "`-cpu host` (libvirt: <cpu mode='host-passthrough'/>)")
NESTED_CLOUD = ("in a cloud VM: choose the provider's nested-virtualization option (Google Cloud "
                "--enable-nested-virtualization, an Azure size that supports nested virtualization) or a "
                "bare-metal instance (AWS *.metal)")

#: Hypervisor vendor signatures (CPUID.40000000H:EBX:ECX:EDX) -> how to expose VT-x to the guest.
NESTED_BY_HYPERVISOR = {
    "KVMKVMKVM": NESTED_KVM_INTEL,
    "Microsoft Hv": "on Hyper-V: with the VM off, `Set-VMProcessor -VMName NAME -ExposeVirtualizationExtensions $true`",
    "VMwareVMware": "on VMware: with the VM off, enable 'Expose hardware assisted virtualization to the guest OS' "
                    "(vhv.enable = \"TRUE\")",
    "VBoxVBoxVBox": "on VirtualBox: with the VM off, `VBoxManage modifyvm NAME --nested-hw-virt on`",
    "XenVMMXenVMM": "on Xen: set nestedhvm=1 in the guest's configuration",
    "TCGTCGTCGTCG": "QEMU's TCG accelerator does not emulate VT-x: use `--accel kvm --cpu host` on a host with "
                    "nested VMX, or `--backend bochs` for an emulated VT-x CPU",
}

FIRMWARE_SETUP = ("enable 'Intel Virtualization Technology' (VT-x) in the firmware setup (BIOS/UEFI), save, then "
                  "power the machine off and on again: IA32_FEATURE_CONTROL stays locked until a reset")
REPORT_BUG = "if this persists, report it with the serial log (`--keep-log PATH`) and `--json` output"

_VECTOR_NAMES = {0: "#DE", 6: "#UD", 8: "#DF", 13: "#GP", 14: "#PF", 18: "#MC"}


def _vector(vector: int | None) -> str:
    return f"{_VECTOR_NAMES.get(vector, 'exception')} (vector {vector})" if vector is not None else "an exception"


def nested_advice(identity: decode.CpuIdentity) -> list[str]:
    """How to expose VT-x to this virtual machine, per hypervisor vendor."""
    vendor = identity.hypervisor_vendor
    lines = [f"this machine is a virtual machine (hypervisor: {vendor or 'unknown'}) that does not pass VT-x "
             "through: enable nested virtualization on the host"]
    specific = NESTED_BY_HYPERVISOR.get(vendor or "")
    if specific:
        lines.append(specific)
    else:
        lines.extend([NESTED_KVM_INTEL, NESTED_CLOUD])
    if vendor == "KVMKVMKVM":
        lines.append(NESTED_CLOUD)
    return lines


def _no_vmx(parsed: ParsedReport) -> list[str]:
    identity = decode.cpu_identity(parsed)
    lines: list[str] = []
    if identity.svm_capable_vendor:
        lines.append("AMD CPUs use AMD-V (SVM), which bootgen does not test yet; for AMD-V, enable "
                     "'SVM Mode' in the firmware setup")
        if identity.hypervisor:
            vendor = identity.hypervisor_vendor or ""
            if vendor in NESTED_BY_HYPERVISOR and vendor != "KVMKVMKVM":
                lines.append(NESTED_BY_HYPERVISOR[vendor])
            else:
                lines.append("on a KVM host with an AMD CPU, nested AMD-V needs `kvm_amd nested=1` and `-cpu host`")
        return lines
    if identity.hypervisor:
        return nested_advice(identity)
    lines.append("this CPU does not report VT-x (CPUID.1:ECX.VMX = 0): check the processor's specification "
                 "for 'Intel Virtualization Technology (VT-x)'")
    lines.append("if it should have VT-x, update the firmware and look for the VT-x setting in its setup")
    return lines


def _disabled_by_firmware(parsed: ParsedReport) -> list[str]:
    identity = decode.cpu_identity(parsed)
    fc = decode.feature_control(parsed) or {}
    loader = fc.get("loader", {})
    if identity.hypervisor:
        lines = [f"the hypervisor ({identity.hypervisor_vendor or 'unknown'}) locks IA32_FEATURE_CONTROL with "
                 "VMX off for this virtual machine: enable nested virtualization on the host"]
        return lines + nested_advice(identity)[1:]
    lines = [FIRMWARE_SETUP]
    if "after_write" in fc:
        lines.append("IA32_FEATURE_CONTROL was unlocked but writing it did not enable VMX: the firmware or "
                     "SMM blocks the write; enable VT-x in the firmware setup instead")
    elif loader.get("vmx_inside_smx") and not loader.get("vmx_outside_smx"):
        lines.append("the firmware enabled VMX only inside SMX (Intel TXT): enable VT-x itself, not only TXT")
    lines.append("if the setting is missing or greyed out, update the firmware; some vendors hide it on "
                 "locked-down models")
    return lines


def _in_use(parsed: ParsedReport) -> list[str]:
    identity = decode.cpu_identity(parsed)
    lines = ["another hypervisor or VMM already holds VT-x (CR4.VMXE was set when the stub started)",
             "boot bootgen directly from the firmware (USB stick or CD), not chained from a running OS or a "
             "boot manager that starts a hypervisor (Windows with Hyper-V/VBS, tboot, a firmware hypervisor)"]
    if identity.hypervisor:
        lines.append(f"under a hypervisor ({identity.hypervisor_vendor or 'unknown'}), CR4.VMXE set in the guest "
                     "is the hypervisor's doing: report it to its vendor")
    return lines


def _vmxon_failed(parsed: ParsedReport, detail: dict) -> list[str]:
    insn = str(detail.get("insn", "vmxon")).upper()
    lines: list[str] = []
    if "region_size" in detail and "cf" not in detail:
        return [f"IA32_VMX_BASIC reports a VMXON region of {detail['region_size']} bytes, which the stub cannot "
                "provide", REPORT_BUG]
    if detail.get("attempt") == 2:
        outcome = "VMfailInvalid (CF=1)" if detail.get("cf") else \
            f"VMfailValid (ZF=1), error {detail.get('insn_error')}" if detail.get("zf") else str(detail.get("outcome"))
        return [f"the first VMXON worked; a second VMXON in VMX root operation reported {outcome}, as it must "
                "(SDM Vol. 3C, VMXON: VMfailInvalid without a current VMCS, VMfailValid error 15 with one)"]
    if detail.get("vector") is not None:
        vector = detail["vector"]
        lines.append(f"{insn} raised {_vector(vector)}")
        if vector == 13:
            failing = [c.get("name") for c in parsed.of_type("check") if c.get("result") in ("fail", "adjust")]
            lines.append("#GP on VMXON means IA32_FEATURE_CONTROL does not allow VMXON outside SMX, CR0/CR4 "
                         "break the VMX fixed bits, or the VMXON pointer is invalid"
                         + (f" (see the checks {', '.join(str(f) for f in failing)})" if failing else ""))
        elif vector == 6:
            lines.append("#UD on VMXON means CR4.VMXE was not set or the CPU (or the hypervisor emulating it) does "
                         "not implement VMX in this mode")
    elif detail.get("cf"):
        lines.append(f"{insn} reported VMfailInvalid (CF=1): the VMXON pointer was rejected")
        region, basic = parsed.first("vmxon-region"), decode.vmx_basic(parsed)
        if region is not None and basic is not None and region.int("revision") != basic.revision:
            lines.append(f"the VMXON region's revision identifier {region.get('revision')} differs from "
                         f"IA32_VMX_BASIC's {basic.revision:#010x}")
        elif region is not None and (region.int("address", 0) or 0) & 0xFFF:
            lines.append(f"the VMXON region at {region.get('address')} is not 4-KiB aligned")
        else:
            lines.append("the region must be 4-KiB aligned, within the physical-address width, and start with "
                         "IA32_VMX_BASIC's revision identifier (SDM Vol. 3C, VMXON)")
    elif detail.get("zf"):
        error = detail.get("insn_error")
        lines.append(f"{insn} reported VMfailValid (ZF=1), VM-instruction error {error}: "
                     f"{instruction_error_name(error) if error is not None else 'not reported'}")
        if error == 15:
            lines.append("VMX was already on: another VMM runs in VMX root operation")
        elif error == 23:
            lines.append("VMXOFF is refused under the dual-monitor treatment of SMIs and SMM: the firmware's "
                         "SMM monitor is active")
    lines.append("if VT-x is enabled on real hardware, update the firmware (it carries the microcode); "
                 + REPORT_BUG.removeprefix("if this persists, "))
    return lines


def _refused_controls(parsed: ParsedReport) -> list[str]:
    return [f"{r.get('name')} refused {r.get('refused')}" for r in parsed.of_type("controls")
            if (r.int("refused", 0) or 0) != 0]


def _vmentry_failed(parsed: ParsedReport, detail: dict) -> list[str]:
    identity = decode.cpu_identity(parsed)
    lines = ["VMXON works, so VT-x is usable; bootgen's test guest did not run"]
    reason = detail.get("entry_failure_reason")
    error = detail.get("insn_error")
    if reason is not None:
        qualification = detail.get("qualification")
        lines.append(f"VM entry failed with exit reason {reason} ({exit_reason_name(reason)})"
                     + (f", qualification {qualification:#x}" if isinstance(qualification, int) else ""))
        if reason == 41:
            lines.append("a machine check during VM entry points at the hardware: check the machine-check log, "
                         "memory and CPU")
    elif error is not None:
        lines.append(f"VMLAUNCH/VMRESUME failed with VM-instruction error {error}: {instruction_error_name(error)}")
        if error == 7:
            refused = _refused_controls(parsed)
            lines.append("a control field is not allowed by the capability MSRs"
                         + (f" ({'; '.join(refused)})" if refused else ""))
    elif detail.get("cf"):
        lines.append("VMLAUNCH reported VMfailInvalid (CF=1): no current VMCS")
    elif "field" in detail:
        field = detail["field"]
        lines.append(f"VMWRITE to VMCS field {field:#x} failed: the CPU (or the hypervisor emulating VT-x) "
                     "does not support that field" if isinstance(field, int) else "a VMWRITE failed")
    elif problem := decode.guest_trace_problem(parsed):
        lines.append(f"the guest ran, but {problem}")
    if identity.hypervisor:
        lines.append(f"VT-x here is nested ({identity.hypervisor_vendor or 'unknown'}): this points at the "
                     "hypervisor's VMX emulation; try a newer host kernel or hypervisor")
    lines.append(REPORT_BUG)
    return lines


def _fault(parsed: ParsedReport, detail: dict) -> list[str]:
    identity = decode.cpu_identity(parsed)
    if "msr" in detail:
        msr = detail["msr"]
        where = f"MSR {msr:#x}" if isinstance(msr, int) else "a VMX MSR"
        lines = [f"accessing {where} raised {_vector(detail.get('vector'))}"]
        if identity.hypervisor:
            lines.append(f"the hypervisor ({identity.hypervisor_vendor or 'unknown'}) does not implement this "
                         "MSR: enable nested virtualization properly or update the hypervisor")
        else:
            lines.append("the firmware or the CPU blocks this MSR: update the firmware")
        return lines + [REPORT_BUG]
    exception = parsed.first("exception")
    where = f" at EIP {exception.get('eip')} during step {exception.get('step')}" if exception else ""
    return [f"the stub hit {_vector(detail.get('vector'))}{where}: a bootgen bug or a firmware quirk", REPORT_BUG]


def _no_verdict(result: "Result") -> list[str]:
    parsed, outcome = result.parsed, result.outcome
    ending = outcome.ending if outcome else None
    problem = parsed.problem or ""
    lines: list[str] = []
    if result.reason.startswith("inconsistent report") or result.reason.startswith("unknown verdict"):
        lines.append("the report contradicts itself: a bootgen bug; " + REPORT_BUG.removeprefix("if this persists, "))
    elif ending is Ending.TRIPLE_FAULT:
        lines.append("the machine reset (triple fault): rerun under Bochs (`--backend bochs --keep-log PATH`) to "
                     "see the faulting instruction in the emulator's log")
    elif ending in (Ending.EMULATOR_CRASH, Ending.EMULATOR_EXIT) and not parsed.found_begin:
        lines.append("the emulator failed before the stub reported: run `bootgen doctor` to check the emulators "
                     "and firmware on this host")
    elif not parsed.found_begin:
        if outcome is None:
            lines.append("the log holds no report: capture the serial output from power-on (115200 8N1, no flow "
                         "control, COM1), or read the verdict on the screen")
        else:
            lines.append("nothing arrived on the serial line: check the port the stub writes to (`serial=PORT`, "
                         "`--serial-port`) and that the image booted (`--timeout` for slow firmware)")
    elif "protocol" in problem:
        lines.append("the log comes from another report protocol version: decode it with the bootgen that built "
                     "the image")
    elif "mismatch" in problem or "malformed" in problem:
        lines.append("the report was damaged in transit: check the cable and the line settings (115200 8N1), "
                     "then capture it again")
    elif ending is Ending.TIMEOUT:
        lines.append("the stub stopped in the middle of its report (hang): rerun with a longer `--timeout` and "
                     "`--keep-log PATH`")
    else:
        lines.append("the report is incomplete: capture the whole serial output again (from the begin line to "
                     "the end line)")
    return lines


def _ready(parsed: ParsedReport, caps: VmxCapabilities) -> list[str]:
    identity = decode.cpu_identity(parsed)
    lines = ["nothing to do: VT-x works here, a hypervisor (KVM, Xen, Hyper-V, VMware, VirtualBox) can use it"]
    if identity.hypervisor:
        lines.append(f"tested through a hypervisor ({identity.hypervisor_vendor or 'unknown'}, nested VT-x): the "
                     "capabilities are those the host exposes, not the silicon's")
    fc = decode.feature_control(parsed)
    if fc and fc.get("state") == "enabled-by-stub":
        lines.append("the firmware left IA32_FEATURE_CONTROL unlocked and the stub enabled VT-x itself; an OS does "
                     "the same, but enabling VT-x in the firmware setup locks it on")
    if caps.reported:
        flat = caps.flat()
        if not flat["ept"]:
            lines.append("no EPT: hypervisors fall back to shadow paging (slow) or refuse to start "
                         "(Hyper-V and bhyve need EPT)")
        elif not flat["unrestricted_guest"]:
            lines.append("no unrestricted guest: guests' real-mode code must be emulated (slower guest boot)")
    return lines


def advise(result: "Result", caps: VmxCapabilities | None = None) -> list[str]:
    """The advice lines for a result (its verdict, detail, report and how the run ended)."""
    parsed, detail = result.parsed, result.detail
    verdict = result.verdict
    if verdict is Verdict.VMX_READY:
        return _ready(parsed, caps if caps is not None else decode_capabilities(parsed))
    lines = []
    config = parsed.first("config")
    if config is not None and config.get("inject", "none") != "none":
        lines.append(f"this failure was injected on purpose to test bootgen (inject={config.get('inject')}); "
                     "boot without inject= for a real verdict")
    if verdict is Verdict.NO_VERDICT:
        return lines + _no_verdict(result)
    handlers = {
        Verdict.NO_VMX: lambda: _no_vmx(parsed),
        Verdict.VMX_DISABLED_BY_FIRMWARE: lambda: _disabled_by_firmware(parsed),
        Verdict.VMX_IN_USE: lambda: _in_use(parsed),
        Verdict.VMXON_FAILED: lambda: _vmxon_failed(parsed, detail),
        Verdict.VMENTRY_FAILED: lambda: _vmentry_failed(parsed, detail),
        Verdict.FAULT: lambda: _fault(parsed, detail),
    }
    return lines + handlers[verdict]()
