"""The report's records: their types, their fields and the names field values take.

A record is one line, ``<type> key=value key=value ... [-- free text]``
(docs/protocol.md). Each value set below is a StrEnum whose values are the
names on the wire; ``C_PREFIX`` gives the stub's macro prefix for them
(``CHECK_CPUID_VMX`` for ``cpuid-vmx``). ``contract.schema`` lists every
record type with its fields and their formats; the stub's writers and the
host's reader both follow it.
"""

from __future__ import annotations

import enum

from .machine import BootProtocol, CacheType, Emulator, MapWhat, PowerOff, WarningKind
from .smp import SMP_C_PREFIX

__all__ = ["BootProtocol", "CacheType", "Emulator", "MapWhat", "PowerOff", "WarningKind"]  # re-exported


class Rec(enum.StrEnum):
    """Record types."""

    BOOT = "boot"
    CONFIG = "config"
    WARNING = "warning"
    CR = "cr"
    STEP = "step"
    CPUID = "cpuid"
    MSR = "msr"
    MSR_WRITE = "msr-write"
    CHECK = "check"
    VMXON_REGION = "vmxon-region"
    VMX = "vmx"
    VMCS_REGION = "vmcs-region"
    CONTROLS = "controls"
    GUEST = "guest"
    EXIT = "exit"
    VMCALL = "vmcall"
    ENTRY_FAILURE = "entry-failure"
    GUEST_TRACE = "guest-trace"
    EXCEPTION = "exception"
    NMI = "nmi"
    MAP = "map"
    POWEROFF = "poweroff"
    VERDICT = "verdict"
    SVM = "svm"                     # an SVM instruction that faulted
    VMCB = "vmcb"
    SVM_EXIT = "svm-exit"
    CPUS = "cpus"                   # protocol 2: the CPUs found, and how they run
    PROCESSOR = "processor"         # one per processor the MADT (or the broadcast) names
    CPU = "cpu"                     # a CPU's section begins and ends


class Key(enum.StrEnum):
    """Field keys (one list for every record type: a key means the same in each)."""

    ADDR32 = "addr32"
    ADDRESS = "address"
    AFTER = "after"
    ALLOWED0 = "allowed0"
    ALLOWED1 = "allowed1"
    ATTEMPT = "attempt"
    CACHE = "cache"
    CAUSE = "cause"
    CF = "cf"
    CR0 = "cr0"
    CR2 = "cr2"
    CR3 = "cr3"
    CR4 = "cr4"
    EAX = "eax"
    EBX = "ebx"
    ECX = "ecx"
    EDX = "edx"
    EFER = "efer"
    EFI_SYSTAB = "efi_systab"
    EFLAGS = "eflags"
    EIP = "eip"
    ENTRY = "entry"
    ENTRY_FAILURE_REASON = "entry_failure_reason"
    ERROR_CODE = "error_code"
    EXITS = "exits"
    EXIT_REASON = "exit_reason"
    EMULATOR = "emulator"
    EXPECTED = "expected"
    FAULT = "fault"
    FALLBACK = "fallback"
    FIELD = "field"
    FIXED0 = "fixed0"
    FIXED1 = "fixed1"
    FORBIDDEN = "forbidden"
    FRAMEBUFFER_TYPE = "framebuffer_type"
    GUEST = "guest"
    HOST = "host"
    HOST_RIP = "host_rip"
    INDEX = "index"
    INJECT = "inject"
    INSN = "insn"
    INSN_ERROR = "insn_error"
    LEAF = "leaf"
    LENGTH = "length"
    LINEAR = "linear"
    LOADER = "loader"
    MAGIC = "magic"
    MBI_FLAGS = "mbi_flags"
    METHOD = "method"
    MEMTYPE = "memtype"
    MISSING = "missing"
    MNEMONIC = "mnemonic"
    MODE = "mode"
    MSR = "msr"
    N = "n"
    NAME = "name"
    OPTION = "option"
    OUTCOME = "outcome"
    PAGE = "page"
    PHASE = "phase"
    PHYS = "phys"
    PROTOCOL = "protocol"
    QUALIFICATION = "qualification"
    REASON = "reason"
    REFUSED = "refused"
    REGION_SIZE = "region_size"
    RESULT = "result"
    RSDP = "rsdp"
    RSDP_REVISION = "rsdp_revision"
    REVISION = "revision"
    RIP = "rip"
    SCREEN = "screen"
    SERIAL = "serial"
    SIZE = "size"
    STACK = "stack"
    STATE = "state"
    STEP = "step"
    SUBLEAF = "subleaf"
    TRUE_CTLS = "true_ctls"
    VALUE = "value"
    VECTOR = "vector"
    VENDOR = "vendor"
    VMCALL_VALUE = "vmcall_value"
    WANTED = "wanted"
    WHAT = "what"
    ZF = "zf"
    ASID = "asid"
    CODE = "code"
    HSAVE = "hsave"
    INFO1 = "info1"
    INFO2 = "info2"
    NESTED_PAGING = "nested_paging"
    NEXT_RIP = "next_rip"
    NRIP_SAVE = "nrip_save"
    TECHNOLOGY = "technology"
    INTERCEPTS = "intercepts"
    APIC = "apic"
    APIC_MODE = "apic_mode"
    COUNT = "count"
    CPUS = "cpus"
    FLAGS = "flags"
    INJECT_CPU = "inject_cpu"
    JOIN_US = "join_us"
    KIND = "kind"
    LISTED = "listed"
    MADT = "madt"
    RUN = "run"
    SOURCE = "source"
    STATUS = "status"
    TSC_KHZ = "tsc_khz"
    UID = "uid"
    USABLE = "usable"


