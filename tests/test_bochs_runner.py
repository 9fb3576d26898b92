"""Tests for bootgen.backends.bochs.

The pure parts (bochsrc, log parsing, classification) run everywhere. The boot tests
(marked ``bochs``) build tiny multiboot ELFs with gcc/ld, wrap each in an El Torito
ISO made here with pycdlib and a GRUB i386-pc-eltorito core from grub-mkimage, and
boot them under Bochs.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from bootgen.backends import defaults, process
from bootgen.backends.bochs import bochsrc
from bootgen.backends.bochs import run as bochs_run
from bootgen.backends.bochs.bochsrc import BochsConfig, render_bochsrc
from bootgen.backends.bochs.install import BochsInstallation, list_cpu_models, parse_cpu_models
from bootgen.backends.bochs.log import classify, instruction_ticks
from bootgen.backends.bochs.run import run_bochs
from bootgen.backends.host import Host
from bootgen.backends.outcome import Ending
from bootgen.errors import ToolMissing, UsageError

# --------------------------------------------------------------------------- log excerpts (Bochs 2.7)

HELP_CPU = """\
00000000000i[      ] LTDL_LIBRARY_PATH not set. using compile time default '/usr/lib/x86_64-linux-gnu/bochs/plugins'
Supported CPU models:

bx_generic
pentium
corei7_sandy_bridge_2600k
ryzen

