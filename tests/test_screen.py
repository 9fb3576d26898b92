"""The verdict on screen, for a person without a serial cable.

QEMU is driven here without isa-debug-exit, so the stub ends in ``cli; hlt``
and the machine stays up with the report on its display. Once the serial log
holds the report's end line the test reads the screen over QMP:

* UEFI (OVMF, the ISO through GRUB): ``screendump`` of the GOP framebuffer the
  stub draws into; the picture is read back into text by matching each 8x16
  cell against the stub's own font table (stage/out/font.c), so the test sees the
  same characters a person would.
* BIOS text mode (SeaBIOS, QEMU -kernel, and GRUB from the ISO): ``pmemsave``
  of the VGA text buffer at 0xB8000, one character and one attribute byte per
  cell, 80x25.

Each check has a negative control: with ``screen=off`` the same reading must
not find the verdict, so a blank or stale screen fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from bootgen.backends.firmware import find_ovmf, ovmf_available
from bootgen.image.elf import find_multiboot_header
from bootgen.image.iso import IsoConfig, build_iso
from bootgen.report.wire import parse

ROOT = Path(__file__).resolve().parent.parent
FONT_SOURCE = ROOT / "stage" / "out" / "font.c"
VGA_TEXT = 0xB8000
VGA_COLS, VGA_ROWS = 80, 25
END_LINE = re.compile(rb"#BOOTGEN end [^\n]*\n")
VERDICT_LINE = "verdict name=svm-ready"  # TCG's max CPU emulates AMD-V


@dataclass
class Screen:
    serial: bytes
    ppm: bytes       # screendump (P6)
    vga_text: bytes  # 4000 bytes at 0xB8000
    seconds: float
    memory: bytes = b""  # the range look(dump=...) asked for


def _qemu_command(qmp: Path, serial: Path, *, firmware: str, boot: list[str], workdir: Path,
                  memory_mib: int = 256) -> list[str]:
    cmd = ["qemu-system-x86_64", "-nodefaults", "-no-user-config", "-S", "-no-reboot",
           "-display", "none", "-vga", "std", "-accel", "tcg", "-cpu", "max", "-m", str(memory_mib),
           "-chardev", f"socket,id=qmp,path={qmp}", "-mon", "chardev=qmp,mode=control",
           "-chardev", f"socket,id=serial0,path={serial}",
           "-device", "isa-serial,chardev=serial0,iobase=0x3f8,irq=4"]
    # No isa-debug-exit: the stub halts and the display stays up.
    if firmware == "ovmf":
        ovmf = find_ovmf()
        cmd += ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={ovmf.code}"]
        if ovmf.vars_template is not None:
            shutil.copyfile(ovmf.vars_template, workdir / "vars.fd")
            cmd += ["-drive", f"if=pflash,format=raw,unit=1,file={workdir / 'vars.fd'}"]
    return cmd + boot


async def _screen_shows_end(qmp, path: Path) -> None:
    """Poll the VGA text buffer until it holds the report's end line (for runs without serial output)."""
    while True:
        await qmp.execute("pmemsave", {"val": VGA_TEXT, "size": VGA_COLS * VGA_ROWS * 2, "filename": str(path)})
        if any(line.startswith("#BOOTGEN end") for line in text_buffer_lines(path.read_bytes())):
            return
        await asyncio.sleep(0.2)