class Step(enum.StrEnum):
    """The stub's steps, in the order it runs them (``step name=...``)."""

    ENTRY = "entry"                 # before the first step begins
    DESCRIPTORS = "descriptors"
    PAGING = "paging"
    CPU_DISCOVERY = "cpu-discovery"  # the boot CPU: the MADT (or the broadcast) and the timer
    AP_START = "ap-start"           # the boot CPU: INIT-SIPI-SIPI to the APs
    INJECT = "inject"
    CPU_IDENTITY = "cpu-identity"
    CPUID_VMX = "cpuid-vmx"
    VMX_CAPABILITIES = "vmx-capabilities"
    FEATURE_CONTROL = "feature-control"
    CR4_VMXE_FREE = "cr4-vmxe-free"
    VMX_BASIC = "vmx-basic"
    CR_FIXED = "cr-fixed"
    VMXON_REGION = "vmxon-region"
    VMXON = "vmxon"
    VMCS = "vmcs"
    VMLAUNCH = "vmlaunch"
    VMCLEAR = "vmclear"
    VMXOFF = "vmxoff"
    # AMD-V (APM Vol. 2, 15.4 "Enabling SVM" and 15.5 "VMRUN").
    CPUID_SVM = "cpuid-svm"
    SVM_FEATURES = "svm-features"
    VM_CR = "vm-cr"
    EFER_SVME_FREE = "efer-svme-free"
    SVM_ENABLE = "svm-enable"
    VMCB = "vmcb"
    VMRUN = "vmrun"
    SVM_DISABLE = "svm-disable"


class StepState(enum.StrEnum):
    BEGIN = "begin"
    OK = "ok"
    FAIL = "fail"


class Check(enum.StrEnum):
    """Readiness checks, in order (SDM Vol. 3C, 24.6-24.8)."""

    CPU_VENDOR = "cpu-vendor"
    HYPERVISOR_PRESENT = "hypervisor-present"
    CPUID_VMX = "cpuid-vmx"
    FEATURE_CONTROL = "feature-control"
    CR4_VMXE_FREE = "cr4-vmxe-free"
    VMX_BASIC = "vmx-basic"
    CR0_PE_NE_PG = "cr0-pe-ne-pg"
    CR0_FIXED = "cr0-fixed"
    CR4_FIXED = "cr4-fixed"
    PAGING = "paging"
    # AMD-V (APM Vol. 2, 15.4).
    CPUID_SVM = "cpuid-svm"
    VM_CR = "vm-cr"
    EFER_SVME_FREE = "efer-svme-free"


#: The step each check is recorded in (stage/main.c, stage/probe/probe.c, stage/vmx/probe.c).
CHECK_STEP: dict[Check, Step] = {
    Check.CPU_VENDOR: Step.CPU_IDENTITY,
    Check.HYPERVISOR_PRESENT: Step.CPUID_VMX,
    Check.CPUID_VMX: Step.CPUID_VMX,
    Check.FEATURE_CONTROL: Step.FEATURE_CONTROL,
    Check.CR4_VMXE_FREE: Step.CR4_VMXE_FREE,
    Check.VMX_BASIC: Step.VMX_BASIC,
    Check.CR0_PE_NE_PG: Step.CR_FIXED,
    Check.CR0_FIXED: Step.CR_FIXED,
    Check.CR4_FIXED: Step.CR_FIXED,
    Check.PAGING: Step.PAGING,
    Check.CPUID_SVM: Step.CPUID_SVM,
    Check.VM_CR: Step.VM_CR,
    Check.EFER_SVME_FREE: Step.EFER_SVME_FREE,
}

