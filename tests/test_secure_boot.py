"""Secure Boot: an unsigned loader refused by the firmware is said as such, from the firmware's own words.

Debian's OVMF Secure Boot build with Microsoft's keys enrolled (``--firmware ovmf-secboot``) is what most
UEFI PCs ship with; it refuses the image's unsigned GRUB, says so on its serial console and then finds
nothing else to boot. The run ends then, not at its deadline, with a no-verdict that says why.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from stub_reports import ready

from bootgen.backends.firmware import ovmf_available
from bootgen.backends.firmware_output import gave_up, secure_boot_refusals
from bootgen.backends.outcome import Ending, RunOutcome
from bootgen.backends.qemu import QemuConfig, run_qemu
from bootgen.image.iso import IsoConfig, build_iso
from bootgen.render.jsondoc import to_json
from bootgen.render.text import to_text
from bootgen.verdict import Verdict
from bootgen.verdict.evaluate import SECURE_BOOT_REFUSED, evaluate

from test_protocol import make_report

# What OVMF printed here (edk2-stable202302 in Debian 12), escapes included.
OVMF_REFUSAL = (b"\x1b[2J\x1b[01;01H\x1b[=3h\x1b[2J\x1b[01;01HBdsDxe: loading Boot0001 \"UEFI QEMU DVD-ROM QM00005 \" "
                b"from PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x2,0xFFFF,0x0)\r\n"
                b"BdsDxe: failed to load Boot0001 \"UEFI QEMU DVD-ROM QM00005 \" from "
                b"PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x2,0xFFFF,0x0): Access Denied\r\n"
                b"BdsDxe: failed to start Boot0002 \"EFI Internal Shell\" from Fv(7CB8BDC9)/FvFile(7C04A583): "
                b"Security Violation\r\n"
                b"BdsDxe: No bootable option or device was found.\r\n"
                b"BdsDxe: Press any key to enter the Boot Manager Menu.\r")
NOTHING = RunOutcome("qemu", b"", Ending.NOTHING_BOOTED, "the firmware found nothing it would boot")


def test_refusals_read_from_the_firmware_output():
    refusals = secure_boot_refusals(OVMF_REFUSAL)
    assert [(r.option, r.description, r.status) for r in refusals] == [
        ("Boot0001", "UEFI QEMU DVD-ROM QM00005", "Access Denied"),
        ("Boot0002", "EFI Internal Shell", "Security Violation")]
    assert gave_up(OVMF_REFUSAL) and gave_up(b"SeaBIOS (version 1.16)\r\nNo bootable device.  Retrying in 60 s")
    # Another failure to load is not Secure Boot, and a firmware still trying has not given up.
    assert not secure_boot_refusals(OVMF_REFUSAL.replace(b"Access Denied", b"Not Found")
                                    .replace(b"Security Violation", b"Not Found"))
    assert not gave_up(OVMF_REFUSAL.split(b"BdsDxe: No bootable")[0])


def test_refusal_gives_no_verdict_with_its_advice():
    result = evaluate(OVMF_REFUSAL, NOTHING)
    assert result.verdict is Verdict.NO_VERDICT
    assert result.reason.startswith(SECURE_BOOT_REFUSED) and "Boot0001" in result.reason
    doc = to_json(result)
    assert doc["detail"]["secure_boot_refused"][0] == 'Boot0001 "UEFI QEMU DVD-ROM QM00005": Access Denied'
    assert "turn Secure Boot off" in to_text(result)


def test_silence_is_not_taken_for_secure_boot():
    result = evaluate(b"", RunOutcome("qemu", b"", Ending.TIMEOUT, "no exit after 60 s"))
    assert result.verdict is Verdict.NO_VERDICT and not result.reason.startswith(SECURE_BOOT_REFUSED)
    assert "secure_boot_refused" not in result.detail


def test_words_after_the_begin_line_are_the_stubs_not_the_firmwares():
    # A firmware that refused one option and booted the next: the report decides. The same words inside
    # the report (a guest or CPU string) are no firmware refusal either.
    booted = OVMF_REFUSAL.split(b"BdsDxe: No bootable")[0] + make_report(ready())
    assert evaluate(booted, RunOutcome("qemu", b"", Ending.GUEST_EXIT)).verdict is Verdict.VMX_READY
    inside = make_report(["step name=descriptors state=begin"]).replace(b"state=begin", OVMF_REFUSAL[-200:])
    assert not secure_boot_refusals(inside) and not gave_up(inside)


@pytest.mark.qemu
@pytest.mark.grub
def test_secure_boot_firmware_refuses_the_iso(stub_elf, tmp_path: Path):
    if not ovmf_available(secure_boot=True):
        pytest.skip("OVMF's Secure Boot build is not installed (Debian package ovmf)")
    iso = build_iso(IsoConfig(elf=stub_elf, output=tmp_path / "bootgen.iso")).path
    outcome = run_qemu(QemuConfig(image=iso, firmware="ovmf-secboot", media="disk", memory_mib=256, timeout_s=120))
    result = evaluate(outcome.serial, outcome)
    assert outcome.ending is Ending.NOTHING_BOOTED, (outcome.detail, outcome.serial[-300:])
    assert result.verdict is Verdict.NO_VERDICT
    assert result.reason.startswith(SECURE_BOOT_REFUSED), result.reason
    assert not result.report.framing.found_begin