async def _boot_and_look(boot: list[str], firmware: str, timeout: float, until_screen: bool,
                         memory_mib: int = 256, extra: tuple[int, int] | None = None) -> Screen:
    from qemu.qmp import QMPClient

    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="bootgen-screen-"))
    qmp_path, serial_path = workdir / "qmp.sock", workdir / "serial.sock"
    serial = bytearray()
    got_end = asyncio.Event()

    async def on_serial(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                serial.extend(chunk)
                if END_LINE.search(serial):
                    got_end.set()
        finally:
            writer.close()

    server = await asyncio.start_unix_server(on_serial, path=str(serial_path))
    qmp = QMPClient("bootgen-screen")
    proc = None
    try:
        await qmp.start_server(str(qmp_path))
        cmd = _qemu_command(qmp_path, serial_path, firmware=firmware, boot=boot, workdir=workdir,
                            memory_mib=memory_mib)
        stderr_path = workdir / "qemu.stderr"
        with open(stderr_path, "wb") as stderr:
            proc = await asyncio.create_subprocess_exec(*cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                        stderr=stderr, start_new_session=True)
        await asyncio.wait_for(qmp.accept(), 10)
        await qmp.execute("cont")
        waiting = _screen_shows_end(qmp, workdir / "poll.bin") if until_screen else got_end.wait()
        ended, exited = asyncio.create_task(waiting), asyncio.create_task(proc.wait())
        await asyncio.wait({ended, exited}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        ended.cancel()
        exited.cancel()
        if not (ended.done() and not ended.cancelled() and ended.exception() is None):
            why = f"QEMU exited ({proc.returncode})" if proc.returncode is not None else f"{timeout:g} s passed"
            pytest.fail(f"no report end line: {why}; serial tail {bytes(serial[-300:])!r}; "
                        f"QEMU said {stderr_path.read_text(errors='replace')[-300:]!r}")
        await asyncio.sleep(0.3)  # the screen is written just after each serial byte
        dump, text = workdir / "screen.ppm", workdir / "vga.bin"
        await qmp.execute("screendump", {"filename": str(dump)})
        await qmp.execute("pmemsave", {"val": VGA_TEXT, "size": VGA_COLS * VGA_ROWS * 2, "filename": str(text)})
        memory = b""
        if extra is not None:
            await qmp.execute("pmemsave", {"val": extra[0], "size": extra[1], "filename": str(workdir / "mem.bin")})
            memory = (workdir / "mem.bin").read_bytes()
        return Screen(bytes(serial), dump.read_bytes(), text.read_bytes(), time.monotonic() - started, memory)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(qmp.execute("quit"), 1)
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), 5)
        with contextlib.suppress(Exception, EOFError):
            await qmp.disconnect()
        server.close()
        shutil.rmtree(workdir, ignore_errors=True)


def look(boot: list[str], firmware: str = "seabios", timeout: float = 90, until_screen: bool = False,
         memory_mib: int = 256, dump: tuple[int, int] | None = None) -> Screen:
    """Boot, wait for the report's end line (on the serial port, or on the text screen when until_screen), look;
    ``dump`` (address, size): physical memory read back as well."""
    return asyncio.run(_boot_and_look(boot, firmware, timeout, until_screen, memory_mib, dump))


# --- reading the screen back -------------------------------------------------------------------

def read_ppm(data: bytes) -> tuple[int, int, bytes]:
    """(width, height, RGB bytes) of a binary PPM (P6, maxval 255) as QEMU's screendump writes it."""
    tokens: list[bytes] = []
    pos = 0
    while len(tokens) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        tokens.append(data[pos:end])
        pos = end
    magic, width, height, maxval = tokens[0], int(tokens[1]), int(tokens[2]), int(tokens[3])
    assert magic == b"P6" and maxval == 255, (magic, maxval)
    pixels = data[pos + 1:pos + 1 + width * height * 3]
    assert len(pixels) == width * height * 3
    return width, height, pixels


def load_font() -> dict[bytes, str]:
    """{16 glyph rows: character} from the stub's font table, blank glyphs left out."""
    source = FONT_SOURCE.read_text()
    body = source[source.index("font8x16"):]
    glyphs = re.findall(r"\{((?:\s*0x[0-9a-f]{2},?){16})\s*\}", body)
    assert len(glyphs) == 0x7F - 0x20, len(glyphs)
    font = {}
    for index, glyph in enumerate(glyphs):
        rows = bytes(int(v, 16) for v in re.findall(r"0x[0-9a-f]{2}", glyph))
        if any(rows):
            font.setdefault(rows, chr(0x20 + index))
    return font


def framebuffer_text(width: int, height: int, pixels: bytes, scale: int = 1) -> list[str]:
    """The screen read back as text: each 8x16 cell matched against the stub's font ('.' if none)."""
    font = load_font()
    background = pixels[0:3]
    cell_w, cell_h = 8 * scale, 16 * scale
    lines = []
    for top in range(0, height - cell_h + 1, cell_h):
        chars = []
        for left in range(0, width - cell_w + 1, cell_w):
            rows = bytearray()
            for y in range(16):
                offset = ((top + y * scale) * width + left) * 3
                bits = 0
                for x in range(8):
                    p = offset + x * scale * 3
                    bits = (bits << 1) | (pixels[p:p + 3] != background)
                rows.append(bits)
            chars.append(font.get(bytes(rows), " " if not any(rows) else "."))
        lines.append("".join(chars).rstrip())
    return lines


def text_buffer_lines(data: bytes) -> list[str]:
    """The 80x25 VGA text buffer (character, attribute pairs) as lines."""
    chars = bytes(data[i] for i in range(0, len(data), 2))
    return [chars[r * VGA_COLS:(r + 1) * VGA_COLS].decode("latin-1").rstrip() for r in range(VGA_ROWS)]


