"""The typed report: what the stub found, as objects.

``bootgen.report.reader`` builds a :class:`Report` once from the wire records;
decoding, the verdict, advice and every renderer use it. A :class:`Report`
holds the machine-wide records (boot, config, warnings) and one
:class:`CpuReport` per logical CPU (protocol version 1 reports the boot CPU
only). Numbers that did not parse are None; each record keeps its fields as
written (``raw``) for outputs that show them verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from ..contract.records import Outcome
from .smp import Cpus, Processor

Raw = Mapping[str, str]


@dataclass(frozen=True)
class Framing:
    """How the report arrived: whole or not, and why not."""

    found_begin: bool = False
    complete: bool = False
    problem: str | None = None
    protocol: int | None = None
    stub_version: str | None = None
    record_count: int = 0
    begin_count: int = 0         # more than one: the machine restarted
    preamble: str = ""           # output before the begin line (firmware, loader)

    @property
    def restarts(self) -> int:
        return max(self.begin_count - 1, 0)


@dataclass(frozen=True)
class Boot:
    magic: int | None
    mbi_flags: int | None
    loader: str | None
    framebuffer_type: int | None
    raw: Raw = field(default_factory=dict)
    protocol: str | None = None         # multiboot1 | multiboot2 | unknown
    rsdp: int | None = None             # multiboot2: the loader's copy of the ACPI RSDP
    rsdp_revision: int | None = None
    efi_systab: int | None = None


@dataclass(frozen=True)
class Config:
    serial: int | None
    screen: str | None
    inject: str | None
    mode: str | None
    raw: Raw = field(default_factory=dict)
    cpus: str | None = None             # protocol 2: contract.smp.CpusOption
    inject_cpu: int | None = None       # protocol 2: the CPU (section index) an injection acts on


@dataclass(frozen=True)
class Warning:
    what: str | None
    option: str | None
    text: str
    raw: Raw = field(default_factory=dict)
    cpu: int | None = None              # protocol 2: the section it was written in (None: outside every one)


@dataclass(frozen=True)
class CpuidLeaf:
    leaf: int
    subleaf: int
    eax: int
    ebx: int
    ecx: int
    edx: int

    @property
    def regs(self) -> tuple[int, int, int, int]:
        return self.eax, self.ebx, self.ecx, self.edx


@dataclass(frozen=True)
class MsrRead:
    index: int
    value: int | None            # None: the read faulted (or the value did not parse)
    fault: int | None            # the vector the read raised
    phase: str | None


@dataclass(frozen=True)
class MsrWrite:
    index: int | None
    value: int | None
    fault: int | None


@dataclass(frozen=True)
class CrSnapshot:
    phase: str | None
    cr0: int | None
    cr3: int | None
    cr4: int | None
    efer: int | None
    raw: Raw = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    name: str | None
    state: str | None


@dataclass(frozen=True)
class CheckResult:
    """One readiness check: its name, result and the values it looked at (``values``, numbers parsed)."""

    name: str | None
    result: str | None
    values: Mapping[str, int | str]
    text: str
    raw: Raw = field(default_factory=dict)

    def number(self, key: str) -> int | None:
        value = self.values.get(key)
        return value if isinstance(value, int) else None

    def name_value(self, key: str) -> str | None:
        value = self.values.get(key)
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class VmxInstruction:
    """What one VMX instruction did."""

    insn: str | None
    outcome: str | None
    cf: int | None
    zf: int | None
    vector: int | None
    error_code: int | None
    insn_error: int | None
    eflags: int | None
    vmcs_field: int | None       # VMWRITE: the field written
    raw: Raw = field(default_factory=dict)
    step: str | None = None      # the step that was running when the stub recorded it

    @property
    def succeeded(self) -> bool:
        return self.outcome == Outcome.SUCCESS and not self.cf and not self.zf


@dataclass(frozen=True)
class Region:
    """A VMXON or VMCS region as the stub prepared it."""

    address: int | None
    revision: int | None
    size: int | None


@dataclass(frozen=True)
class ControlWord:
    """A VMX control word the stub computed from its capability MSR."""

    name: str | None
    msr: int | None
    fault: int | None
    wanted: int | None
    allowed0: int | None
    allowed1: int | None
    value: int | None
    refused: int | None
    raw: Raw = field(default_factory=dict)


@dataclass(frozen=True)
class GuestSetup:
    entry: int | None
    stack: int | None
    host_rip: int | None


@dataclass(frozen=True)
class VmExit:
    n: int | None
    reason: int | None
    qualification: int | None
    rip: int | None
    length: int | None


@dataclass(frozen=True)
class SvmExit:
    """One #VMEXIT (AMD APM Vol. 2, 15.6): its code, EXITINFO1/2, the guest's RIP and the saved next RIP."""

    n: int | None
    code: int | None
    info1: int | None
    info2: int | None
    rip: int | None
    next_rip: int | None


@dataclass(frozen=True)
class Vmcb:
    """The VMCB as VMRUN got it."""

    address: int | None
    hsave: int | None
    asid: int | None
    intercepts: int | None
    efer: int | None
    cr0: int | None
    nested_paging: bool | None
    nrip_save: bool | None


@dataclass(frozen=True)
class EntryFailure:
    reason: int | None
    exit_reason: int | None
    qualification: int | None


@dataclass(frozen=True)
class GuestTrace:
    exits: int | None
    expected: bool
    vmcall_value: int | None


