"""AMD-V (Secure Virtual Machine) facts: CPUID bits, MSRs, VMCB intercepts and #VMEXIT codes.

The rule book is the AMD64 Architecture Programmer's Manual (APM), Vol. 2,
chapter 15 "Secure Virtual Machine", and Vol. 3, appendix E (CPUID).
"""

from __future__ import annotations

from dataclasses import dataclass

from .bits import Bit

#: The vendor strings of CPUs with AMD-V (APM Vol. 3, E.3.1; Hygon's Dhyana is AMD's Zen).
VENDORS = ("AuthenticAMD", "HygonGenuine")

# CPUID (APM Vol. 3, E.4.2 and E.4.9).
CPUID_LEAF_EXTENDED_FEATURES = 0x80000001
CPUID_LEAF_SVM = 0x8000000A
#: CPUID Fn8000_0001_ECX.
EXTENDED_FEATURES_ECX_BITS = (
    Bit(2, "svm", "Secure virtual machine (AMD-V)"),
)
#: CPUID Fn8000_000A_EDX: the SVM features (APM Vol. 3, E.4.9; Vol. 2, 15.4).
SVM_FEATURE_BITS = (
    Bit(0, "np", "Nested paging"),
    Bit(1, "lbr_virt", "LBR virtualization"),
    Bit(2, "svm_lock", "SVM lock (VM_CR.LOCK unlockable with a key)"),
    Bit(3, "nrip_save", "NRIP save: the next RIP on #VMEXIT"),
    Bit(4, "tsc_rate_msr", "TSC rate MSR"),
    Bit(5, "vmcb_clean", "VMCB clean bits"),
    Bit(6, "flush_by_asid", "Flush by ASID"),
    Bit(7, "decode_assists", "Decode assists"),
    Bit(10, "pause_filter", "Pause intercept filter"),
    Bit(12, "pause_filter_threshold", "Pause filter threshold"),
    Bit(13, "avic", "AMD virtual interrupt controller (AVIC)"),
    Bit(15, "vmsave_virt", "VMSAVE and VMLOAD virtualization"),
    Bit(16, "vgif", "Virtual global interrupt flag"),
    Bit(17, "gmet", "Guest mode execute trap"),
    Bit(18, "x2avic", "x2APIC mode of AVIC"),
    Bit(19, "sss_check", "Supervisor shadow stack restrictions"),
    Bit(20, "spec_ctrl", "SPEC_CTRL virtualization"),
    Bit(25, "vnmi", "Virtual NMI"),
    Bit(28, "svme_addr_chk", "SVME address check"),
)
#: CPUID Fn8000_000A_EAX[7:0]: the SVM revision; EBX: the number of ASIDs.
SVM_REVISION_MASK = 0xFF

# MSRs (APM Vol. 2, 15.30 "SVM-Related MSRs").
VM_CR = 0xC0010114
VM_HSAVE_PA = 0xC0010117
#: index -> the APM's name.
NAMES: dict[int, str] = {VM_CR: "VM_CR", VM_HSAVE_PA: "VM_HSAVE_PA"}
#: VM_CR (APM Vol. 2, 15.30.1).
VM_CR_BITS = (
    Bit(0, "dpd", "Debug port disable"),
    Bit(1, "r_init", "INIT redirected to #SX"),
    Bit(2, "dis_a20m", "A20M# disabled"),
    Bit(3, "lock", "SVMDIS is read-only (locked)"),
    Bit(4, "svmdis", "SVM disabled: EFER.SVME cannot be set"),
)

# VMCB intercept words (APM Vol. 2, appendix B, table B-1): the word's offset and the bit.
INTERCEPT_MISC1_OFFSET = 0x0C
INTERCEPT_MISC2_OFFSET = 0x10
INTERCEPT_MISC1_BITS = (
    Bit(0, "intr", "Physical INTR"),
    Bit(1, "nmi", "Physical NMI"),
    Bit(2, "smi", "Physical SMI"),
    Bit(3, "init", "INIT"),
    Bit(18, "cpuid", "CPUID"),
    Bit(24, "hlt", "HLT"),
    Bit(27, "ioio_prot", "IN/OUT through the I/O permission map"),
    Bit(28, "msr_prot", "RDMSR/WRMSR through the MSR permission map"),
    Bit(31, "shutdown", "Shutdown (a triple fault in the guest)"),
)
INTERCEPT_MISC2_BITS = (
    Bit(0, "vmrun", "VMRUN (must be set: APM 15.5.1)"),
    Bit(1, "vmmcall", "VMMCALL"),
)


@dataclass(frozen=True)
class ExitCode:
    number: int
    key: str      # snake_case; the stub's SVM_EXIT_<KEY>
    name: str     # the APM's name (appendix C)


#: #VMEXIT codes (APM Vol. 2, appendix C "SVM Intercept Exit Codes"); exceptions are 0x40 + vector.
EXIT_CODES: tuple[ExitCode, ...] = tuple(ExitCode(n, k, s) for n, k, s in (
    (0x40, "exception_de", "#DE"), (0x41, "exception_db", "#DB"), (0x42, "exception_nmi", "NMI as exception"),
    (0x43, "exception_bp", "#BP"), (0x46, "exception_ud", "#UD"), (0x48, "exception_df", "#DF"),
    (0x4D, "exception_gp", "#GP"), (0x4E, "exception_pf", "#PF"), (0x52, "exception_mc", "#MC"),
    (0x60, "intr", "INTR"), (0x61, "nmi", "NMI"), (0x62, "smi", "SMI"), (0x63, "init", "INIT"),
    (0x64, "vintr", "VINTR"), (0x72, "cpuid", "CPUID"), (0x74, "iret", "IRET"), (0x78, "hlt", "HLT"),
    (0x7B, "ioio", "IOIO"), (0x7C, "msr", "MSR"), (0x7F, "shutdown", "shutdown"), (0x80, "vmrun", "VMRUN"),
    (0x81, "vmmcall", "VMMCALL"), (0x82, "vmload", "VMLOAD"), (0x83, "vmsave", "VMSAVE"), (0x84, "stgi", "STGI"),
    (0x85, "clgi", "CLGI"), (0x400, "npf", "nested page fault"),
))
#: The exit code of a VMRUN whose VMCB failed the consistency checks (APM 15.5.1): -1, as its low 32 bits.
EXIT_INVALID = 0xFFFFFFFF
BY_NUMBER: dict[int, ExitCode] = {c.number: c for c in EXIT_CODES}
BY_KEY: dict[str, ExitCode] = {c.key: c for c in EXIT_CODES}

#: EXITINFO1 of an IOIO intercept (APM Vol. 2, 15.10.2, figure 15-2).
IOIO_TYPE_IN = 1 << 0
IOIO_SIZE8 = 1 << 4
IOIO_PORT_SHIFT = 16


def exit_code_name(code: int) -> str:
    if code == EXIT_INVALID:
        return "VMEXIT_INVALID"
    known = BY_NUMBER.get(code)
    if known is not None:
        return known.name
    if 0x40 <= code < 0x60:
        return f"exception {code - 0x40}"
    return f"exit code {code:#x}"