#: Checks the stub records only when they fail: their step ending ``ok`` is their pass.
RECORDED_ONLY_ON_FAILURE: frozenset[Check] = frozenset({Check.PAGING})


class CheckResult(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ADJUST = "adjust"   # not as VMX needs it; the stub changes it
    INFO = "info"       # a fact, not a requirement


class FeatureControlState(enum.StrEnum):
    """What the feature-control check found (``check name=feature-control state=...``)."""

    ENABLED_BY_FIRMWARE = "enabled-by-firmware"
    DISABLED_BY_FIRMWARE = "disabled-by-firmware"
    ENABLED_BY_STUB = "enabled-by-stub"
    WRITE_IGNORED = "write-ignored"
    WRITE_FAULTED = "write-faulted"   # unlocked, but writing it raised #GP


class VmCrState(enum.StrEnum):
    """What the vm-cr check found (``check name=vm-cr state=...``; AMD APM Vol. 2, 15.30.1)."""

    ENABLED = "enabled"                           # SVMDIS clear
    ENABLED_BY_STUB = "enabled-by-stub"           # SVMDIS was set, unlocked: the stub cleared it
    DISABLED_BY_FIRMWARE = "disabled-by-firmware"  # SVMDIS set and LOCK set
    WRITE_IGNORED = "write-ignored"               # unlocked, but clearing SVMDIS did not stick
    ABSENT = "absent"                             # reading VM_CR raised #GP (Bochs 2.7): no firmware lock


class Technology(enum.StrEnum):
    """The hardware virtualization a CPU's report is about (``config``/``verdict technology=``)."""

    VMX = "vmx"      # Intel VT-x
    SVM = "svm"      # AMD-V


class CrPhase(enum.StrEnum):
    LOADER = "loader"
    PAGING = "paging"
    BEFORE_VMXON = "before-vmxon"
    AFTER_VMXOFF = "after-vmxoff"
    NORMALIZED = "normalized"     # after the stub set CR4 and EFER to what it needs


class MsrPhase(enum.StrEnum):
    LOADER = "loader"           # as the loader handed it over
    AFTER_WRITE = "after-write"
    CAPABILITY = "capability"   # the capability dump


class Insn(enum.StrEnum):
    """VMX instructions whose outcome the stub records."""

    VMXON = "vmxon"
    VMCLEAR = "vmclear"
    VMPTRLD = "vmptrld"
    VMWRITE = "vmwrite"
    VMLAUNCH = "vmlaunch"
    VMRESUME = "vmresume"
    VMXOFF = "vmxoff"
    VMRUN = "vmrun"


class Outcome(enum.StrEnum):
    """What a VMX instruction did (SDM Vol. 3C, 31.2 "Conventions")."""

    SUCCESS = "success"             # VMsucceed: CF = ZF = 0
    FAIL_INVALID = "fail-invalid"   # VMfailInvalid: CF = 1
    FAIL_VALID = "fail-valid"       # VMfailValid: ZF = 1, error number in the VMCS
    FAULT = "fault"                 # the instruction raised an exception


class ControlWordName(enum.StrEnum):
    """The control words the stub computes (``controls name=...``)."""

    PIN_BASED = "pin-based"
    PRIMARY_PROCESSOR_BASED = "primary-processor-based"
    SECONDARY_PROCESSOR_BASED = "secondary-processor-based"
    VM_EXIT = "vm-exit"
    VM_ENTRY = "vm-entry"








class Cause(enum.StrEnum):
    """What an unexpected exception was, when that matters for the verdict (``verdict ... cause=``)."""

    MACHINE_CHECK = "machine-check"


class YesNo(enum.StrEnum):
    YES = "yes"
    NO = "no"


#: Value sets and the stub's macro prefix for each.
C_PREFIX: dict[type[enum.StrEnum], str] = {
    Rec: "REC", Key: "KEY", Step: "STEP", StepState: "STEP_STATE", Check: "CHECK", CheckResult: "RESULT",
    FeatureControlState: "FC_STATE", CrPhase: "CR_PHASE", MsrPhase: "MSR_PHASE", Insn: "INSN",
    Outcome: "OUTCOME", ControlWordName: "CONTROLS", WarningKind: "WARN", YesNo: "ANSWER",
    PowerOff: "POWEROFF", Emulator: "EMULATOR", Cause: "CAUSE", MapWhat: "MAP", CacheType: "CACHE",
    BootProtocol: "PROTOCOL", VmCrState: "VM_CR_STATE", Technology: "TECH", **SMP_C_PREFIX,
}
