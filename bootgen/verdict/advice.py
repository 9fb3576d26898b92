"""What to do about a verdict: short, actionable lines for people.

Each verdict (and the situation around it: a hypervisor underneath, an AMD CPU,
the firmware's IA32_FEATURE_CONTROL, the exact VMX failure) maps to a few lines
that say what to change. The lines go into the text output after the verdict
and into the JSON as ``advice``; their fixed wording is in advice_text.
"""

from __future__ import annotations

from collections.abc import Callable

from ..arch import exceptions, vmx_exits
from ..arch.vmx_exits import exit_reason_name, instruction_error_name
from ..backends.defaults import CONSOLE_BACKENDS
from ..backends.outcome import Ending
from ..contract import ports
from ..contract.injects import Inject
from ..contract.records import Cause, CheckResult, FeatureControlState, WarningKind
from ..contract.verdicts import Verdict
from ..decode.cpu import CpuIdentity
from ..decode.facts import CpuFacts
from ..decode.guest import trace_problem
from . import advice_smp, advice_svm
from .advice_text import (
    AMD_V,
    AMD_V_UNTESTED,
    FIRMWARE_SETUP,
    KVM_SIGNATURE,
    NESTED_BY_HYPERVISOR,
    NESTED_CLOUD,
    NESTED_KVM_AMD,
    NESTED_KVM_INTEL,
    REPORT_BUG,
    UPDATE_FIRMWARE,
)
from .evaluate import CONTRADICTION, Result

_REPORT_IT = REPORT_BUG.removeprefix("if this persists, ")


def nested_advice(identity: CpuIdentity) -> list[str]:
    """How to expose VT-x to this virtual machine, per hypervisor vendor."""
    vendor = identity.hypervisor_vendor
    lines = [f"this machine is a virtual machine (hypervisor: {vendor or 'unknown'}) that does not pass VT-x "
             "through: enable nested virtualization on the host"]
    specific = NESTED_BY_HYPERVISOR.get(vendor or "")
    if specific:
        lines.append(specific)
    else:
        lines.extend([NESTED_KVM_INTEL, NESTED_CLOUD])
    if vendor == KVM_SIGNATURE:
        lines.append(NESTED_CLOUD)
    return lines


def _no_vmx(facts: CpuFacts, detail: dict) -> list[str]:
    identity = facts.identity
    if identity.svm_capable_vendor:
        if not identity.hypervisor:
            return [AMD_V]
        # Under a hypervisor or an emulator the firmware's SVM setting is not what decides: the host does.
        vendor = identity.hypervisor_vendor or ""
        return [AMD_V_UNTESTED, NESTED_BY_HYPERVISOR[vendor] if vendor in NESTED_BY_HYPERVISOR and
                vendor != KVM_SIGNATURE else NESTED_KVM_AMD]
    if identity.hypervisor:
        return nested_advice(identity)
    return ["this CPU does not report VT-x (CPUID.1:ECX.VMX = 0): check the processor's specification "
            "for 'Intel Virtualization Technology (VT-x)'",
            "if it should have VT-x, update the firmware and look for the VT-x setting in its setup"]


def _disabled_by_firmware(facts: CpuFacts, detail: dict) -> list[str]:
    identity = facts.identity
    fc = facts.feature_control or {}
    loader = fc.get("loader", {})
    if identity.hypervisor:
        lines = [f"the hypervisor ({identity.hypervisor_vendor or 'unknown'}) locks IA32_FEATURE_CONTROL with "
                 "VMX off for this virtual machine: enable nested virtualization on the host"]
        return lines + nested_advice(identity)[1:]
    lines = [FIRMWARE_SETUP]
    if fc.get("state") == FeatureControlState.WRITE_FAULTED:
        lines.append("IA32_FEATURE_CONTROL was left unlocked, but writing it raised "
                     f"{exceptions.describe(detail.get('vector'))}: the firmware (or SMM) guards it; enable VT-x "
                     "in the firmware setup, which locks it on")
    elif "after_write" in fc:
        lines.append("IA32_FEATURE_CONTROL was unlocked but writing it did not enable VMX: the firmware or "
                     "SMM blocks the write; enable VT-x in the firmware setup instead")
    elif loader.get("vmx_inside_smx") and not loader.get("vmx_outside_smx"):
        lines.append("the firmware enabled VMX only inside SMX (Intel TXT): enable VT-x itself, not only TXT")
    lines.append("if the setting is missing or greyed out, update the firmware; some vendors hide it on "
                 "locked-down models")
    return lines