00000000000i[SIM   ] quit_sim called with exit code 0
"""

SHUTDOWN_LOG = """\
00000000000i[      ] reading configuration from bochsrc
00007363462i[BIOS  ] Booting from 07c0:0000
00058664029p[UNMAP ] >>PANIC<< Shutdown port: shutdown requested
00058664029i[CPU0  ] CPU is in protected mode (active)
00058664029i[CMOS  ] Last time is 946684858 (Sat Jan  1 00:00:58 2000)
00058664029i[SIM   ] quit_sim called with exit code 1
"""

TRIPLE_FAULT_LOG = """\
00016599687i[BIOS  ] Booting from 07c0:0000
00068317361e[CPU0  ] interrupt(): vector must be within IDT table limits, IDT.limit = 0x0
00068317361e[CPU0  ] interrupt(): vector must be within IDT table limits, IDT.limit = 0x0
00068317361e[CPU0  ] interrupt(): vector must be within IDT table limits, IDT.limit = 0x0
00068317361i[CPU0  ] CPU is in protected mode (active)
00068317361p[CPU0  ] >>PANIC<< exception(): 3rd (13) exception with no resolution
00068317361i[SIM   ] quit_sim called with exit code 1
"""

RESET_THEN_TRIPLE_FAULT_LOG = """\
00000000000i[SYS   ] bx_pc_system_c::Reset(HARDWARE) called
00016599687i[BIOS  ] Booting from 07c0:0000
00068318798i[KBD   ] io write 0x64: command 0xfe: reset cpu
00068318798i[SYS   ] bx_pc_system_c::Reset(SOFTWARE) called
00068681551e[CPU0  ] WRMSR: IA32_FEATURE_CONTROL_MSR VMX lock bit is set !
00068681551p[CPU0  ] >>PANIC<< exception(): 3rd (13) exception with no resolution
00068681551i[SIM   ] quit_sim called with exit code 1
"""

OTHER_PANIC_LOG = """\
00000000000p[      ] >>PANIC<< numerical parameter 'ips' was set to 500000, which is out of range 1000000 to 4294967295
"""

KILLED_AFTER_TIMEOUT_LOG = """\
00016599687i[BIOS  ] Booting from 07c0:0000
08022804000p[SDL2  ] >>PANIC<< User requested shutdown.
08022804000i[SIM   ] quit_sim called with exit code 1
"""

FAKE_INSTALL = BochsInstallation(
    bochs=Path("/usr/bin/bochs"),
    bios=Path("/usr/share/bochs/BIOS-bochs-latest"),
    vga_bios=Path("/usr/share/vgabios/vgabios.bin"),
    plugin_dir=Path("/usr/lib/x86_64-linux-gnu/bochs/plugins"),
)


# --------------------------------------------------------------------------- pure tests


def test_parse_cpu_models_reads_the_list_only() -> None:
    assert parse_cpu_models(HELP_CPU) == ["bx_generic", "pentium", "corei7_sandy_bridge_2600k", "ryzen"]


def test_parse_cpu_models_without_a_list() -> None:
    assert parse_cpu_models("Usage: bochs [flags]\n") == []


def test_instruction_ticks_is_the_last_log_tick() -> None:
    assert instruction_ticks(SHUTDOWN_LOG) == 58664029
    assert instruction_ticks(KILLED_AFTER_TIMEOUT_LOG) == 8022804000


def test_instruction_ticks_without_log_lines() -> None:
    assert instruction_ticks("") is None
    assert instruction_ticks("Bochs is exiting with the following message:\n") is None


def test_shutdown_port_is_a_guest_exit() -> None:
    ending, detail = classify(SHUTDOWN_LOG, 1, timed_out=False)
    assert ending is Ending.GUEST_EXIT
    assert "0x8900" in detail


def test_triple_fault_is_told_apart_from_shutdown() -> None:
    ending, detail = classify(TRIPLE_FAULT_LOG, 1, timed_out=False)
    assert ending is Ending.TRIPLE_FAULT
    assert "vector 13 (#GP)" in detail
    assert "reset" not in detail


def test_triple_fault_after_a_guest_reset_says_so() -> None:
    ending, detail = classify(RESET_THEN_TRIPLE_FAULT_LOG, 1, timed_out=False)
    assert ending is Ending.TRIPLE_FAULT
    assert "reset the machine 1 time" in detail


def test_triple_fault_that_reset_the_cpu_is_still_a_triple_fault() -> None:
    log = (
        "00058655390e[CPU0  ] exception(): 3rd (14) exception with no resolution, shutdown status is 00h, resetting\n"
        "00058655390i[SYS   ] bx_pc_system_c::Reset(HARDWARE) called\n"
        "00058655391i[SIM   ] quit_sim called with exit code 1\n"
    )
    ending, detail = classify(log, 1, timed_out=False)
    assert ending is Ending.TRIPLE_FAULT
    assert "vector 14 (#PF)" in detail


def test_other_panic_is_an_emulator_exit_with_its_message() -> None:
    ending, detail = classify(OTHER_PANIC_LOG, 1, timed_out=False)
    assert ending is Ending.EMULATOR_EXIT
    assert "out of range" in detail


def test_exit_without_panic_is_an_emulator_exit() -> None:
    ending, detail = classify("00000000000i[SIM   ] quit_sim called with exit code 0\n", 0, timed_out=False)
    assert ending is Ending.EMULATOR_EXIT
    assert "status 0" in detail


def test_timeout_wins_over_the_panic_our_kill_causes() -> None:
    ending, detail = classify(KILLED_AFTER_TIMEOUT_LOG, 1, timed_out=True, timeout_s=7)
    assert ending is Ending.TIMEOUT
    assert "7 s" in detail


def test_killed_by_a_signal_is_a_crash() -> None:
    ending, detail = classify(SHUTDOWN_LOG[:80], -signal.SIGSEGV, timed_out=False)
    assert ending is Ending.EMULATOR_CRASH
    assert "SIGSEGV" in detail


def _bochsrc_settings(text: str) -> dict[str, str]:
    settings = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition(":")
            assert key not in settings, f"{key} set twice"
            settings[key] = value.strip()
    return settings


def test_bochsrc_has_every_setting_a_headless_run_needs() -> None:
    config = BochsConfig(image=Path("x.iso"), cpu_model="ryzen", smp=2, memory_mib=128, ips=2_000_000)
    settings = _bochsrc_settings(render_bochsrc(config, FAKE_INSTALL))
    assert settings["display_library"] == "sdl2"
    assert settings["romimage"] == f"file={FAKE_INSTALL.bios}"
    assert settings["vgaromimage"] == f"file={FAKE_INSTALL.vga_bios}"
    cpu = settings["cpu"]
    for part in ("model=ryzen", "count=2", "ips=2000000", "reset_on_triple_fault=0", "ignore_bad_msrs=0"):
        assert part in cpu
    assert settings["memory"] == "guest=128, host=128"
    assert settings["clock"].startswith("sync=none")
    assert settings["ata0-master"] == f"type=cdrom, path={bochsrc.IMAGE_LINK_NAME}, status=inserted"
    assert settings["boot"] == "cdrom"
    assert settings["com1"] == f"enabled=1, mode=file, dev={bochsrc.SERIAL_NAME}"
    assert settings["speaker"] == "enabled=0"
    assert "waveoutdrv=dummy" in settings["sound"]
    assert settings["panic"] == "action=fatal"
    assert settings["log"] == bochsrc.LOG_NAME
    assert settings["logprefix"] == "%t%e%d"


def test_command_runs_the_debugger_script() -> None:
    command = bochsrc.bochs_command(FAKE_INSTALL)
    assert command[0] == str(FAKE_INSTALL.bochs)
    assert "-q" in command
    assert command[command.index("-rc") + 1] == bochsrc.DEBUGGER_RC_NAME
    assert bochsrc.DEBUGGER_COMMANDS.split() == ["c"]
    assert bochsrc.bochs_environment(FAKE_INSTALL)["SDL_VIDEODRIVER"] == "dummy"


def test_missing_image_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="image not found"):
        run_bochs(BochsConfig(image=tmp_path / "absent.iso"))


def test_missing_bochs_is_tool_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    image = tmp_path / "image.iso"
    image.write_bytes(b"\0" * 2048)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissing, match="bochs"):
        run_bochs(BochsConfig(image=image))
    assert Host().bochs_unavailable() is not None


# --------------------------------------------------------------------------- boot fixtures

UNAVAILABLE = Host().bochs_unavailable()
needs_bochs = pytest.mark.skipif(UNAVAILABLE is not None, reason=f"Bochs unavailable: {UNAVAILABLE}")

STUB_COMMON = r"""
    .text
    .code32
    .align 4                # multiboot v1 header: magic, flags (align, memory map), checksum
    .long 0x1BADB002, 0x3, -(0x1BADB002 + 0x3)
    .globl _start
