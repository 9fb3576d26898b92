"""A tiny multiboot (v1 and v2) ELF for boot tests that must not wait for the real stub.

The image prints ``HELLO-BOOTGEN``, the multiboot flags word and the command line
the loader passed (Multiboot 0.6.96 section 3.3: flags bit 2 -> cmdline pointer at
offset 16 of the info structure; Multiboot2 1.6, 3.6: the type 1 tag, after
``MB2``) to COM1, then asks QEMU's isa-debug-exit device (port 0xf4) to stop with
status ``(EXIT_VALUE << 1) | 1``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

MARKER = b"HELLO-BOOTGEN"
EXIT_VALUE = 0x10
QEMU_EXIT_STATUS = (EXIT_VALUE << 1) | 1

_SOURCE = r"""
    .set MB_MAGIC, 0x1BADB002
    .set MB_FLAGS, 0x3                      /* page-align modules, want memory info */
    .set COM1, 0x3f8

    .text
    .code32
    .globl _start
    .align 4
mb_header:                                  /* must sit in the first 8 KiB of the file */
    .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
    .align 8
mb2_header:                                 /* magic, i386, length, checksum; then the end tag */
    .long 0xe85250d6, 0, 24, 0x100000000 - (0xe85250d6 + 24)
    .short 0, 0
    .long 8

_start:
    cli
    mov $stack_top, %esp
    mov %ebx, %edi                          /* multiboot info */
    mov $hello, %esi
    call puts
    cmp $0x36D76289, %eax
    je 3f
    cmp $0x2BADB002, %eax
    je 1f
    mov $badmagic, %esi
    call puts
    jmp done
1:  mov $flags_msg, %esi
    call puts
    mov (%edi), %eax
    call puthex
    mov $newline, %esi
    call puts
    testl $4, (%edi)
    jz done
    mov $cmdline_msg, %esi
    call puts
    mov 16(%edi), %esi
    call puts
    mov $end_msg, %esi
    call puts
    jmp done
3:  mov $mb2_msg, %esi                      /* multiboot2: find the command line tag */
    call puts
    lea 8(%edi), %ebx
4:  mov (%ebx), %eax
    test %eax, %eax
    jz done
    cmp $1, %eax
    je 5f
    mov 4(%ebx), %eax
    add $7, %eax
    and $-8, %eax
    add %eax, %ebx
    jmp 4b
5:  mov $cmdline_msg, %esi
    call puts
    lea 8(%ebx), %esi
    call puts
    mov $end_msg, %esi
    call puts
done:
    mov $EXIT_VALUE, %al
    outb %al, $0xf4
2:  cli
    hlt
    jmp 2b

/* putc: %al -> COM1, waiting for the transmitter holding register (LSR bit 5) */
putc:
    push %edx
    push %eax
    mov $COM1 + 5, %dx
3:  inb %dx, %al
    test $0x20, %al
    jz 3b
    pop %eax
    mov $COM1, %dx
    outb %al, %dx
    pop %edx
    ret

/* puts: NUL-terminated string at %esi */
puts:
    push %eax
4:  lodsb
    test %al, %al
    jz 5f
    call putc
    jmp 4b
5:  pop %eax
    ret

/* puthex: %eax as 8 hex digits */
puthex:
    push %ecx
    mov $8, %ecx
6:  rol $4, %eax
    push %eax
    and $0xf, %al
    add $'0', %al
    cmp $'9', %al
    jbe 7f
    add $7, %al
7:  call putc
    pop %eax
    loop 6b
    pop %ecx
    ret

    .section .rodata
hello:       .asciz "HELLO-BOOTGEN\n"
badmagic:    .asciz "BAD-MAGIC\n"
mb2_msg:     .asciz "MB2\n"
flags_msg:   .asciz "FLAGS="
cmdline_msg: .asciz "CMDLINE=["
end_msg:     .asciz "]\n"
newline:     .asciz "\n"

    .bss
    .align 16
    .space 4096
stack_top:
"""


def tools_available() -> str | None:
    """None when gcc and ld are there, else the reason to skip."""
    for tool in ("gcc", "ld"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def build_tiny_elf(workdir: Path, multiboot2: bool = True) -> Path:
    """Assemble and link the test ELF into workdir (without its multiboot2 header when asked); returns its path."""
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "tiny.S"
    obj = workdir / "tiny.o"
    elf = workdir / "tiny.elf"
    text = _SOURCE if multiboot2 else _SOURCE.replace("0xe85250d6, 0, 24,", "0x0, 0, 24,")
    source.write_text(f"    .set EXIT_VALUE, {EXIT_VALUE:#x}\n" + text)
    subprocess.run(["gcc", "-m32", "-c", "-o", str(obj), str(source)],
                   check=True, capture_output=True)
    subprocess.run(["ld", "-m", "elf_i386", "-n", "-Ttext=0x100000", "-e", "_start",
                    "--build-id=none", "-o", str(elf), str(obj)],
                   check=True, capture_output=True)
    return elf