def _in_use(facts: CpuFacts, detail: dict) -> list[str]:
    identity = facts.identity
    lines = ["another hypervisor or VMM already holds VT-x (CR4.VMXE was set when the stub started)",
             "boot bootgen directly from the firmware (USB stick or CD), not chained from a running OS or a "
             "boot manager that starts a hypervisor (Windows with Hyper-V/VBS, tboot, a firmware hypervisor)"]
    if identity.hypervisor:
        lines.append(f"under a hypervisor ({identity.hypervisor_vendor or 'unknown'}), CR4.VMXE set in the guest "
                     "is the hypervisor's doing: report it to its vendor")
    return lines


def _vmxon_fault(facts: CpuFacts, insn: str, vector: int) -> list[str]:
    lines = [f"{insn} raised {exceptions.describe(vector)}"]
    if vector == exceptions.GP:
        failing = [c.name for c in facts.cpu.checks if c.result in (CheckResult.FAIL, CheckResult.ADJUST)]
        lines.append("#GP on VMXON means IA32_FEATURE_CONTROL does not allow VMXON outside SMX, CR0/CR4 "
                     "break the VMX fixed bits, or the VMXON pointer is invalid"
                     + (f" (see the checks {', '.join(str(f) for f in failing)})" if failing else ""))
    elif vector == exceptions.UD:
        lines.append("#UD on VMXON means CR4.VMXE was not set or the CPU (or the hypervisor emulating it) does "
                     "not implement VMX in this mode")
    return lines


def _vmxon_fail_invalid(facts: CpuFacts, insn: str) -> list[str]:
    lines = [f"{insn} reported VMfailInvalid (CF=1): the VMXON pointer was rejected"]
    region, basic = facts.cpu.vmxon_region, facts.vmx_basic
    if region is not None and basic is not None and region.revision != basic.revision:
        revision = f"{region.revision:#010x}" if region.revision is not None else "unknown"
        lines.append(f"the VMXON region's revision identifier {revision} differs from "
                     f"IA32_VMX_BASIC's {basic.revision:#010x}")
    elif region is not None and (region.address or 0) & 0xFFF:
        lines.append(f"the VMXON region at {region.address:#010x} is not 4-KiB aligned")
    else:
        lines.append("the region must be 4-KiB aligned, within the physical-address width, and start with "
                     "IA32_VMX_BASIC's revision identifier (SDM Vol. 3C, 31.3 \"VMXON\")")
    return lines


def _vmxon_failed(facts: CpuFacts, detail: dict) -> list[str]:
    insn = str(detail.get("insn", "vmxon")).upper()
    if "region_size" in detail and "cf" not in detail:
        return [f"IA32_VMX_BASIC reports a VMXON region of {detail['region_size']} bytes, which the stub cannot "
                "provide", REPORT_BUG]
    if detail.get("attempt") == 2:
        outcome = "VMfailInvalid (CF=1)" if detail.get("cf") else \
            f"VMfailValid (ZF=1), error {detail.get('insn_error')}" if detail.get("zf") else str(detail.get("outcome"))
        return [f"the first VMXON worked; a second VMXON in VMX root operation reported {outcome}, as it must "
                "(SDM Vol. 3C, 31.3 \"VMXON\": VMfailInvalid without a current VMCS, VMfailValid error 15 with "
                "one)"]
    lines: list[str] = []
    if detail.get("vector") is not None:
        lines += _vmxon_fault(facts, insn, detail["vector"])
    elif detail.get("cf"):
        lines += _vmxon_fail_invalid(facts, insn)
    elif detail.get("zf"):
        error = detail.get("insn_error")
        lines.append(f"{insn} reported VMfailValid (ZF=1), VM-instruction error {error}: "
                     f"{instruction_error_name(error) if error is not None else 'not reported'}")
        if error == vmx_exits.ERROR_VMXON_IN_ROOT:
            lines.append("VMX was already on: another VMM runs in VMX root operation")
        elif error == vmx_exits.ERROR_VMXOFF_DUAL_MONITOR:
            lines.append("VMXOFF is refused under the dual-monitor treatment of SMIs and SMM: the firmware's "
                         "SMM monitor is active")
    lines.append(UPDATE_FIRMWARE + _REPORT_IT)
    return lines


