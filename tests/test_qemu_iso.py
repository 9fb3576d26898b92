"""The real stub's ISO under QEMU: SeaBIOS and OVMF, as a CD and as a raw disk (the USB-stick case)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bootgen.backends.firmware import ovmf_available
from bootgen.backends.firmware_output import secure_boot_refusals
from bootgen.backends.outcome import Ending
from bootgen.backends.qemu import QemuConfig, run_qemu
from bootgen.image.iso import IsoConfig, build_iso
from bootgen.render.jsondoc import to_json
from bootgen.verdict import Verdict
from bootgen.verdict.evaluate import evaluate

from conftest import run_cli

CR4_PAE, CR4_MCE, EFER_LME = 1 << 5, 1 << 6, 1 << 8  # SDM Vol. 3A, 2.5 and 2.2.1

pytestmark = [pytest.mark.qemu, pytest.mark.grub]


@pytest.fixture(scope="module")
def stub_iso(stub_elf, tmp_path_factory) -> Path:
    return build_iso(IsoConfig(elf=stub_elf, output=tmp_path_factory.mktemp("iso") / "bootgen.iso")).path


@pytest.mark.parametrize("firmware", ["seabios", "ovmf"])
@pytest.mark.parametrize("media", ["cd", "disk"])
def test_iso_boots_to_a_verdict(stub_iso, firmware, media):
    if firmware == "ovmf" and not ovmf_available():
        pytest.skip("OVMF is not installed (Debian package ovmf)")
    outcome = run_qemu(QemuConfig(image=stub_iso, firmware=firmware, media=media,
                                  memory_mib=256, timeout_s=90))
    result = evaluate(outcome.serial, outcome)
    assert outcome.ending is Ending.GUEST_EXIT, outcome.detail
    assert result.verdict is Verdict.SVM_READY, result.reason  # TCG's max CPU emulates AMD-V
    assert not secure_boot_refusals(outcome.serial)  # the control for tests/test_secure_boot.py
    boot = result.report.boot
    assert (boot.loader or "").startswith("GRUB")
    doc = to_json(result)["boot"]
    if firmware == "ovmf":
        # GRUB-EFI loads the stub with multiboot2, whose information carries the ACPI RSDP and the EFI system table.
        assert doc["protocol"] == "multiboot2" and doc["magic"] == 0x36D76289, doc
        assert doc["rsdp"] and doc["rsdp_revision"] == 2 and doc["efi_systab"], doc
        # OVMF's GOP framebuffer (1280x800x32 at 2 GiB) covers one 2 MiB chunk whole: a large page there,
        # write-combining.
        fb = next(m for m in result.report.mappings if m.what == "framebuffer")
        assert (fb.phys, fb.linear, fb.cache, fb.page_kib) == (fb.linear, fb.phys, "wc", 2048), fb
    else:
        assert doc["protocol"] == "multiboot1" and doc["efi_systab"] is None, doc
    if firmware == "ovmf":
        # No VGA text mode under UEFI: GRUB hands over an RGB framebuffer, which the stub draws into (test_screen.py).
        assert boot.framebuffer_type == 1
        # GRUB-EFI leaves CR4 bits of its own (OSFXSR, OSXMMEXCPT, DE) and EFER.NXE: the stub keeps only
        # what it needs (CR4.MCE here; PAE comes with paging) and clears EFER.LME.
        cpu = result.report.boot_cpu
        loader, normalized = cpu.registers("loader"), cpu.registers("normalized")
        assert loader is not None and normalized is not None
        assert loader.cr4 & ~normalized.cr4, "GRUB-EFI left no CR4 bits here: the test no longer shows anything"
        assert normalized.cr4 & ~(CR4_MCE | CR4_PAE) == 0 and normalized.cr4 & CR4_MCE, hex(normalized.cr4)
        assert normalized.efer is not None and not normalized.efer & EFER_LME


def test_cmdline_baked_into_the_iso(stub_elf, tmp_path):
    iso = build_iso(IsoConfig(elf=stub_elf, output=tmp_path / "com2.iso", cmdline="serial=0x2f8 inject=ud2")).path
    outcome = run_qemu(QemuConfig(image=iso, media="cd", serial_port=0x2F8, timeout_s=60))
    result = evaluate(outcome.serial, outcome)
    assert result.verdict is Verdict.FAULT and result.report.boot_cpu.exception.vector == 6


def test_cli_iso_and_run(tmp_path):
    iso = tmp_path / "out.iso"
    proc = run_cli("iso", "-o", str(iso))
    assert proc.returncode == 0, proc.stderr
    assert "bytes" in proc.stdout and iso.stat().st_size <= 2 * 1024 * 1024
    proc = run_cli("run", "--image", str(iso), "--media", "disk", "--expect", "svm-ready")
    assert proc.returncode == 0, proc.stdout + proc.stderr
