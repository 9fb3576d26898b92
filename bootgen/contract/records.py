"""The report's records: their types, their fields and the names field values take.

A record is one line, ``<type> key=value key=value ... [-- free text]``
(docs/protocol.md). Each value set below is a StrEnum whose values are the
names on the wire; ``C_PREFIX`` gives the stub's macro prefix for them
(``CHECK_CPUID_VMX`` for ``cpuid-vmx``). ``SCHEMA`` lists every record type
with its fields and their formats; the stub's writers and the host's reader
both follow it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .injects import Inject
from .options import Mode, Switch
from .verdicts import Verdict


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
    VERDICT = "verdict"


class Key(enum.StrEnum):
    """Field keys (one list for every record type: a key means the same in each)."""

    ADDR32 = "addr32"
    ADDRESS = "address"
    AFTER = "after"
    ALLOWED0 = "allowed0"
    ALLOWED1 = "allowed1"
    ATTEMPT = "attempt"
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
    EFLAGS = "eflags"
    EIP = "eip"
    ENTRY = "entry"
    ENTRY_FAILURE_REASON = "entry_failure_reason"
    ERROR_CODE = "error_code"
    EXITS = "exits"
    EXIT_REASON = "exit_reason"
    EXPECTED = "expected"
    FAULT = "fault"
    FIELD = "field"
    FIXED0 = "fixed0"
    FIXED1 = "fixed1"
    FORBIDDEN = "forbidden"
    FRAMEBUFFER_TYPE = "framebuffer_type"
    HOST_RIP = "host_rip"
    INDEX = "index"
    INJECT = "inject"
    INSN = "insn"
    INSN_ERROR = "insn_error"
    LEAF = "leaf"
    LENGTH = "length"
    LOADER = "loader"
    MAGIC = "magic"
    MBI_FLAGS = "mbi_flags"
    MEMTYPE = "memtype"
    MISSING = "missing"
    MNEMONIC = "mnemonic"
    MODE = "mode"
    MSR = "msr"
    N = "n"
    NAME = "name"
    OPTION = "option"
    OUTCOME = "outcome"
    PHASE = "phase"
    QUALIFICATION = "qualification"
    REASON = "reason"
    REFUSED = "refused"
    REGION_SIZE = "region_size"
    RESULT = "result"
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


class Step(enum.StrEnum):
    """The stub's steps, in the order it runs them (``step name=...``)."""

    ENTRY = "entry"                 # before the first step begins
    DESCRIPTORS = "descriptors"
    PAGING = "paging"
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


class CrPhase(enum.StrEnum):
    LOADER = "loader"
    PAGING = "paging"
    BEFORE_VMXON = "before-vmxon"
    AFTER_VMXOFF = "after-vmxoff"


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


class WarningKind(enum.StrEnum):
    UNKNOWN_OPTION = "unknown-option"
    INJECT_NOT_APPLICABLE = "inject-not-applicable"


class YesNo(enum.StrEnum):
    YES = "yes"
    NO = "no"


#: Value sets and the stub's macro prefix for each.
C_PREFIX: dict[type[enum.StrEnum], str] = {
    Rec: "REC", Key: "KEY", Step: "STEP", StepState: "STEP_STATE", Check: "CHECK", CheckResult: "RESULT",
    FeatureControlState: "FC_STATE", CrPhase: "CR_PHASE", MsrPhase: "MSR_PHASE", Insn: "INSN",
    Outcome: "OUTCOME", ControlWordName: "CONTROLS", WarningKind: "WARN", YesNo: "ANSWER",
}


class Format(enum.Enum):
    """How a field's value is written."""

    HEX32 = "0x + 8 hex digits"
    HEX64 = "0x + 16 hex digits"
    DEC = "decimal"
    NAME = "a name"        # one of a value set, or a token without spaces


@dataclass(frozen=True)
class FieldSpec:
    key: Key
    format: Format
    values: type[enum.StrEnum] | None = None   # the names a NAME field takes
    doc: str = ""


@dataclass(frozen=True)
class RecordSpec:
    type: Rec
    doc: str
    fields: tuple[FieldSpec, ...]
    text: str = ""      # what the free text says, when the record has one


def _f(key: Key, fmt: Format, doc: str = "", values: type[enum.StrEnum] | None = None) -> FieldSpec:
    return FieldSpec(key, fmt, values, doc)


H32, H64, DEC, NAME = Format.HEX32, Format.HEX64, Format.DEC, Format.NAME