def boot_record(serial: bytes):
    report = parse(serial)
    assert report.complete, report.problem
    return report.first("boot")


def expected_rows(serial: bytes, cols: int) -> list[str]:
    """What the stub wrote to the screen, wrapped at cols: the report from its begin line,
    after the newline that precedes it."""
    text = serial.decode("latin-1").replace("\r", "")
    report = text[text.rindex("#BOOTGEN begin"):].rstrip("\n")
    rows = [""]
    for line in report.split("\n"):
        rows += [line[i:i + cols] for i in range(0, max(len(line), 1), cols)]
    return rows


def assert_shows_report_tail(lines: list[str], serial: bytes, cols: int) -> None:
    """The screen holds the end of the report, in order, with nothing stale below it."""
    visible = list(lines)
    while visible and not visible[-1]:
        visible.pop()
    shown = "\n".join(lines)
    assert visible, "the screen is blank"
    assert visible == expected_rows(serial, cols)[-len(visible):], shown
    assert visible[-1].startswith("#BOOTGEN end records="), shown
    assert any(line.startswith(VERDICT_LINE) for line in visible), shown


def lit_colours(pixels: bytes) -> set[bytes]:
    return {pixels[i:i + 3] for i in range(0, len(pixels), 3)} - {b"\0\0\0"}


def assert_grey(pixels: bytes) -> None:
    """One text colour, a neutral grey: catches a misread colour layout (channel positions)."""
    colours = lit_colours(pixels)
    assert len(colours) == 1, colours
    r, g, b = next(iter(colours))
    assert max(r, g, b) - min(r, g, b) <= 8 and r >= 0x80, (r, g, b)


def scale_for(width: int, height: int) -> int:
    return 2 if width >= 2560 and height >= 1440 else 1  # as stage/out/framebuffer.c chooses


def with_video_request(elf: Path, out: Path, width: int, height: int, depth: int) -> Path:
    """A copy of the stub whose multiboot header asks for a linear graphics mode (mode_type 0)."""
    data = bytearray(elf.read_bytes())
    found = find_multiboot_header(bytes(data))
    assert found is not None and found[1] & 0x4, "the header carries no video fields"
    struct.pack_into("<4I", data, found[0] + 32, 0, width, height, depth)
    out.write_bytes(data)
    return out


# --- the reader itself, without an emulator -----------------------------------------------------

def test_framebuffer_reader_round_trip():
    font = {glyph: char for glyph, char in load_font().items()}
    glyph_of = {char: glyph for glyph, char in font.items()}
    width, height, text = 64, 32, ["ab=0x1f", "  #end"]
    pixels = bytearray(width * height * 3)
    for row, line in enumerate(text):
        for col, char in enumerate(line):
            for y, bits in enumerate(glyph_of.get(char, bytes(16))):
                for x in range(8):
                    if bits & (0x80 >> x):
                        p = ((row * 16 + y) * width + col * 8 + x) * 3
                        pixels[p:p + 3] = b"\xcc\xcc\xcc"
    assert framebuffer_text(width, height, bytes(pixels)) == text
    assert framebuffer_text(width, height, bytes(width * height * 3)) == ["", ""]
    assert expected_rows(b"junk\r\n#BOOTGEN begin x\r\nabcdefgh\r\n", 4) == ["", "#BOO", "TGEN", " beg", "in x",
                                                                                "abcd", "efgh"]


# --- the tests ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def grub_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("grub-cores")


@pytest.fixture(scope="module")
def isos(stub_elf, tmp_path_factory, grub_cache) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("screen-iso")
    return {name: build_iso(IsoConfig(elf=stub_elf, output=out / f"{name}.iso", cmdline=cmdline,
                                      cache_dir=grub_cache)).path
            for name, cmdline in (("on", ""), ("off", "screen=off"))}


def cd(iso: Path) -> list[str]:
    return ["-drive", f"file={iso},format=raw,media=cdrom,readonly=on,if=ide,index=2", "-boot", "d"]


def framebuffer_screen(iso: Path, firmware: str) -> tuple[Screen, list[str], tuple[int, int, bytes]]:
    if firmware == "ovmf" and not ovmf_available():
        pytest.skip("OVMF is not installed (Debian package ovmf)")
    screen = look(cd(iso), firmware=firmware)
    width, height, pixels = read_ppm(screen.ppm)
    return screen, framebuffer_text(width, height, pixels, scale_for(width, height)), (width, height, pixels)