def _refused_controls(facts: CpuFacts) -> list[str]:
    return [f"{w.name} refused {w.refused:#010x}" for w in facts.cpu.controls if w.refused]


def _vmentry_failed(facts: CpuFacts, detail: dict) -> list[str]:
    identity = facts.identity
    lines = ["VMXON works, so VT-x is usable; bootgen's test guest did not run"]
    reason = detail.get("entry_failure_reason")
    error = detail.get("insn_error")
    if reason is not None:
        qualification = detail.get("qualification")
        lines.append(f"VM entry failed with exit reason {reason} ({exit_reason_name(reason)})"
                     + (f", qualification {qualification:#x}" if isinstance(qualification, int) else ""))
        if reason == vmx_exits.BY_KEY["entry_failure_machine_check"].number:
            lines.append("a machine check during VM entry points at the hardware: check the machine-check log, "
                         "memory and CPU")
    elif error is not None:
        lines.append(f"VMLAUNCH/VMRESUME failed with VM-instruction error {error}: {instruction_error_name(error)}")
        if error == vmx_exits.ERROR_INVALID_CONTROL_FIELDS:
            refused = _refused_controls(facts)
            lines.append("a control field is not allowed by the capability MSRs"
                         + (f" ({'; '.join(refused)})" if refused else ""))
    elif detail.get("cf"):
        lines.append("VMLAUNCH reported VMfailInvalid (CF=1): no current VMCS")
    elif "field" in detail:
        field = detail["field"]
        lines.append(f"VMWRITE to VMCS field {field:#x} failed: the CPU (or the hypervisor emulating VT-x) "
                     "does not support that field" if isinstance(field, int) else "a VMWRITE failed")
    elif problem := trace_problem(facts.cpu):
        lines.append(f"the guest ran, but {problem}")
    if identity.hypervisor:
        lines.append(f"VT-x here is nested ({identity.hypervisor_vendor or 'unknown'}): this points at the "
                     "hypervisor's VMX emulation; try a newer host kernel or hypervisor")
    lines.append(REPORT_BUG)
    return lines


def _fault(facts: CpuFacts, detail: dict) -> list[str]:
    identity = facts.identity
    if "msr" in detail:
        msr = detail["msr"]
        where = f"MSR {msr:#x}" if isinstance(msr, int) else "a VMX MSR"
        lines = [f"accessing {where} raised {exceptions.describe(detail.get('vector'))}"]
        if identity.hypervisor:
            lines.append(f"the hypervisor ({identity.hypervisor_vendor or 'unknown'}) does not implement this "
                         "MSR: enable nested virtualization properly or update the hypervisor")
        else:
            lines.append("the firmware or the CPU blocks this MSR: update the firmware")
        return lines + [REPORT_BUG]
    if detail.get("cause") == Cause.MACHINE_CHECK:
        return ["the CPU signalled a machine check (#MC, a hardware error) while the stub ran: this is not a "
                "VT-x verdict; check the firmware's hardware event log, reseat or test the memory, and rerun",
                "a machine check on every boot points at a failing CPU, memory or mainboard"]
    exception = facts.cpu.exception
    where = ""
    if exception is not None:
        eip = exception.values.get("eip")
        eip_text = f"{eip:#010x}" if isinstance(eip, int) else str(eip)
        where = f" at EIP {eip_text} during step {exception.values.get('step')}"
    return [f"the stub hit {exceptions.describe(detail.get('vector'))}{where}: a bootgen bug or a firmware quirk",
            REPORT_BUG]


