"""The stub build: multiboot-valid, laid out as VMX needs, reproducible, configurable."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bootgen.errors import BuildError
from bootgen.image import elf
from bootgen.image.build import BuildConfig, build_stub


def test_grub_accepts_the_stub(stub_elf):
    if shutil.which("grub-file") is None:
        pytest.skip("grub-file is not installed (Debian package grub-common)")
    assert subprocess.run(["grub-file", "--is-x86-multiboot", str(stub_elf)]).returncode == 0
    assert subprocess.run(["grub-file", "--is-x86-multiboot2", str(stub_elf)]).returncode == 0


def test_grub_file_is_no_rubber_stamp(tmp_path, stub_elf):
    """The control: with the multiboot2 magic spoiled, grub-file refuses the image."""
    if shutil.which("grub-file") is None:
        pytest.skip("grub-file is not installed (Debian package grub-common)")
    data = bytearray(stub_elf.read_bytes())
    at = data.find((0xE85250D6).to_bytes(4, "little"))
    assert 0 <= at < 32768 and at % 8 == 0  # Multiboot2 1.6, 3.1: 8-aligned in the first 32 KiB
    data[at] ^= 0xFF
    spoiled = tmp_path / "spoiled.elf"
    spoiled.write_bytes(bytes(data))
    assert subprocess.run(["grub-file", "--is-x86-multiboot2", str(spoiled)]).returncode != 0
    assert subprocess.run(["grub-file", "--is-x86-multiboot", str(spoiled)]).returncode == 0


def test_layout(stub_elf):
    layout = elf.inspect_stub(stub_elf)
    assert layout.multiboot_offset < 8192
    assert layout.entry >= 0x1000000  # linked at 16 MiB (linker/stub.ld)
    assert layout.loaded_bytes < layout.memory_bytes  # bss (page tables, VMXON region) is not in the file
    assert layout.cmdline_size == 256


def test_build_is_reproducible(tmp_path):
    a = build_stub(BuildConfig(output=tmp_path / "a.elf", build_dir=tmp_path / "a")).path
    b = build_stub(BuildConfig(output=tmp_path / "b.elf", build_dir=tmp_path / "b")).path
    assert a.read_bytes() == b.read_bytes()


def test_embedded_cmdline_round_trip(tmp_path):
    out = build_stub(BuildConfig(output=tmp_path / "s.elf", build_dir=tmp_path / "b", cmdline="serial=0x2f8")).path
    assert elf.embedded_cmdline(out) == "serial=0x2f8"


def test_too_long_cmdline_is_refused(tmp_path):
    with pytest.raises(Exception, match="too long"):
        build_stub(BuildConfig(output=tmp_path / "s.elf", build_dir=tmp_path / "b", cmdline="x" * 300))
    assert not (tmp_path / "s.elf").exists()  # nothing half-written


def _corrupt(stub: Path, tmp_path: Path, offset: int, value: bytes) -> Path:
    data = bytearray(stub.read_bytes())
    data[offset:offset + len(value)] = value
    out = tmp_path / "bad.elf"
    out.write_bytes(bytes(data))
    return out


def test_bad_multiboot_checksum_is_rejected(stub_elf, tmp_path):
    layout = elf.inspect_stub(stub_elf)
    bad = _corrupt(stub_elf, tmp_path, layout.multiboot_offset + 8, b"\0\0\0\0")
    with pytest.raises(BuildError, match="multiboot header"):
        elf.inspect_stub(bad)


def test_entry_outside_segments_is_rejected(stub_elf, tmp_path):
    bad = _corrupt(stub_elf, tmp_path, 24, (0x10).to_bytes(4, "little"))  # e_entry
    with pytest.raises(BuildError, match="entry point"):
        elf.inspect_stub(bad)


def test_not_an_elf(tmp_path):
    junk = tmp_path / "junk.elf"
    junk.write_bytes(b"MZ" + bytes(100))
    with pytest.raises(BuildError, match="not an ELF"):
        elf.inspect_stub(junk)


def test_incremental_rebuild_only_touches_changed_sources(tmp_path):
    build_dir = tmp_path / "b"
    build_stub(BuildConfig(output=tmp_path / "s.elf", build_dir=build_dir))
    objects = {p: p.stat().st_mtime_ns for p in (build_dir / "obj").glob("*.o")}
    build_stub(BuildConfig(output=tmp_path / "s.elf", build_dir=build_dir))
    assert {p: p.stat().st_mtime_ns for p in (build_dir / "obj").glob("*.o")} == objects