@pytest.mark.qemu
@pytest.mark.grub
def test_uefi_framebuffer_shows_the_report(isos):
    screen, lines, (width, height, pixels) = framebuffer_screen(isos["on"], "ovmf")
    assert boot_record(screen.serial).int("framebuffer_type") == 1, "GRUB-EFI should hand over an RGB framebuffer"
    # Not blank: a black background (the stub clears it) with lit pixels, some in the top rows.
    lit = sum(1 for i in range(0, len(pixels), 3) if pixels[i:i + 3] != b"\0\0\0")
    top_lit = sum(1 for i in range(0, width * 32 * 3, 3) if pixels[i:i + 3] != b"\0\0\0")
    assert pixels[0:3] == b"\0\0\0" and lit > 2000 and top_lit > 100, (lit, top_lit)
    assert_grey(pixels)
    # And it reads: the report's lines, the verdict and the end line among them.
    assert_shows_report_tail(lines, screen.serial, width // (8 * scale_for(width, height)))
    boot = boot_record(screen.serial)  # GRUB-EFI loads with multiboot2 (the screen has scrolled past this line)
    assert (boot.get("magic"), boot.get("protocol")) == ("0x36d76289", "multiboot2")


@pytest.mark.qemu
@pytest.mark.grub
def test_uefi_screen_off_leaves_no_report(isos):
    screen, lines, _ = framebuffer_screen(isos["off"], "ovmf")
    assert boot_record(screen.serial).int("framebuffer_type") == 1
    assert not any(VERDICT_LINE in line for line in lines), "\n".join(lines)


# GRUB on BIOS sets a VBE graphics mode when the header asks for one: the other pixel depths,
# a screen small enough to scroll many times (40x12 cells) and one large enough for double-size glyphs.
@pytest.mark.qemu
@pytest.mark.grub
@pytest.mark.parametrize("mode", [(1024, 768, 24), (1024, 768, 16), (800, 600, 15), (320, 200, 32),
                                  (2560, 1600, 32)], ids=lambda m: "x".join(map(str, m)))
def test_grub_bios_graphics_modes(stub_elf, tmp_path, grub_cache, mode):
    elf = with_video_request(stub_elf, tmp_path / "stub.elf", *mode)
    iso = build_iso(IsoConfig(elf=elf, output=tmp_path / "gfx.iso", cache_dir=grub_cache)).path
    screen, lines, (width, height, pixels) = framebuffer_screen(iso, "seabios")
    assert boot_record(screen.serial).int("framebuffer_type") == 1
    assert (width, height) == mode[:2], "GRUB did not set the requested mode"
    assert_grey(pixels)
    assert_shows_report_tail(lines, screen.serial, width // (8 * scale_for(width, height)))


@pytest.mark.qemu
@pytest.mark.parametrize("append", ["", "screen=off"])
def test_bios_kernel_text_mode_shows_the_verdict(stub_elf, append):
    screen = look(["-kernel", str(stub_elf), "-append", append])
    lines = text_buffer_lines(screen.vga_text)
    if append == "screen=off":
        assert not any(VERDICT_LINE in line for line in lines), "\n".join(lines)
    else:
        assert_shows_report_tail(lines, screen.serial, VGA_COLS)


@pytest.mark.qemu
@pytest.mark.grub
def test_bios_grub_keeps_text_mode(isos):
    screen = look(cd(isos["on"]))
    assert boot_record(screen.serial).int("framebuffer_type") == 2, "GRUB on BIOS should leave EGA text mode"
    assert_shows_report_tail(text_buffer_lines(screen.vga_text), screen.serial, VGA_COLS)


# A port with no UART (QEMU has one, at 0x3f8): the stub finds nothing there at start, says so on screen,
# and the report reaches the screen in seconds (without the probe every character waited out a timeout).
@pytest.mark.qemu
def test_absent_serial_port_reported_on_screen(stub_elf):
    screen = look(["-kernel", str(stub_elf), "-append", "serial=0x2f8"], timeout=30, until_screen=True)
    lines = text_buffer_lines(screen.vga_text)
    shown = "\n".join(lines)
    assert not screen.serial, screen.serial[:200]  # nothing went to the UART that is there
    assert any(line.startswith("warning what=serial-absent") for line in lines), shown
    assert any(line.startswith(VERDICT_LINE) for line in lines), shown
    assert lines[max(i for i, line in enumerate(lines) if line)].startswith("#BOOTGEN end records="), shown
