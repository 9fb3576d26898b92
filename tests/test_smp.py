"""Every logical CPU, booted: found in the MADT (or by a broadcast), started, checked one by one.

QEMU's TCG runs the AMD-V path on every CPU (`max`), through -kernel, SeaBIOS
and OVMF ISOs; Bochs runs the VT-x path with the whole guest on each CPU, and
the x2APIC start. Injections aimed at one CPU (`inject_cpu=N`) must name that
CPU in the overall verdict and leave the others checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bootgen.backends.host import Host
from bootgen.backends.outcome import Ending
from bootgen.backends.qemu import QemuConfig, run_qemu
from bootgen.contract.verdicts import Verdict
from bootgen.image.iso import IsoConfig, build_iso
from bootgen.render.jsondoc import to_json
from bootgen.verdict.evaluate import evaluate

VMX_TRACE = ["CPUID", "I/O instruction", "VMCALL", "HLT"]


def _qemu(image: Path, smp: int, append: str = "", **kwargs) -> dict:
    outcome = run_qemu(QemuConfig(image=image, smp=smp, append=append, timeout_s=60, **kwargs))
    assert outcome.ending is Ending.GUEST_EXIT, outcome.detail
    return to_json(evaluate(outcome.serial, outcome))


def _bochs(stub_elf: Path, tmp_path: Path, smp: int, cmdline: str = "", model: str = "corei7_skylake_x") -> dict:
    from bootgen.backends.bochs import BochsConfig, run_bochs
    if Host().bochs_unavailable() is not None:
        pytest.skip("Bochs (with SDL2 display plugin and BIOS images) is not installed")
    iso = build_iso(IsoConfig(elf=stub_elf, output=tmp_path / "smp.iso", cmdline=cmdline)).path
    outcome = run_bochs(BochsConfig(image=iso, cpu_model=model, smp=smp, timeout_s=300))
    assert outcome.ending is Ending.GUEST_EXIT, outcome.detail
    return to_json(evaluate(outcome.serial, outcome))


def _assert_every_cpu(doc: dict, count: int, verdict: Verdict, source: str = "madt") -> None:
    assert doc["verdict"] == verdict, doc["reason"]
    cpus = doc["cpus"]
    assert [c["index"] for c in cpus] == list(range(count))
    assert all(c["verdict"] == verdict and c["status"] == "finished" for c in cpus), cpus
    assert len({c["apic_id"] for c in cpus}) == count
    assert doc["smp"]["source"] == source and doc["smp"]["count"] == count
    assert all(c["join_us"] is not None and c["join_us"] > 0 for c in cpus[1:])


@pytest.mark.qemu
@pytest.mark.parametrize("smp", [1, 2, 4, 8])
def test_qemu_every_cpu_is_found_and_checked(stub_elf, smp):
    doc = _qemu(stub_elf, smp)
    _assert_every_cpu(doc, smp, Verdict.SVM_READY)
    assert doc["smp"]["run"] == ("concurrent" if smp > 1 else "boot-only")


@pytest.mark.qemu
@pytest.mark.grub
@pytest.mark.parametrize("firmware", ["seabios", "ovmf"])
def test_iso_boots_check_four_cpus(stub_elf, tmp_path, firmware):
    """GRUB's multiboot (SeaBIOS, the RSDP found in the BIOS area) and multiboot2 (OVMF, the loader's RSDP)."""
    iso = build_iso(IsoConfig(elf=stub_elf, output=tmp_path / "smp.iso")).path
    doc = _qemu(iso, 4, media="cd", firmware=firmware, memory_mib=256)
    _assert_every_cpu(doc, 4, Verdict.SVM_READY)


@pytest.mark.qemu
def test_without_acpi_a_broadcast_finds_the_cpus(stub_elf):
    doc = _qemu(stub_elf, 4, acpi=False)
    _assert_every_cpu(doc, 4, Verdict.SVM_READY, source="broadcast")


@pytest.mark.qemu
def test_cpus_bsp_checks_the_boot_cpu_only(stub_elf):
    doc = _qemu(stub_elf, 4, append="cpus=bsp")
    _assert_every_cpu(doc, 1, Verdict.SVM_READY, source="boot-only")


@pytest.mark.qemu
def test_an_ap_that_never_answers_is_unresponsive(stub_elf):
    doc = _qemu(stub_elf, 4, append="inject=ap-no-sipi inject_cpu=2")
    assert doc["verdict"] == Verdict.UNRESPONSIVE, doc["reason"]
    assert "CPU 2" in doc["reason"] and "of 4" in doc["reason"]
    assert [c["verdict"] for c in doc["cpus"]] == ["svm-ready", "svm-ready", "unresponsive", "svm-ready"]
    assert doc["cpus"][2]["status"] == "unresponsive"


@pytest.mark.qemu
@pytest.mark.parametrize("append, verdict", [
    ("inject=svme-preset inject_cpu=3", Verdict.SVM_IN_USE),
    ("inject=ud2 inject_cpu=1", Verdict.FAULT),
    ("inject=asid-zero inject_cpu=2", Verdict.VMRUN_FAILED),
])
def test_a_fault_on_one_ap_names_that_cpu(stub_elf, append, verdict):
    cpu = int(append.rsplit("=", 1)[1])
    doc = _qemu(stub_elf, 4, append=append)
    assert doc["verdict"] == verdict, doc["reason"]
    assert f"CPU {cpu} " in doc["reason"] + " "
    assert [c["index"] for c in doc["cpus"] if c["verdict"] != "svm-ready"] == [cpu]


@pytest.mark.qemu
def test_an_ap_that_hangs_is_given_up_on_and_named(stub_elf):
    doc = _qemu(stub_elf, 2, append="inject=hang inject_cpu=1")
    assert doc["verdict"] == Verdict.UNRESPONSIVE, doc["reason"]
    assert doc["cpus"][1]["status"] == "timeout" and doc["cpus"][0]["verdict"] == "svm-ready"


@pytest.mark.bochs
@pytest.mark.grub
@pytest.mark.parametrize("smp", [2, 4])
def test_bochs_every_cpu_runs_the_guest(stub_elf, tmp_path, smp):
    doc = _bochs(stub_elf, tmp_path, smp)
    _assert_every_cpu(doc, smp, Verdict.VMX_READY)
    for cpu in doc["cpus"]:
        assert [e["name"] for e in cpu["guest"]["exits"]] == VMX_TRACE, cpu["index"]
        assert cpu["differences"] == []


@pytest.mark.bochs
@pytest.mark.grub
def test_the_aps_start_through_the_x2apic(stub_elf, tmp_path):
    doc = _bochs(stub_elf, tmp_path, 2, "inject=x2apic")
    _assert_every_cpu(doc, 2, Verdict.VMX_READY)
    assert doc["smp"]["apic_mode"] == "x2apic"


@pytest.mark.bochs
@pytest.mark.grub
@pytest.mark.parametrize("append, verdict", [
    ("inject=feature-control-disabled inject_cpu=2", Verdict.VMX_DISABLED_BY_FIRMWARE),
    ("inject=vmxe-preset inject_cpu=3", Verdict.VMX_IN_USE),
])
def test_bochs_a_fault_on_one_ap_names_that_cpu(stub_elf, tmp_path, append, verdict):
    cpu = int(append.rsplit("=", 1)[1])
    doc = _bochs(stub_elf, tmp_path, 4, append)
    assert doc["verdict"] == verdict, doc["reason"]
    assert f"CPU {cpu} " in doc["reason"] + " " and "of 4" in doc["reason"]
    assert [c["index"] for c in doc["cpus"] if c["verdict"] != "vmx-ready"] == [cpu]


@pytest.mark.qemu
@pytest.mark.parametrize("append, shown", [
    ("", ["CPUs 0-3: svm-ready"]),
    ("inject=ap-no-sipi inject_cpu=2", ["CPUs 0-1: svm-ready", "CPU 2: unresponsive", "CPU 3: svm-ready"]),
])
def test_the_screen_shows_a_line_per_cpu(stub_elf, append, shown):
    from test_screen import look, text_buffer_lines
    lines = text_buffer_lines(look(["-kernel", str(stub_elf), "-smp", "4", "-append", append]).vga_text)
    summary = [line for line in lines if line.startswith("CPU")]
    assert summary == shown, "\n".join(lines)
    assert not any(line.startswith("cpu index=1 ") for line in lines)  # an AP's records: on the serial port only