_start:
    mov $0x90000, %esp
    call uart_init
    mov $banner, %esi
    call puts
    jmp body

uart_init:                  # 115200 8N1, FIFOs on (Bochs masks bytes to the word length)
    mov $0x3f9, %dx; xor %al, %al; out %al, %dx
    mov $0x3fb, %dx; mov $0x80, %al; out %al, %dx
    mov $0x3f8, %dx; mov $1, %al; out %al, %dx
    mov $0x3f9, %dx; xor %al, %al; out %al, %dx
    mov $0x3fb, %dx; mov $0x03, %al; out %al, %dx
    mov $0x3fa, %dx; mov $0xc7, %al; out %al, %dx
    ret
putc:                       # al; wait for LSR.THRE first
    push %eax
    mov $0x3fd, %dx
1:  in %dx, %al
    test $0x20, %al
    jz 1b
    pop %eax
    mov $0x3f8, %dx
    out %al, %dx
    ret
puts:                       # esi -> NUL-terminated string
    lodsb
    test %al, %al
    jz 2f
    call putc
    jmp puts
2:  ret
puthex:                     # eax as 8 hex digits
    mov $8, %ecx
    mov %eax, %ebx
3:  rol $4, %ebx
    mov %ebx, %eax
    and $0xf, %eax
    mov hexdigits(%eax), %al
    call putc
    loop 3b
    ret
drain:                      # wait for LSR.TEMT: Bochs drops bytes still in the transmitter at exit
    mov $0x3fd, %dx
4:  in %dx, %al
    test $0x40, %al
    jz 4b
    ret
shutdown:                   # Bochs's shutdown port
    call drain
    mov $0x8900, %dx
    mov $shutdown_word, %esi
5:  lodsb
    test %al, %al
    jz 6f
    out %al, %dx
    jmp 5b
6:  cli
    hlt
    jmp 6b

    .section .rodata
hexdigits: .ascii "0123456789abcdef"
shutdown_word: .asciz "Shutdown"
"""

STUB_BODIES = {
    # CPUID.1:ECX.VMX[bit 5] and, with VMX, IA32_FEATURE_CONTROL (MSR 0x3A), then exit.
    "facts": r"""
    .text
