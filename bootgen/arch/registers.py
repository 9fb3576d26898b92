"""Control-register and flag bits (SDM Vol. 3A, 2.5 "Control Registers"; Vol. 1, 3.4.3 "EFLAGS Register")."""

from __future__ import annotations

from .bits import Bit

CR0_BITS = (
    Bit(0, "pe", "PE"), Bit(1, "mp", "MP"), Bit(2, "em", "EM"), Bit(3, "ts", "TS"), Bit(4, "et", "ET"),
    Bit(5, "ne", "NE"), Bit(16, "wp", "WP"), Bit(18, "am", "AM"), Bit(29, "nw", "NW"), Bit(30, "cd", "CD"),
    Bit(31, "pg", "PG"),
)

CR4_BITS = (
    Bit(0, "vme", "VME"), Bit(1, "pvi", "PVI"), Bit(2, "tsd", "TSD"), Bit(3, "de", "DE"), Bit(4, "pse", "PSE"),
    Bit(5, "pae", "PAE"), Bit(6, "mce", "MCE"), Bit(7, "pge", "PGE"), Bit(8, "pce", "PCE"),
    Bit(9, "osfxsr", "OSFXSR"), Bit(10, "osxmmexcpt", "OSXMMEXCPT"), Bit(11, "umip", "UMIP"),
    Bit(12, "la57", "LA57"), Bit(13, "vmxe", "VMXE"), Bit(14, "smxe", "SMXE"), Bit(16, "fsgsbase", "FSGSBASE"),
    Bit(17, "pcide", "PCIDE"), Bit(18, "osxsave", "OSXSAVE"), Bit(19, "kl", "KL"), Bit(20, "smep", "SMEP"),
    Bit(21, "smap", "SMAP"), Bit(22, "pke", "PKE"), Bit(23, "cet", "CET"), Bit(24, "pks", "PKS"),
    Bit(25, "uintr", "UINTR"),
)

EFLAGS_BITS = (
    Bit(0, "cf", "CF"), Bit(1, "reserved1", "Reserved (always 1)"), Bit(2, "pf", "PF"), Bit(4, "af", "AF"),
    Bit(6, "zf", "ZF"), Bit(7, "sf", "SF"), Bit(9, "if", "IF"), Bit(11, "of", "OF"), Bit(18, "ac", "AC"),
)

# CPUID feature bits the stub and the host read (SDM Vol. 2A, CPUID, "Feature Information").
CPUID1_ECX_BITS = (
    Bit(5, "vmx", "Virtual Machine Extensions"),
    Bit(6, "smx", "Safer Mode Extensions"),
    Bit(21, "x2apic", "x2APIC"),
    Bit(31, "hypervisor", "Running under a hypervisor (reserved for hypervisors)"),
)
CPUID1_EDX_BITS = (
    Bit(4, "tsc", "Time Stamp Counter"),
    Bit(6, "pae", "Physical Address Extension"),
    Bit(7, "mce", "Machine Check Exception"),
    Bit(9, "apic", "On-chip APIC"),
    Bit(12, "mtrr", "Memory Type Range Registers"),
    Bit(16, "pat", "Page Attribute Table"),
)

# CPUID leaves the stub dumps (SDM Vol. 2A, CPUID).
CPUID_LEAF_VENDOR = 0x00000000
CPUID_LEAF_FEATURES = 0x00000001
#: Extended topology: EDX is the x2APIC ID of the running logical processor (not dumped; the APIC code uses it).
CPUID_LEAF_TOPOLOGY = 0x0000000B
CPUID_LEAF_HYPERVISOR = 0x40000000
CPUID_LEAF_EXTENDED_MAX = 0x80000000
CPUID_LEAF_BRAND_FIRST = 0x80000002
CPUID_LEAF_BRAND_LAST = 0x80000004
CPUID_LEAF_ADDRESS_SIZES = 0x80000008
#: The physical-address width when CPUID.80000008H is missing (SDM Vol. 3A, 4.1.4).
DEFAULT_PHYSICAL_ADDRESS_BITS = 36