def _no_verdict(result: Result) -> list[str]:
    framing, outcome = result.report.framing, result.outcome
    ending = outcome.ending if outcome else None
    problem = framing.problem or ""
    reason = result.deciding.reason if result.deciding is not None else result.reason
    if reason.startswith((CONTRADICTION, "unknown verdict")) or framing.complete and "verdict record" in reason:
        return ["the report contradicts itself: a bootgen bug, a damaged or forged log, or a CPU (or hypervisor) "
                "that misreports; " + _REPORT_IT]
    if "distrust" in result.detail:
        return ["the stub's report is whole but the run did not end as the stub ends it: rerun with "
                "`--keep-log PATH` and look at the emulator's log"]
    if "secure_boot_refused" in result.detail:
        return ["Secure Boot is on and refused bootgen's unsigned loader: turn Secure Boot off in the firmware "
                "setup (often under Boot or Security; some boards call it 'OS type: Other OS'), boot the image, "
                "then turn it back on; a signed GRUB would not help, since it verifies the kernel it loads "
                "through shim and the stub, a bare ELF, carries no signature"]
    if ending is Ending.NOTHING_BOOTED:
        return ["the firmware found nothing it would boot: check that the image was written to the whole "
                "device (not a partition), and the firmware's boot order and boot mode (UEFI or legacy BIOS)"]
    if ending is Ending.TRIPLE_FAULT:
        return ["the machine reset (triple fault): rerun under Bochs (`--backend bochs --keep-log PATH`) to "
                "see the faulting instruction in the emulator's log"]
    if ending is Ending.CONSOLE_CLOSED:
        return ["the box's console closed before its report was whole: check the cable, the console server or the "
                "Serial-over-LAN session, then run again (`--keep-log PATH` keeps what arrived)"]
    if outcome is not None and outcome.backend in CONSOLE_BACKENDS and ending is Ending.TIMEOUT:
        return ["no whole report arrived from the box within the timeout: check that it boots the bootgen stick or "
                "ISO (boot order, Secure Boot off), that the console is COM1 at 115200 8N1 (or boot with "
                "serial=PORT), and give slow firmware more `--timeout`"]
    if ending in (Ending.EMULATOR_CRASH, Ending.EMULATOR_EXIT) and not framing.found_begin:
        return ["the emulator failed before the stub reported: run `bootgen doctor` to check the emulators "
                "and firmware on this host"]
    if not framing.found_begin:
        if outcome is None:
            return ["the log holds no report: capture the serial output from power-on (115200 8N1, no flow "
                    "control, COM1), or read the verdict on the screen"]
        return ["nothing arrived on the serial line: check the port the stub writes to (`serial=PORT`, "
                "`--serial-port`) and that the image booted (`--timeout` for slow firmware)"]
    if "protocol" in problem:
        return ["the log comes from another report protocol version: decode it with the bootgen that built "
                "the image"]
    if "mismatch" in problem or "malformed" in problem:
        return ["the report was damaged in transit: check the cable and the line settings (115200 8N1), "
                "then capture it again"]
    if ending is Ending.TIMEOUT:
        return ["the stub stopped in the middle of its report (hang): rerun with a longer `--timeout` and "
                "`--keep-log PATH`"]
    return ["the report is incomplete: capture the whole serial output again (from the begin line to the end line)"]


def _ready(facts: CpuFacts, detail: dict) -> list[str]:
    identity = facts.identity
    lines = ["nothing to do: VT-x works here, a hypervisor (KVM, Xen, Hyper-V, VMware, VirtualBox) can use it"]
    if identity.hypervisor:
        lines.append(f"tested through a hypervisor ({identity.hypervisor_vendor or 'unknown'}, nested VT-x): the "
                     "capabilities are those the host exposes, not the silicon's")
    fc = facts.feature_control
    if fc and fc.get("state") == FeatureControlState.ENABLED_BY_STUB:
        lines.append("the firmware left IA32_FEATURE_CONTROL unlocked and the stub enabled VT-x itself; an OS does "
                     "the same, but enabling VT-x in the firmware setup locks it on")
    caps = facts.capabilities
    if caps.reported:
        flat = caps.flat()
        if not flat["ept"]:
            lines.append("no EPT: hypervisors fall back to shadow paging (slow) or refuse to start "
                         "(Hyper-V and bhyve need EPT)")
        elif not flat["unrestricted_guest"]:
            lines.append("no unrestricted guest: guests' real-mode code must be emulated (slower guest boot)")
    return lines


