"""The building block of the architecture tables: a named bit or bit field."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bit:
    """One bit (``width`` 1) or bit field: position, a snake_case key and the manual's name for it."""

    bit: int
    key: str
    name: str
    width: int = 1

    def get(self, value: int) -> int:
        """This field's value inside ``value``."""
        return value >> self.bit & ((1 << self.width) - 1)

    def is_set(self, value: int | None) -> bool:
        return value is not None and bool(self.get(value))


def bit_named(bits: tuple[Bit, ...], key: str) -> Bit:
    """The bit with this key; KeyError names the key when a table has no such bit."""
    for bit in bits:
        if bit.key == key:
            return bit
    raise KeyError(f"no bit {key!r}")


def set_bits(value: int, width: int = 64) -> list[int]:
    """The positions of the bits set in ``value``, lowest first."""
    return [b for b in range(width) if value >> b & 1]
