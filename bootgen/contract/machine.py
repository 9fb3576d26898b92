"""Value sets of the machine-wide records: warnings, memory mappings, how the stub was loaded and ended.

Part of the record contract (``contract.records`` re-exports them and gives their C prefixes).
"""

from __future__ import annotations

import enum


class WarningKind(enum.StrEnum):
    UNKNOWN_OPTION = "unknown-option"
    INJECT_NOT_APPLICABLE = "inject-not-applicable"
    SERIAL_ABSENT = "serial-absent"         # no UART answered at the configured port (said first and last)
    SERIAL_STUCK = "serial-stuck"           # the UART stopped taking bytes during the run (said last)
    VMCS_MEMORY_TYPE = "vmcs-memory-type"   # IA32_VMX_BASIC asks for a VMCS memory type other than WB
    VMXE_STUCK = "vmxe-stuck"               # CR4.VMXE could not be cleared
    UNMAPPED = "unmapped"                   # a range the stub needed could not be mapped (map what= names it)
    CPU_LIMIT = "cpu-limit"                 # more CPUs than the stub checks (contract.smp.CPU_MAX)
    NO_TIMER = "no-timer"                   # the PIT did not count: SIPI delays use a TSC rate assumed high


class MapWhat(enum.StrEnum):
    """What a ``map`` record maps: all the memory the stub touches once paging is on."""

    IMAGE = "image"                         # the stub itself: code, data, stacks, page tables, VMX regions
    MULTIBOOT = "multiboot"                 # the loader's information: the structure, strings, memory map
    VGA_TEXT = "vga-text"                   # the VGA text buffer
    FRAMEBUFFER = "framebuffer"             # the loader's linear framebuffer
    APIC = "apic"                           # the local APIC's registers (xAPIC mode)
    CPUS = "cpus"                           # the APs' per-CPU structures (stacks, regions, report buffers)


class BootProtocol(enum.StrEnum):
    """How the stub was loaded (``boot protocol=``), told by the magic in EAX."""

    MULTIBOOT1 = "multiboot1"               # Multiboot 0.6.96: QEMU -kernel, GRUB's multiboot (BIOS)
    MULTIBOOT2 = "multiboot2"               # Multiboot2 1.6: GRUB's multiboot2 (UEFI)
    UNKNOWN = "unknown"                     # another magic: no loader information is used


class CacheType(enum.StrEnum):
    """The memory type a mapping asks for through the PAT (SDM Vol. 3A, 12.12 "Page Attribute Table")."""

    WB = "wb"                               # write-back: the MTRRs decide (RAM)
    WC = "wc"                               # write-combining: the framebuffer
    UC = "uc"                               # uncacheable: device registers, VGA text


class PowerOff(enum.StrEnum):
    """How the stub ended the run (``poweroff method=...``)."""

    QEMU_DEBUG_EXIT = "qemu-debug-exit"
    BOCHS_SHUTDOWN = "bochs-shutdown"
    HALT = "halt"                           # real hardware: the verdict stays on screen


class Emulator(enum.StrEnum):
    """The emulator the stub found itself on (``poweroff emulator=...``), by its own signature."""

    QEMU = "qemu"                           # fw_cfg answers "QEMU"
    BOCHS = "bochs"                         # port 0xE9 reads back 0xE9
    NONE = "none"                           # neither: real hardware, or another hypervisor
