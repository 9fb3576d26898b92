#!/usr/bin/env python3
"""Write stage/out/font.c from a PSF1 console font (run once by hand, not by the build).

    python3 scripts/psf2c.py /usr/share/consolefonts/Lat15-VGA16.psf.gz > stage/out/font.c

The font used is Lat15-VGA16 from Debian's console-setup-linux package, built
from u_vga16.bdf; its copyright notice (MIT-style, below) travels with the table.
Only printable ASCII (0x20-0x7e) is kept: glyphs are found through the PSF
Unicode table, each row one byte, bit 7 the leftmost pixel.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

PSF1_MAGIC = b"\x36\x04"
PSF1_MODE512 = 0x01
PSF1_MODEHASTAB = 0x02
PSF1_SEPARATOR, PSF1_STARTSEQ = 0xFFFF, 0xFFFE
FIRST, LAST = 0x20, 0x7E

NOTICE = """\
 * Copyright (c) 2000, 2001 by Dmitry Bolkhovityanov.  All Rights Reserved.
 *
 * Permission is hereby granted, free of charge, to any person obtaining a copy
 * of this software and associated documentation files (the "Software"), to deal
 * in the Software without restriction, including without limitation the rights
 * to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 * copies of the Software, and to permit persons to whom the Software is fur-
 * nished to do so, subject to the following conditions:
 *
 * The above copyright notice and this permission notice shall be included in
 * all copies or substantial portions of the Software.
 *
 * THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 * IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FIT-
 * NESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT.  IN NO EVENT SHALL THE
 * XFREE86 PROJECT BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
 * IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CON-
 * NECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
 *
 * Except as contained in this notice, the name of Dmitry Bolkhovityanov
 * shall not be used in advertising or otherwise to promote the sale, use
 * or other dealings in this Software without prior written authorization
 * from the Dmitry Bolkhovityanov."""


def read_psf1(path: Path) -> tuple[int, dict[int, bytes]]:
    """(height, {code point: glyph rows}) of a PSF1 font with a Unicode table."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if data[:2] != PSF1_MAGIC:
        raise SystemExit(f"{path}: not a PSF1 font")
    mode, height = data[2], data[3]
    count = 512 if mode & PSF1_MODE512 else 256
    if not mode & PSF1_MODEHASTAB:
        raise SystemExit(f"{path}: no Unicode table")
    glyphs = [data[4 + i * height:4 + (i + 1) * height] for i in range(count)]
    table = data[4 + count * height:]
    by_code: dict[int, bytes] = {}
    pos = 0
    for index in range(count):
        in_sequence = False
        while True:
            value = int.from_bytes(table[pos:pos + 2], "little")
            pos += 2
            if value == PSF1_SEPARATOR:
                break
            if value == PSF1_STARTSEQ:
                in_sequence = True
            elif not in_sequence:
                by_code.setdefault(value, glyphs[index])
    return height, by_code


def main() -> None:
    path = Path(sys.argv[1])
    height, by_code = read_psf1(path)
    if height != 16:
        raise SystemExit(f"{path}: {height} rows per glyph, 16 needed")
    missing = [c for c in range(FIRST, LAST + 1) if c not in by_code]
    if missing:
        raise SystemExit(f"{path}: no glyph for {', '.join(hex(c) for c in missing)}")
    out = [
        "/*",
        " * The 8x16 bitmap font of the framebuffer console: printable ASCII",
        f" * (0x{FIRST:02x}-0x{LAST:02x}), 16 bytes per glyph, bit 7 the leftmost pixel.",
        " *",
        f" * Generated once by scripts/psf2c.py from {path.name.split('.')[0]} (Debian package",
        " * console-setup-linux, /usr/share/consolefonts), which console-setup builds",
        " * from u_vga16.bdf. console-setup's copyright file calls its console fonts",
        " * public domain; the BDF source carries this notice:",
        " *",
        NOTICE,
        " */",
        '#include "framebuffer.h"',
        "",
        "const u8 font8x16[FONT_GLYPHS][FONT_HEIGHT] = {",
    ]
    for code in range(FIRST, LAST + 1):
        rows = ", ".join(f"0x{b:02x}" for b in by_code[code])
        out.append(f"\t{{ {rows} }}, /* 0x{code:02x} '{chr(code)}' */")
    out.append("};")
    print("\n".join(out))


if __name__ == "__main__":
    main()
