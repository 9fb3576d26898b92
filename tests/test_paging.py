"""Paging that maps only what the stub uses, with the memory type each range needs (stage/boot/paging.c).

Every range the stub touches once paging is on has a ``map`` record; an address outside them faults. A
framebuffer above 4 GiB (a GPU with above-4G decoding) is reached through PAE at a linear window and the
report is drawn there: QEMU cannot place a display's BAR that high, so ``inject=high-framebuffer`` hands the
stub a framebuffer in RAM at 4 GiB + 1 MiB (``-m 4608``), and the test reads that RAM back.
"""

from __future__ import annotations

import lief
import pytest
from test_screen import assert_shows_report_tail, framebuffer_text, look

from bootgen.backends.qemu import QemuConfig, run_qemu
from bootgen.verdict import Verdict
from bootgen.verdict.evaluate import evaluate

pytestmark = pytest.mark.qemu

HIGH_FRAMEBUFFER, WIDTH, HEIGHT = 0x100100000, 640, 480  # as stage/main.c fakes it


def maps(serial: bytes) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for line in serial.decode("latin-1").splitlines():
        if line.startswith("map "):
            fields = dict(word.split("=", 1) for word in line.split()[1:])
            found.setdefault(fields["what"], []).append(fields)
    return found


def test_only_what_the_stub_uses_is_mapped(stub_elf):
    outcome = run_qemu(QemuConfig(image=stub_elf, append="inject=null-read"))
    result = evaluate(outcome.serial, outcome)
    assert result.verdict is Verdict.FAULT and result.report.boot_cpu.exception.vector == 14, result.reason
    assert result.report.boot_cpu.exception.values["cr2"] == 0  # the first page is not mapped
    ranges = maps(outcome.serial)
    image = ranges["image"][0]
    binary = lief.ELF.parse(str(stub_elf))  # kept alive while its segments are read
    load = min(seg.physical_address for seg in binary.segments if seg.type == lief.ELF.Segment.TYPE.LOAD)
    assert (int(image["phys"], 16), image["cache"], image["page"]) == (load, "wb", "4")
    assert ranges["vga-text"][0]["cache"] == "uc" and ranges["vga-text"][0]["phys"] == "0x00000000000b8000"
    assert ranges["apic"][0]["cache"] == "uc"  # device registers never cached
    assert all(r["linear"] == f"0x{int(r['phys'], 16):08x}" for rs in ranges.values() for r in rs)
    assert "multiboot" in ranges  # the loader's information stays at hand
    # IA32_PAT programmed on every boot, framebuffer or not: each entry means what paging.c says.
    assert any(w.index == 0x277 and w.fault is None for w in result.report.boot_cpu.msr_writes)


def test_a_framebuffer_above_4_gib_is_drawn(stub_elf):
    screen = look(["-kernel", str(stub_elf), "-append", "inject=high-framebuffer"], memory_mib=4608,
                  dump=(HIGH_FRAMEBUFFER, WIDTH * HEIGHT * 4))
    result = evaluate(screen.serial)
    assert result.verdict is Verdict.SVM_READY, result.reason
    fb = maps(screen.serial)["framebuffer"][0]
    # 1.2 MB at 1 MiB into a 2 MiB chunk covers no chunk whole: 4 KiB pages, nothing beyond it mapped.
    assert int(fb["phys"], 16) == HIGH_FRAMEBUFFER and fb["cache"] == "wc" and fb["page"] == "4"
    assert int(fb["linear"], 16) < 0xFFE00000 and int(fb["linear"], 16) & 0xFFFFF == 0x00000  # 1 MiB into 2 MiB
    # The RGB bytes as a screendump would have them: the stub wrote XRGB (blue in the low byte).
    pixels = bytes(b for i in range(0, len(screen.memory), 4) for b in screen.memory[i:i + 3][::-1])
    lines = framebuffer_text(WIDTH, HEIGHT, pixels)
    assert_shows_report_tail(lines, screen.serial, WIDTH // 8)


def test_a_framebuffer_beyond_maxphyaddr_is_left_alone(stub_elf):
    # With 32 physical address bits the same framebuffer is out of reach: a PAE entry for it would set reserved
    # bits (#PF). The stub says so and goes on without it.
    outcome = run_qemu(QemuConfig(image=stub_elf, cpu="max,phys-bits=32", append="inject=high-framebuffer"))
    result = evaluate(outcome.serial, outcome)
    assert result.verdict is Verdict.SVM_READY, result.reason
    assert "framebuffer" not in maps(outcome.serial)
    unmapped = [w for w in result.report.warnings if w.what == "unmapped"]
    assert [w.raw.get("name") for w in unmapped] == ["framebuffer"], unmapped