SCHEMA: tuple[RecordSpec, ...] = (
    RecordSpec(Rec.BOOT, "what the multiboot loader handed over", (
        _f(Key.MAGIC, H32, "the loader's magic (EAX)"), _f(Key.MBI_FLAGS, H32, "multiboot information flags"),
        _f(Key.LOADER, NAME, "the boot loader's name"),
        _f(Key.FRAMEBUFFER_TYPE, DEC, "1 RGB, 2 EGA text"))),
    RecordSpec(Rec.CONFIG, "the options in force (embedded command line, then the multiboot one)", (
        _f(Key.SERIAL, H32, "UART port, 0 when off"), _f(Key.SCREEN, NAME, "", Switch),
        _f(Key.INJECT, NAME, "the fault injected", Inject), _f(Key.MODE, NAME, "", Mode))),
    RecordSpec(Rec.WARNING, "something the stub ignored or could not do", (
        _f(Key.WHAT, NAME, "", WarningKind), _f(Key.OPTION, NAME, "the option ignored")),
        text="why an injection does not apply"),
    RecordSpec(Rec.CR, "control registers at each phase", (
        _f(Key.PHASE, NAME, "", CrPhase), _f(Key.CR0, H32), _f(Key.CR3, H32), _f(Key.CR4, H32),
        _f(Key.EFER, H64, "when IA32_EFER exists"))),
    RecordSpec(Rec.STEP, "each step as it happens; an exception names the one running", (
        _f(Key.NAME, NAME, "", Step), _f(Key.STATE, NAME, "", StepState))),
    RecordSpec(Rec.CPUID, "raw CPUID output (leaves 0, 1, 0x40000000 under a hypervisor, 0x80000000-0x80000004, "
               "0x80000008)", (
        _f(Key.LEAF, H32), _f(Key.SUBLEAF, H32), _f(Key.EAX, H32), _f(Key.EBX, H32), _f(Key.ECX, H32),
        _f(Key.EDX, H32))),
    RecordSpec(Rec.MSR, "an MSR read", (
        _f(Key.INDEX, H32), _f(Key.VALUE, H64, "the value read"),
        _f(Key.FAULT, DEC, "instead of value: the vector the read raised"), _f(Key.PHASE, NAME, "", MsrPhase))),
    RecordSpec(Rec.MSR_WRITE, "an MSR the stub wrote", (
        _f(Key.INDEX, H32), _f(Key.VALUE, H64), _f(Key.FAULT, DEC, "the vector the write raised"))),
    RecordSpec(Rec.CHECK, "one readiness check, with the values it looked at", (
        _f(Key.NAME, NAME, "", Check), _f(Key.RESULT, NAME, "", CheckResult),
        _f(Key.VENDOR, NAME, "cpu-vendor: the vendor string"),
        _f(Key.VALUE, H64, "the register or MSR checked (decimal for hypervisor-present)"),
        _f(Key.STATE, NAME, "feature-control", FeatureControlState),
        _f(Key.AFTER, H64, "feature-control: the MSR after the stub's write"),
        _f(Key.CR0, H32), _f(Key.CR4, H32), _f(Key.REVISION, H32, "vmx-basic"),
        _f(Key.REGION_SIZE, DEC, "vmx-basic"), _f(Key.ADDR32, DEC, "vmx-basic"),
        _f(Key.MEMTYPE, DEC, "vmx-basic"), _f(Key.TRUE_CTLS, DEC, "vmx-basic"),
        _f(Key.FIXED0, H32, "bits that must be 1"), _f(Key.FIXED1, H32, "bits that may be 1"),
        _f(Key.MISSING, H32, "bits that must be 1 and are 0"),
        _f(Key.FORBIDDEN, H32, "bits that must be 0 and are 1"),
        _f(Key.VECTOR, DEC, "paging: the vector enabling paging raised")), text="what the check found"),
    RecordSpec(Rec.VMXON_REGION, "the VMXON region as prepared", (
        _f(Key.ADDRESS, H32), _f(Key.REVISION, H32), _f(Key.SIZE, DEC))),
    RecordSpec(Rec.VMX, "what one VMX instruction did; CF and ZF are preset to 1 before it", (
        _f(Key.INSN, NAME, "", Insn), _f(Key.OUTCOME, NAME, "", Outcome), _f(Key.CF, DEC), _f(Key.ZF, DEC),
        _f(Key.VECTOR, DEC, "the exception it raised"), _f(Key.ERROR_CODE, H32),
        _f(Key.INSN_ERROR, DEC, "the VM-instruction error, after VMfailValid"), _f(Key.EFLAGS, H32),
        _f(Key.FIELD, H32, "vmwrite: the field written"))),
    RecordSpec(Rec.VMCS_REGION, "the VMCS region as prepared", (_f(Key.ADDRESS, H32), _f(Key.REVISION, H32))),
    RecordSpec(Rec.CONTROLS, "a VMX control word computed as (wanted | allowed0) & allowed1 from its capability "
               "MSR (the TRUE_* MSR when IA32_VMX_BASIC[55] is set)", (
        _f(Key.NAME, NAME, "", ControlWordName), _f(Key.MSR, H32), _f(Key.FAULT, DEC, "reading the MSR faulted"),
        _f(Key.WANTED, H32), _f(Key.ALLOWED0, H32), _f(Key.ALLOWED1, H32), _f(Key.VALUE, H32),
        _f(Key.REFUSED, H32, "wanted bits the CPU does not allow"))),
    RecordSpec(Rec.GUEST, "where the guest starts and where VM exits land", (
        _f(Key.ENTRY, H32), _f(Key.STACK, H32), _f(Key.HOST_RIP, H32))),
    RecordSpec(Rec.EXIT, "one VM exit, in order", (
        _f(Key.N, DEC), _f(Key.REASON, DEC, "the basic exit reason"), _f(Key.QUALIFICATION, H32),
        _f(Key.RIP, H32, "of the exiting instruction"), _f(Key.LENGTH, DEC, "its length"))),
    RecordSpec(Rec.VMCALL, "the value the guest passed in EAX to VMCALL", (_f(Key.VALUE, H32),)),
    RecordSpec(Rec.ENTRY_FAILURE, "a failed VM entry (exit reason bit 31)", (
        _f(Key.REASON, DEC, "33, 34 or 41"), _f(Key.EXIT_REASON, H32), _f(Key.QUALIFICATION, H32))),
    RecordSpec(Rec.GUEST_TRACE, "the summary of the guest's run", (
        _f(Key.EXITS, DEC), _f(Key.EXPECTED, NAME, "", YesNo), _f(Key.VMCALL_VALUE, H32))),
    RecordSpec(Rec.EXCEPTION, "an unexpected exception", (
        _f(Key.VECTOR, DEC), _f(Key.MNEMONIC, NAME), _f(Key.ERROR_CODE, H32), _f(Key.EIP, H32),
        _f(Key.EFLAGS, H32), _f(Key.CR0, H32), _f(Key.CR2, H32), _f(Key.CR3, H32), _f(Key.CR4, H32),
        _f(Key.STEP, NAME, "the step that was running", Step))),
    RecordSpec(Rec.VERDICT, "the stub's verdict, exactly one, with the failure's detail", (
        _f(Key.NAME, NAME, "", Verdict), _f(Key.VECTOR, DEC), _f(Key.EIP, H32), _f(Key.MSR, H32),
        _f(Key.INSN, NAME, "", Insn), _f(Key.ATTEMPT, DEC, "2: a second VMXON"), _f(Key.OUTCOME, NAME, "", Outcome),
        _f(Key.CF, DEC), _f(Key.ZF, DEC), _f(Key.INSN_ERROR, DEC), _f(Key.REGION_SIZE, DEC), _f(Key.CR0, H32),
        _f(Key.REVISION, H32), _f(Key.MODE, NAME, "", Mode), _f(Key.ENTRY_FAILURE_REASON, DEC),
        _f(Key.QUALIFICATION, H32),
        _f(Key.EXITS, DEC), _f(Key.FIELD, H32)), text="why, for people"),
)