_BY_VERDICT: dict[Verdict, Callable[[CpuFacts, dict], list[str]]] = {
    Verdict.VMX_READY: _ready,
    Verdict.NO_VMX: _no_vmx,
    Verdict.VMX_DISABLED_BY_FIRMWARE: _disabled_by_firmware,
    Verdict.VMX_IN_USE: _in_use,
    Verdict.VMXON_FAILED: _vmxon_failed,
    Verdict.VMENTRY_FAILED: _vmentry_failed,
    Verdict.FAULT: _fault,
    Verdict.SVM_READY: advice_svm.svm_ready,
    Verdict.NO_SVM: advice_svm.no_svm,
    Verdict.SVM_DISABLED_BY_FIRMWARE: advice_svm.svm_disabled_by_firmware,
    Verdict.SVM_IN_USE: advice_svm.svm_in_use,
    Verdict.VMRUN_FAILED: advice_svm.vmrun_failed,
    Verdict.UNRESPONSIVE: advice_smp.unresponsive,
}


#: What each of the stub's warnings asks of the user (none: the warning's own text says enough).
_WARNING_ADVICE: dict[str, str] = {
    WarningKind.SERIAL_ABSENT: "no UART answered at the stub's serial port, so the report went to the screen only: "
                               f"boot with serial=PORT (for example {ports.COM_PORTS['COM2']:#x} for COM2) where the "
                               "board has another port, or read the verdict on the screen",
    WarningKind.SERIAL_STUCK: "the UART stopped taking bytes during the run, so the rest of the report went to the "
                              "screen only: its transmitter never emptied (a faulty or half-emulated port); boot with "
                              "serial=PORT for another port, or serial=off",
    WarningKind.VMCS_MEMORY_TYPE: "IA32_VMX_BASIC asks for a VMCS memory type other than write-back: hypervisors "
                                  "expect write-back; " + _REPORT_IT,
    WarningKind.VMXE_STUCK: "CR4.VMXE stayed set after VMXOFF: reboot before starting an OS on this CPU",
    WarningKind.UNMAPPED: "the stub could not map a range it wanted (see the warning): the verdict stands, but what "
                          "needed the range (the framebuffer: the report on screen) was left out; " + _REPORT_IT,
    WarningKind.CPU_LIMIT: "this machine has more logical CPUs than the stub checks: those beyond its limit were "
                           "listed, not checked",
    WarningKind.NO_TIMER: "the PIT did not count, so the stub timed INIT-SIPI-SIPI with a TSC rate it assumed: an AP "
                          "reported unresponsive may only have been slow; rerun, and " + _REPORT_IT,
}


def _warning_advice(result: Result) -> list[str]:
    kinds = dict.fromkeys(w.what for w in result.report.warnings)
    return [_WARNING_ADVICE[kind] for kind in kinds if kind in _WARNING_ADVICE]


def _restart_advice(result: Result) -> list[str]:
    """A real box that restarted during the run: the last whole report decided, and the user should know."""
    outcome, framing = result.outcome, result.report.framing
    if outcome is None or outcome.backend not in CONSOLE_BACKENDS or not framing.restarts:
        return []
    return [f"the box restarted {framing.restarts} time(s) while bootgen read its console: the verdict is its last "
            "whole report's; if nobody reset it, rerun and watch for a reset during the stub's checks"]


def advise(result: Result) -> list[str]:
    """The advice lines for a result (its verdict, detail, report, its CPUs and how the run ended)."""
    smp = advice_smp.smp_advice(result.cpus, result.verdict)
    return _verdict_advice(result) + smp + _restart_advice(result) + _warning_advice(result)


def _verdict_advice(result: Result) -> list[str]:
    deciding = result.deciding
    facts, detail = (deciding.facts, deciding.detail) if deciding is not None else (result.facts, result.detail)
    if result.verdict.ready:
        return _BY_VERDICT[result.verdict](facts, detail)
    lines = []
    config = result.report.config
    if config is not None and (config.inject or Inject.NONE) != Inject.NONE:
        where = f" on CPU {config.inject_cpu or 0}" if len(result.cpus) > 1 else ""
        lines.append(f"this failure was injected on purpose to test bootgen (inject={config.inject}{where}); "
                     "boot without inject= for a real verdict")
    if result.verdict is Verdict.NO_VERDICT:
        specific = advice_smp.no_verdict(deciding) if deciding is not None else []
        return lines + (specific or _no_verdict(result))
    return lines + _BY_VERDICT[result.verdict](facts, detail)