body:
    mov $1, %eax
    cpuid
    mov %ecx, %edi
    mov $vmx_label, %esi
    call puts
    mov %edi, %eax
    shr $5, %eax
    and $1, %eax
    add $'0', %al
    call putc
    test $0x20, %edi
    jz 7f
    mov $fc_label, %esi
    call puts
    mov $0x3a, %ecx
    rdmsr
    call puthex
7:  mov $end_label, %esi
    call puts
    jmp shutdown
    .section .rodata
banner: .asciz "BOCHS-TEST\n"
vmx_label: .asciz "VMX="
fc_label: .asciz "\nFC="
end_label: .asciz "\nEND\n"
""",
    # An empty IDT: int3 -> #GP -> #DF -> triple fault.
    "triple": r"""
    .text
body:
    call drain
    lidt null_idt
    int3
    jmp shutdown
    .section .rodata
banner: .asciz "TRIPLE\n"
    .align 8
null_idt: .word 0
    .long 0
""",
    # Prints, then halts with interrupts off forever.
    "hang": r"""
    .text
body:
    cli
8:  hlt
    jmp 8b
    .section .rodata
banner: .asciz "HANG\n"
""",
}


@dataclass(frozen=True)
class BootImages:
    facts: Path
    triple: Path
    hang: Path


def _tools_or_skip() -> None:
    for tool in ("gcc", "ld", "grub-mkimage"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (needed to build the test ISO)")
    if not Path("/usr/lib/grub/i386-pc/multiboot.mod").is_file():
        pytest.skip("GRUB i386-pc modules not installed (Debian package grub-pc-bin)")


def _build_elf(name: str, body: str, work: Path) -> Path:
    source = work / f"{name}.s"
    source.write_text(STUB_COMMON + body)
    obj, elf = work / f"{name}.o", work / f"{name}.elf"
    subprocess.run(["gcc", "-m32", "-c", "-x", "assembler", "-o", str(obj), str(source)], check=True)
    subprocess.run(
        ["ld", "-m", "elf_i386", "--build-id=none", "-Ttext=0x100000", "-e", "_start", "-o", str(elf), str(obj)],
        check=True,
    )
    return elf


def _grub_eltorito_core(work: Path) -> bytes:
    config = work / "embedded.cfg"
    # GRUB's core runs its embedded config before looking for normal.mod.
    config.write_text("multiboot /boot/stub.elf\nboot\n")
    core = work / "core.img"
    subprocess.run(
        ["grub-mkimage", "-O", "i386-pc-eltorito", "-p", "/boot/grub", "-c", str(config),
         "-o", str(core), "biosdisk", "iso9660", "multiboot"],
        check=True,
    )
    return core.read_bytes()


def _build_iso(elf: Path, core: bytes, output: Path) -> Path:
    pycdlib = pytest.importorskip("pycdlib")
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, rock_ridge="1.09")
    iso.add_directory("/BOOT", rr_name="boot")
    stub = elf.read_bytes()
    iso.add_fp(io.BytesIO(core), len(core), "/BOOT/CORE.IMG;1", rr_name="core.img")
    iso.add_fp(io.BytesIO(stub), len(stub), "/BOOT/STUB.ELF;1", rr_name="stub.elf")
    iso.add_eltorito("/BOOT/CORE.IMG;1", bootcatfile="/BOOT/BOOT.CAT;1", media_name="noemul",
                     boot_load_size=4, boot_info_table=True)
    iso.write(str(output))
    iso.close()
    # GRUB's BIOS disk reads come back as zeros for a file in the image's last blocks.
    with open(output, "ab") as handle:
        handle.write(bytes(64 * 1024))
    return output


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> BootImages:
    if UNAVAILABLE is not None:
        pytest.skip(f"Bochs unavailable: {UNAVAILABLE}")
    _tools_or_skip()
    work = tmp_path_factory.mktemp("bochs-images")
    core = _grub_eltorito_core(work)
    built = {name: _build_iso(_build_elf(name, body, work), core, work / f"{name}.iso")
             for name, body in STUB_BODIES.items()}
    return BootImages(**built)


@dataclass
class Observed:
    """What a run looked like from outside: its process and its private directory."""

    processes: list[subprocess.Popen[bytes]]
    run_dir_modes: list[int]
    temp_root: Path


@pytest.fixture
def observe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Observed:
    seen = Observed([], [], tmp_path / "temp-root")
    seen.temp_root.mkdir()
    monkeypatch.setenv("TMPDIR", str(seen.temp_root))
    real_popen, real_run = subprocess.Popen, bochs_run._run_process

    def recording_popen(command, *args, **kwargs):  # type: ignore[no-untyped-def]
        proc = real_popen(command, *args, **kwargs)
        if bochsrc.DEBUGGER_RC_NAME in command:  # a Bochs run, not a helper tool
            seen.processes.append(proc)
        return proc

    def recording_run(command, cwd, env, timeout_s):  # type: ignore[no-untyped-def]
        seen.run_dir_modes.append(cwd.stat().st_mode & 0o777)
        return real_run(command, cwd, env, timeout_s)

    monkeypatch.setattr(process.subprocess, "Popen", recording_popen)
    monkeypatch.setattr(bochs_run, "_run_process", recording_run)
    return seen


def _assert_cleaned_up(seen: Observed) -> None:
    assert seen.run_dir_modes == [0o700]
    assert list(seen.temp_root.iterdir()) == [], "private run directory left behind"
    (proc,) = seen.processes
    assert proc.returncode is not None, "Bochs not reaped"
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)


# --------------------------------------------------------------------------- boot tests


@pytest.mark.bochs
@needs_bochs
def test_cpu_models_come_from_bochs() -> None:
    models = list_cpu_models()
    assert defaults.BOCHS_CPU_MODEL in models
    assert {"bx_generic", "ryzen", "tigerlake"} <= set(models)


@pytest.mark.bochs
@needs_bochs
def test_unknown_cpu_model_is_a_usage_error(tmp_path: Path) -> None:
    image = tmp_path / "image.iso"
    image.write_bytes(b"\0" * 2048)
    with pytest.raises(UsageError, match="corei7_sandy_bridge_2600k"):
        run_bochs(BochsConfig(image=image, cpu_model="no_such_cpu"))


@pytest.mark.bochs
@needs_bochs
def test_guest_exit_with_vmx_on_the_default_model(images: BootImages, observe: Observed, tmp_path: Path) -> None:
    outcome = run_bochs(BochsConfig(image=images.facts, timeout_s=120))
    assert outcome.ending is Ending.GUEST_EXIT, outcome.detail
    assert outcome.exit_status == 1
    # Bochs's BIOS locks IA32_FEATURE_CONTROL with VMXON outside SMX allowed (bits 0 and 2).
    assert outcome.serial == b"BOCHS-TEST\nVMX=1\nFC=00000005\nEND\n"
    assert outcome.backend == "bochs"
    assert (instruction_ticks(outcome.emulator_log) or 0) > 1_000_000
    assert "Shutdown port" in outcome.emulator_log
    _assert_cleaned_up(observe)


@pytest.mark.bochs
@needs_bochs
def test_amd_model_has_no_vmx(images: BootImages) -> None:
    outcome = run_bochs(BochsConfig(image=images.facts, cpu_model="ryzen", timeout_s=120))
    assert outcome.ending is Ending.GUEST_EXIT, outcome.detail
    assert outcome.serial == b"BOCHS-TEST\nVMX=0\nEND\n"


@pytest.mark.bochs
@needs_bochs
def test_triple_fault_ends_the_run(images: BootImages, observe: Observed) -> None:
    outcome = run_bochs(BochsConfig(image=images.triple, timeout_s=120))
    assert outcome.ending is Ending.TRIPLE_FAULT, outcome.detail
    assert outcome.exit_status == 1
    assert outcome.serial == b"TRIPLE\n"
    _assert_cleaned_up(observe)


@pytest.mark.bochs
@needs_bochs
def test_timeout_kills_bochs_and_keeps_partial_serial(images: BootImages, observe: Observed) -> None:
    outcome = run_bochs(BochsConfig(image=images.hang, timeout_s=20))
    assert outcome.ending is Ending.TIMEOUT, outcome.detail
    assert outcome.serial == b"HANG\n"
    assert 20 <= outcome.elapsed_s < 20 + bochs_run.TERM_GRACE_S + 5
    _assert_cleaned_up(observe)
