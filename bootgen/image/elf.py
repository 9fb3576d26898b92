"""Read the linked stub back with lief and check what a multiboot loader needs.

Checks (Multiboot Specification 0.6.96, 3.1): the header is in the first
8 KiB, 32-bit aligned, with magic + flags + checksum = 0; the entry point
lies in an executable LOAD segment; every LOAD segment lies inside the file.
And what VMX needs: the VMXON region and the page directory 4 KiB aligned
(SDM Vol. 3C, 25.11.5 "VMXON Region"). Also writes the embedded command line.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from ..contract import project
from ..errors import BuildError, UsageError

MULTIBOOT_MAGIC = 0x1BADB002
MULTIBOOT_SEARCH_BYTES = 8192
#: Multiboot2 1.6, 3.1: the header is 8-byte aligned within the first 32768 bytes.
MULTIBOOT2_MAGIC = 0xE85250D6
MULTIBOOT2_SEARCH_BYTES = 32768
CMDLINE_SECTION = project.EMBEDDED_CMDLINE_SECTION
#: Symbols VMX and paging need 4 KiB aligned: the page tables, and the per-CPU structures whose VMXON and
#: VMCS regions come first (stage/include/cpu.h checks the offsets inside them at compile time).
ALIGNED_SYMBOLS = {"boot_cpu": 4096, "page_directory": 4096}
#: Stubs built before the APs were started had the structures as an array; before that, the boot CPU's
#: regions as symbols of their own.
LEGACY_CPU_ARRAY = "cpus"
LEGACY_REGION_SYMBOLS = {"vmxon_region": 4096, "vmcs_region": 4096}


@dataclass(frozen=True)
class StubLayout:
    entry: int
    multiboot_offset: int
    multiboot_flags: int
    loaded_bytes: int         # file-backed bytes of the LOAD segments (text + data, no bss)
    memory_bytes: int         # what the image occupies in memory, bss included
    cmdline_offset: int       # file offset of the embedded command line
    cmdline_size: int


def find_multiboot_header(data: bytes) -> tuple[int, int] | None:
    """(offset, flags) of the first valid multiboot v1 header in the first 8 KiB."""
    limit = min(len(data), MULTIBOOT_SEARCH_BYTES) - 12
    for offset in range(0, limit + 1, 4):
        magic, flags, checksum = struct.unpack_from("<III", data, offset)
        if magic == MULTIBOOT_MAGIC and (magic + flags + checksum) & 0xFFFFFFFF == 0:
            return offset, flags
    return None


def find_multiboot2_header(data: bytes) -> int | None:
    """The offset of the first valid multiboot2 header (magic, architecture, length, checksum), or None."""
    limit = min(len(data), MULTIBOOT2_SEARCH_BYTES) - 16
    for offset in range(0, limit + 1, 8):
        magic, arch, length, checksum = struct.unpack_from("<IIII", data, offset)
        if magic == MULTIBOOT2_MAGIC and (magic + arch + length + checksum) & 0xFFFFFFFF == 0 and length >= 16:
            return offset
    return None


def inspect_stub(path: Path) -> StubLayout:
    """Validate ``path`` as a bootgen stub; BuildError with one clear line otherwise."""
    import lief  # slow to import: only here

    lief.logging.disable()  # lief prints its own parse errors; ours is the one line the user sees

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    if data[:4] != b"\x7fELF" or len(data) < 52:
        raise BuildError(f"{path} is not an ELF file")
    # e_ident[EI_CLASS] = 1 (ELF32), e_machine = 3 (EM_386): checked before lief sees odd values.
    if data[4] != 1 or struct.unpack_from("<H", data, 18)[0] != 3:
        raise BuildError(f"{path} is not a 32-bit x86 ELF (multiboot loaders need ELF32 i386)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lief warns about malformed fields; our message says it once
        binary = lief.ELF.parse(list(data))
    if binary is None:
        raise BuildError(f"{path} is not a valid ELF file")

    header = find_multiboot_header(data)
    if header is None:
        raise BuildError(f"{path}: no valid multiboot header in the first {MULTIBOOT_SEARCH_BYTES} bytes")

    loads = [s for s in binary.segments if s.type == lief.ELF.Segment.TYPE.LOAD]
    if not loads:
        raise BuildError(f"{path}: no LOAD segment")
    for seg in loads:
        if seg.file_offset + seg.physical_size > len(data):
            raise BuildError(f"{path}: a LOAD segment runs past the end of the file")
    entry = binary.header.entrypoint
    if not any(s.virtual_address <= entry < s.virtual_address + s.virtual_size
               and s.has(lief.ELF.Segment.FLAGS.X) for s in loads):
        raise BuildError(f"{path}: entry point {entry:#x} is not inside an executable LOAD segment")

    wanted = {**ALIGNED_SYMBOLS, **LEGACY_REGION_SYMBOLS, LEGACY_CPU_ARRAY: 4096}
    symbols = {s.name: s.value for s in binary.symbols if s.name in wanted}
    required = dict(ALIGNED_SYMBOLS)
    if "boot_cpu" not in symbols and LEGACY_CPU_ARRAY in symbols:
        del required["boot_cpu"]
        required[LEGACY_CPU_ARRAY] = 4096
    elif "boot_cpu" not in symbols and all(name in symbols for name in LEGACY_REGION_SYMBOLS):
        del required["boot_cpu"]
        required.update(LEGACY_REGION_SYMBOLS)
    for name, alignment in required.items():
        if name not in symbols:
            raise BuildError(f"{path}: symbol {name} not found")
        if symbols[name] % alignment:
            raise BuildError(f"{path}: {name} at {symbols[name]:#x} is not {alignment}-byte aligned")

    section = binary.get_section(CMDLINE_SECTION)
    if section is None:
        raise BuildError(f"{path}: section {CMDLINE_SECTION} not found")

    start = min(s.virtual_address for s in loads)
    end = max(s.virtual_address + s.virtual_size for s in loads)
    return StubLayout(
        entry=entry, multiboot_offset=header[0], multiboot_flags=header[1],
        loaded_bytes=sum(s.physical_size for s in loads), memory_bytes=end - start,
        cmdline_offset=section.file_offset, cmdline_size=section.size,
    )


LAYOUT_CACHE_VERSION = 2  # bumped when the checks change


def inspect_stub_cached(path: Path, cache: Path | None) -> StubLayout:
    """inspect_stub(), remembered by the file's SHA-256 (importing lief alone takes a second).

    Only images that passed every check are remembered, so a hit means a valid stub.
    """
    if cache is None:
        return inspect_stub(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    entry = cache / "elf" / f"{hashlib.sha256(data).hexdigest()}.json"
    try:
        stored = json.loads(entry.read_text())
        if stored.pop("version") == LAYOUT_CACHE_VERSION:
            return StubLayout(**stored)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    layout = inspect_stub(path)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_name(f".{entry.name}.{os.getpid()}")
        tmp.write_text(json.dumps({"version": LAYOUT_CACHE_VERSION, **asdict(layout)}))
        os.replace(tmp, entry)
    except OSError:
        pass  # a read-only cache only costs time
    return layout


def embed_cmdline(path: Path, layout: StubLayout, cmdline: str) -> None:
    """Write the default command line into the stub's reserved section (same size, in place)."""
    encoded = cmdline.encode("ascii", errors="strict") if cmdline.isascii() else None
    if encoded is None:
        raise UsageError("the embedded command line must be ASCII")
    if len(encoded) >= layout.cmdline_size:
        raise UsageError(f"the embedded command line is too long ({len(encoded)} bytes, "
                         f"at most {layout.cmdline_size - 1})")
    data = bytearray(Path(path).read_bytes())
    padded = encoded.ljust(layout.cmdline_size, b"\0")
    data[layout.cmdline_offset:layout.cmdline_offset + layout.cmdline_size] = padded
    Path(path).write_bytes(bytes(data))


def embedded_cmdline(path: Path, cache: Path | None = None, layout: StubLayout | None = None) -> str:
    """The command line embedded in a stub (empty if none); pass ``layout`` if it is already known."""
    layout = layout or inspect_stub_cached(path, cache)
    data = Path(path).read_bytes()
    raw = data[layout.cmdline_offset:layout.cmdline_offset + layout.cmdline_size]
    return raw.split(b"\0", 1)[0].decode("ascii", errors="replace")