BY_TYPE: dict[Rec, RecordSpec] = {spec.type: spec for spec in SCHEMA}

#: What each check verifies (docs/protocol.md).
CHECK_DOCS: dict[Check, str] = {
    Check.CPU_VENDOR: "vendor string (info)",
    Check.HYPERVISOR_PRESENT: "CPUID.1:ECX[31] (info)",
    Check.CPUID_VMX: "CPUID.1:ECX.VMX[bit 5]",
    Check.FEATURE_CONTROL: "IA32_FEATURE_CONTROL: `state` is `enabled-by-firmware` (locked, bit 2 set), "
                           "`disabled-by-firmware` (locked, bit 2 clear), `enabled-by-stub` (was unlocked: the stub "
                           "set bit 2 and the lock bit) or `write-ignored` (was unlocked, the write did not stick)",
    Check.CR4_VMXE_FREE: "CR4.VMXE was clear when the loader handed over",
    Check.VMX_BASIC: "IA32_VMX_BASIC: revision, region size, 32-bit address limit, memory type, true controls",
    Check.CR0_PE_NE_PG: "CR0.PE, NE and PG are set",
    Check.CR0_FIXED: "CR0 against IA32_VMX_CR0_FIXED0/1; `missing` = bits that must be 1, `forbidden` = bits that "
                     "must be 0",
    Check.CR4_FIXED: "CR4 against IA32_VMX_CR4_FIXED0/1, checked with VMXE set",
    Check.PAGING: "only written when enabling paging failed (no PAE, or an exception: `vector`)",
}