@dataclass(frozen=True)
class ExceptionReport:
    """An unexpected exception: every field, numbers parsed where they parse."""

    values: Mapping[str, int | str]

    def number(self, key: str) -> int | None:
        value = self.values.get(key)
        return value if isinstance(value, int) else None

    @property
    def vector(self) -> int | None:
        return self.number("vector")

    @property
    def step(self) -> str | None:
        value = self.values.get("step")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Nmis:
    """The NMIs the stub took and went on from: in the host, and as VM exits of the guest."""

    host: int | None
    guest: int | None


@dataclass(frozen=True)
class MemoryMapping:
    """A range the stub mapped before turning paging on: where it is, where it is reached, its memory type."""

    what: str | None
    phys: int | None
    linear: int | None
    size: int | None
    cache: str | None
    page_kib: int | None


@dataclass(frozen=True)
class PowerOff:
    """How the stub ended the run: an emulator's exit port, or a halt with the verdict on screen."""

    method: str | None
    emulator: str | None


@dataclass(frozen=True)
class StubVerdict:
    """The stub's verdict record: its name, detail fields (numbers parsed) and text."""

    name: str | None
    detail: Mapping[str, int | str]
    text: str


@dataclass
class CpuReport:
    """Everything one logical CPU reported, in report order within each list; protocol 2 adds its section's
    begin and end (a version 1 report, or records outside every section: the boot CPU's, began False)."""

    index: int = 0
    apic_id: int | None = None          # the section's begin record
    began: bool = False
    ended: bool = False
    status: str | None = None           # contract.smp.CpuStatus, from the section's end record
    join_us: int | None = None          # an AP: microseconds from its first SIPI until it reached the stub
    end_step: str | None = None         # status=timeout: the step the CPU was in
    cpuid: list[CpuidLeaf] = field(default_factory=list)
    msrs: list[MsrRead] = field(default_factory=list)
    msr_writes: list[MsrWrite] = field(default_factory=list)
    control_registers: list[CrSnapshot] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    vmx: list[VmxInstruction] = field(default_factory=list)
    vmxon_region: Region | None = None
    vmcs_region: Region | None = None
    controls: list[ControlWord] = field(default_factory=list)
    guest: GuestSetup | None = None
    exits: list[VmExit] = field(default_factory=list)
    vmcall_values: list[int | None] = field(default_factory=list)
    entry_failure: EntryFailure | None = None
    guest_trace: GuestTrace | None = None
    exceptions: list[ExceptionReport] = field(default_factory=list)
    nmis: Nmis | None = None
    verdicts: list[StubVerdict] = field(default_factory=list)
    svm_instructions: list[VmxInstruction] = field(default_factory=list)  # AMD-V: instructions that faulted
    vmcb: Vmcb | None = None
    svm_exits: list[SvmExit] = field(default_factory=list)

    def cpuid_leaf(self, leaf: int, subleaf: int = 0) -> CpuidLeaf | None:
        return next((r for r in self.cpuid if r.leaf == leaf and r.subleaf == subleaf), None)

    def msr(self, index: int, phase: str | None = None) -> int | None:
        """The first value read from an MSR (in that phase, when given)."""
        return next((r.value for r in self.msrs if r.index == index and r.value is not None
                     and (phase is None or r.phase == phase)), None)

    def check(self, name: str) -> CheckResult | None:
        return next((c for c in self.checks if c.name == name), None)

    def instruction(self, insn: str) -> VmxInstruction | None:
        """The first record of this VMX instruction."""
        return next((r for r in self.vmx if r.insn == insn), None)

    def instructions(self, insn: str) -> list[VmxInstruction]:
        return [r for r in self.vmx if r.insn == insn]

    def registers(self, phase: str) -> CrSnapshot | None:
        return next((r for r in self.control_registers if r.phase == phase), None)

    def control_word(self, name: str) -> ControlWord | None:
        return next((c for c in self.controls if c.name == name), None)

    @property
    def exception(self) -> ExceptionReport | None:
        return self.exceptions[0] if self.exceptions else None

    @property
    def verdict(self) -> StubVerdict | None:
        """This CPU's verdict record when it holds exactly one."""
        return self.verdicts[0] if len(self.verdicts) == 1 else None

    @property
    def vmcall_value(self) -> int | None:
        return self.vmcall_values[0] if self.vmcall_values else None


@dataclass
class Report:
    """A whole report: its framing, the machine-wide records and one CpuReport per CPU."""

    framing: Framing = field(default_factory=Framing)
    boot: Boot | None = None
    config: Config | None = None
    warnings: list[Warning] = field(default_factory=list)
    poweroff: PowerOff | None = None
    mappings: list[MemoryMapping] = field(default_factory=list)
    cpus: list[CpuReport] = field(default_factory=lambda: [CpuReport()])
    unknown_records: int = 0     # well-formed records of a type this bootgen does not know
    smp: Cpus | None = None                                   # protocol 2: the cpus record
    processors: list[Processor] = field(default_factory=list)  # protocol 2: the processor records
    section_order: list[int] = field(default_factory=list)     # the sections' indices, as they began
    section_problems: list[str] = field(default_factory=list)  # sections that do not nest or repeat

    @property
    def boot_cpu(self) -> CpuReport:
        return self.cpus[0]

    @property
    def sectioned(self) -> bool:
        """The report has per-CPU sections (or their summary): protocol 2's multi-CPU form."""
        return bool(self.section_order or self.smp is not None or self.section_problems)

    @property
    def verdict(self) -> StubVerdict | None:
        """The boot CPU's verdict, only when the report is complete and its CPU holds exactly one (each CPU's
        section holds its own: CpuReport.verdict)."""
        return self.boot_cpu.verdict if self.framing.complete else None
