"""Exception and interrupt vectors 0-31 (SDM Vol. 3A, 6.3 "Sources of Interrupts", table 6-1
"Protected-Mode Exceptions and Interrupts")."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Vector:
    number: int
    mnemonic: str     # "#GP"; "NMI"; "res" for reserved vectors
    name: str
    error_code: bool  # the CPU pushes an error code


VECTORS: tuple[Vector, ...] = (
    Vector(0, "#DE", "divide error", False),
    Vector(1, "#DB", "debug", False),
    Vector(2, "NMI", "non-maskable interrupt", False),
    Vector(3, "#BP", "breakpoint", False),
    Vector(4, "#OF", "overflow", False),
    Vector(5, "#BR", "BOUND range exceeded", False),
    Vector(6, "#UD", "invalid opcode", False),
    Vector(7, "#NM", "device not available", False),
    Vector(8, "#DF", "double fault", True),
    Vector(9, "CSO", "coprocessor segment overrun", False),
    Vector(10, "#TS", "invalid TSS", True),
    Vector(11, "#NP", "segment not present", True),
    Vector(12, "#SS", "stack-segment fault", True),
    Vector(13, "#GP", "general protection", True),
    Vector(14, "#PF", "page fault", True),
    Vector(15, "res", "reserved", False),
    Vector(16, "#MF", "x87 floating-point error", False),
    Vector(17, "#AC", "alignment check", True),
    Vector(18, "#MC", "machine check", False),
    Vector(19, "#XM", "SIMD floating-point exception", False),
    Vector(20, "#VE", "virtualization exception", False),
    Vector(21, "#CP", "control protection", True),
    *(Vector(n, "res", "reserved", False) for n in range(22, 28)),
    Vector(28, "#HV", "hypervisor injection (AMD)", False),
    Vector(29, "#VC", "VMM communication (AMD)", True),
    Vector(30, "#SX", "security exception (AMD)", True),
    Vector(31, "res", "reserved", False),
)

NMI = 2
UD = 6
DF = 8
GP = 13
PF = 14
MC = 18


def mnemonic(vector: int) -> str:
    """"#GP" for 13; "vector N" for a vector outside 0-31."""
    return VECTORS[vector].mnemonic if 0 <= vector < len(VECTORS) else f"vector {vector}"


def describe(vector: int | str | None) -> str:
    """"#GP (vector 13)", for people; "an exception" when the vector is unknown (a report may hold anything)."""
    if vector is None:
        return "an exception"
    if not isinstance(vector, int):
        return f"exception (vector {vector})"
    if 0 <= vector < len(VECTORS) and VECTORS[vector].mnemonic != "res":
        return f"{VECTORS[vector].mnemonic} (vector {vector})"
    return f"exception (vector {vector})"
