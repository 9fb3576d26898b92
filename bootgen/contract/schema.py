"""Every record type with its fields, their formats and the names they take (docs/protocol.md is generated from it)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .injects import Inject
from .options import Mode, Switch
from .records import (
    BootProtocol,
    CacheType,
    Cause,
    Check,
    CheckResult,
    ControlWordName,
    CrPhase,
    Emulator,
    FeatureControlState,
    Insn,
    Key,
    MapWhat,
    MsrPhase,
    Outcome,
    PowerOff,
    Rec,
    Step,
    StepState,
    WarningKind,
    YesNo,
)
from .smp import ApicMode, CpuRun, CpusOption, CpuSource, CpuStatus, ProcessorKind, SectionState
from .verdicts import Verdict


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
        _f(Key.FRAMEBUFFER_TYPE, DEC, "1 RGB, 2 EGA text"), _f(Key.PROTOCOL, NAME, "", BootProtocol),
        _f(Key.RSDP, H32, "where the ACPI RSDP is (multiboot2: the loader's copy)"),
        _f(Key.RSDP_REVISION, DEC, "the RSDP's revision: 0 ACPI 1.0, 2 ACPI 2.0+"),
        _f(Key.EFI_SYSTAB, H64, "the EFI system table (multiboot2 on UEFI)"))),
    RecordSpec(Rec.CONFIG, "the options in force (embedded command line, then the multiboot one)", (
        _f(Key.SERIAL, H32, "UART port, 0 when off"), _f(Key.SCREEN, NAME, "", Switch),
        _f(Key.INJECT, NAME, "the fault injected", Inject), _f(Key.MODE, NAME, "", Mode),
        _f(Key.CPUS, NAME, "protocol 2: which CPUs are checked", CpusOption),
        _f(Key.INJECT_CPU, DEC, "protocol 2: the CPU an injection acts on"))),
    RecordSpec(Rec.WARNING, "something the stub ignored or could not do", (
        _f(Key.WHAT, NAME, "", WarningKind), _f(Key.OPTION, NAME, "the option ignored"),
        _f(Key.NAME, NAME, "`unmapped`: what could not be mapped", MapWhat), _f(Key.PHYS, H64, "`unmapped`: where"),
        _f(Key.SIZE, H32, "`unmapped`: how much")),
        text="why an injection does not apply, or what the warning means for the run"),
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
        _f(Key.STATE, NAME, "feature-control (FeatureControlState) or vm-cr (VmCrState)", FeatureControlState),
        _f(Key.AFTER, H64, "feature-control: the MSR after the stub's write"),
        _f(Key.CR0, H32), _f(Key.CR4, H32), _f(Key.REVISION, H32, "vmx-basic"),
        _f(Key.REGION_SIZE, DEC, "vmx-basic"), _f(Key.ADDR32, DEC, "vmx-basic"),
        _f(Key.MEMTYPE, DEC, "vmx-basic"), _f(Key.TRUE_CTLS, DEC, "vmx-basic"),
        _f(Key.FIXED0, H32, "bits that must be 1"), _f(Key.FIXED1, H32, "bits that may be 1"),
        _f(Key.MISSING, H32, "bits that must be 1 and are 0"),
        _f(Key.FORBIDDEN, H32, "bits that must be 0 and are 1"),
        _f(Key.VECTOR, DEC, "paging: the vector enabling paging raised"),
        _f(Key.EFER, H64, "efer-svme-free: IA32_EFER")), text="what the check found"),
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
        _f(Key.REFUSED, H32, "wanted bits the CPU does not allow"),
        _f(Key.FALLBACK, H32, "the plain MSR read instead, when the TRUE_* one faulted"))),
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
    RecordSpec(Rec.NMI, "non-maskable interrupts the stub took and went on (in the host; as VM exits of the guest)",
               (_f(Key.HOST, DEC), _f(Key.GUEST, DEC))),
    RecordSpec(Rec.MAP, "a range of memory the stub maps before paging goes on (nothing else is mapped): where it "
               "is, the linear address it is reached at, its memory type and page size", (
                   _f(Key.WHAT, NAME, "", MapWhat), _f(Key.PHYS, H64), _f(Key.LINEAR, H32), _f(Key.SIZE, H32),
                   _f(Key.CACHE, NAME, "", CacheType), _f(Key.PAGE, DEC, "page size in KiB: 4 or 2048"))),
    RecordSpec(Rec.SVM, "an SVM instruction that raised an exception (AMD APM Vol. 2, 15.5)", (
        _f(Key.INSN, NAME, "", Insn), _f(Key.OUTCOME, NAME, "", Outcome), _f(Key.VECTOR, DEC),
        _f(Key.ERROR_CODE, H32))),
    RecordSpec(Rec.VMCB, "the VMCB as VMRUN gets it (AMD APM Vol. 2, appendix B)", (
        _f(Key.ADDRESS, H32, "the VMCB (VMRUN's operand)"), _f(Key.HSAVE, H32, "the host save area (VM_HSAVE_PA)"),
        _f(Key.ASID, DEC), _f(Key.INTERCEPTS, H64, "the intercept words at 0x0C (low) and 0x10 (high)"),
        _f(Key.EFER, H64, "the guest's EFER"), _f(Key.CR0, H32, "the guest's CR0"),
        _f(Key.NESTED_PAGING, NAME, "nested paging used", YesNo),
        _f(Key.NRIP_SAVE, NAME, "the CPU saves the next RIP on #VMEXIT", YesNo))),
    RecordSpec(Rec.SVM_EXIT, "one #VMEXIT, in order", (
        _f(Key.N, DEC), _f(Key.CODE, H32, "EXITCODE (0xffffffff: VMEXIT_INVALID)"), _f(Key.INFO1, H64),
        _f(Key.INFO2, H64), _f(Key.RIP, H32, "the guest's RIP at the #VMEXIT"),
        _f(Key.NEXT_RIP, H32, "nRIP, where the CPU saves it"))),
    RecordSpec(Rec.CPUS, "protocol 2: the logical CPUs the boot CPU found, and how they run their checks", (
        _f(Key.SOURCE, NAME, "", CpuSource), _f(Key.COUNT, DEC, "the CPUs that get a section (the boot CPU "
                                                                 "included)"),
        _f(Key.LISTED, DEC, "the processors the MADT lists, usable or not"),
        _f(Key.APIC_MODE, NAME, "", ApicMode), _f(Key.APIC, H32, "the boot CPU's APIC ID"),
        _f(Key.MADT, H32, "where the MADT is"), _f(Key.ADDRESS, H32, "the APs' start-up page below 1 MiB"),
        _f(Key.RUN, NAME, "", CpuRun),
        _f(Key.TSC_KHZ, DEC, "the TSC rate the SIPI delays use, measured against the PIT (only when APs "
                                       "are started)")),
        text="why the MADT was not used, when it was not"),
    RecordSpec(Rec.PROCESSOR, "protocol 2: one processor the MADT names (or that answered the broadcast)", (
        _f(Key.APIC, H32, "its (x2)APIC ID"), _f(Key.KIND, NAME, "", ProcessorKind),
        _f(Key.UID, DEC, "its ACPI processor UID"), _f(Key.FLAGS, H32, "the MADT entry's flags: bit 0 enabled, "
                                                                       "bit 1 online capable"),
        _f(Key.USABLE, NAME, "", YesNo), _f(Key.INDEX, DEC, "the section it reports in, when usable"))),
    RecordSpec(Rec.CPU, "protocol 2: a CPU's section begins (`state=begin`) and ends (`state=end`); the records "
               "between are that CPU's", (
        _f(Key.INDEX, DEC), _f(Key.STATE, NAME, "", SectionState), _f(Key.APIC, H32, "begin: its APIC ID"),
        _f(Key.STATUS, NAME, "end: how the CPU's run ended", CpuStatus),
        _f(Key.JOIN_US, DEC, "end, an AP: microseconds from its first SIPI until it reached the stub's code"),
        _f(Key.STEP, NAME, "end, timeout: the step the CPU was in", Step))),
    RecordSpec(Rec.POWEROFF, "how the stub ends the run: an emulator's exit port, or halting with the verdict on "
               "screen", (_f(Key.METHOD, NAME, "", PowerOff), _f(Key.EMULATOR, NAME, "", Emulator))),
    RecordSpec(Rec.VERDICT, "the stub's verdict, exactly one per CPU, with the failure's detail", (
        _f(Key.NAME, NAME, "", Verdict), _f(Key.VECTOR, DEC), _f(Key.EIP, H32), _f(Key.MSR, H32),
        _f(Key.INSN, NAME, "", Insn), _f(Key.ATTEMPT, DEC, "2: a second VMXON"), _f(Key.OUTCOME, NAME, "", Outcome),
        _f(Key.CF, DEC), _f(Key.ZF, DEC), _f(Key.INSN_ERROR, DEC), _f(Key.REGION_SIZE, DEC), _f(Key.CR0, H32),
        _f(Key.REVISION, H32), _f(Key.MODE, NAME, "", Mode), _f(Key.ENTRY_FAILURE_REASON, DEC),
        _f(Key.QUALIFICATION, H32),
        _f(Key.EXITS, DEC), _f(Key.FIELD, H32), _f(Key.CAUSE, NAME, "", Cause),
        _f(Key.CODE, H32, "vmrun-failed: the #VMEXIT code"),
        _f(Key.STATUS, NAME, "unresponsive: how the CPU's section ended", CpuStatus)),
        text="why, for people"),
)

BY_TYPE: dict[Rec, RecordSpec] = {spec.type: spec for spec in SCHEMA}

#: What each check verifies (docs/protocol.md).
CHECK_DOCS: dict[Check, str] = {
    Check.CPU_VENDOR: "vendor string (info)",
    Check.HYPERVISOR_PRESENT: "CPUID.1:ECX[31] (info)",
    Check.CPUID_VMX: "CPUID.1:ECX.VMX[bit 5]",
    Check.FEATURE_CONTROL: "IA32_FEATURE_CONTROL: `state` is `enabled-by-firmware` (locked, bit 2 set), "
                           "`disabled-by-firmware` (locked, bit 2 clear), `enabled-by-stub` (was unlocked: the stub "
                           "set bit 2 and the lock bit), `write-ignored` (was unlocked, the write did not stick) or "
                           "`write-faulted` (was unlocked, the write raised an exception)",
    Check.CR4_VMXE_FREE: "CR4.VMXE was clear when the loader handed over",
    Check.VMX_BASIC: "IA32_VMX_BASIC: revision, region size, 32-bit address limit, memory type, true controls",
    Check.CR0_PE_NE_PG: "CR0.PE, NE and PG are set",
    Check.CR0_FIXED: "CR0 against IA32_VMX_CR0_FIXED0/1; `missing` = bits that must be 1, `forbidden` = bits that "
                     "must be 0",
    Check.CR4_FIXED: "CR4 against IA32_VMX_CR4_FIXED0/1, checked with VMXE set",
    Check.PAGING: "only written when enabling paging failed (no PAE, or an exception: `vector`)",
    Check.CPUID_SVM: "CPUID Fn8000_0001_ECX.SVM[bit 2] (AMD and Hygon CPUs)",
    Check.VM_CR: "VM_CR (MSR 0xC0010114): `state` is `enabled` (SVMDIS clear), `disabled-by-firmware` (SVMDIS and "
                 "LOCK set), `enabled-by-stub` (SVMDIS set, unlocked: the stub cleared it), `write-ignored` (that "
                 "did not stick) or `absent` (reading it raised #GP, as on Bochs 2.7: no firmware lock)",
    Check.EFER_SVME_FREE: "EFER.SVME was clear: no other hypervisor holds SVM",
}
