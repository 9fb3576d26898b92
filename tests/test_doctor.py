"""bootgen doctor: each check against a fake host (a temporary root and fake probes), and the real CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bootgen.image import grub
from bootgen.tools import doctor
from bootgen.tools.doctor import Host, Status, run_checks

from conftest import run_cli

TOOLS = ("gcc", "ld", "grub-mkimage", "qemu-system-x86_64")


def _touch(path: Path, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def make_root(root: Path, *, cpu_flags: str = "fpu vmx sse2", nested: str | None = "Y",
              kvm: bool = True, ovmf: bool = True) -> Path:
    """A file-system root that has everything bootgen needs (then tests take pieces away)."""
    for platform in (grub.BIOS, grub.EFI):
        directory = root / "usr/lib/grub" / platform.name
        for name in ["kernel.img", "moddep.lst", *(f"{m}.mod" for m in (*platform.modules, *platform.loaded_modules)),
                     "cdboot.img", "diskboot.img", "boot_hybrid.img"]:
            _touch(directory / name)
    if ovmf:
        _touch(root / "usr/share/OVMF/OVMF_CODE_4M.fd")
        _touch(root / "usr/share/OVMF/OVMF_VARS_4M.fd")
    if kvm:
        _touch(root / "dev/kvm")
    _touch(root / "proc/cpuinfo", f"processor\t: 0\nflags\t\t: {cpu_flags}\n")
    if nested is not None:
        module = "kvm_intel" if "vmx" in cpu_flags.split() else "kvm_amd"
        _touch(root / f"sys/module/{module}/parameters/nested", nested + "\n")
    return root


def make_host(root: Path, *, tools: tuple[str, ...] = TOOLS, access: bool = True, modules: bool = True,
              bochs: str | None = None, bochs_models: tuple[str, ...] = ("pentium", "corei7_skylake_x"),
              kvm_trial: str | None = None, sources: str | None = "checkout",
              distributions: tuple[str, ...] = ("labgrid", "pyserial-labgrid")) -> Host:
    return Host(
        kvm_guest_trial=lambda: kvm_trial,
        stub_sources=lambda: None if sources is None else root / sources,
        root=root,
        which=lambda name: f"/usr/bin/{name}" if name in tools else None,
        access=lambda path, mode: access,
        can_import=lambda module: modules,
        bochs_unavailable=lambda: bochs,
        bochs_models=lambda: list(bochs_models),
        distributions=lambda: set(distributions),
    )


def by_name(checks: list[doctor.Check]) -> dict[str, doctor.Check]:
    return {c.name: c for c in checks}


def test_complete_host_passes(tmp_path):
    checks = run_checks(make_host(make_root(tmp_path)))
    assert all(c.status is Status.PASS for c in checks), [c for c in checks if c.status is not Status.PASS]
    assert doctor.exit_status(checks) == 0
    names = [c.name for c in checks]
    assert names == ["gcc", "ld", "grub-mkimage", "grub-i386-pc", "grub-x86_64-efi", "qemu", "ovmf", "bochs",
                     "bochs-vtx", "kvm", "host-cpu", "kvm-nested", "stub-sources", "python-lief", "python-pycdlib",
                     "python-qemu.qmp", "python-rich", "extra-serial", "extra-labgrid"]


def test_both_serial_distributions_are_warned_about(tmp_path):
    checks = by_name(run_checks(make_host(make_root(tmp_path), distributions=("pyserial", "pyserial-labgrid"))))
    assert checks["extra-serial-twice"].status is Status.WARN
    assert "bootgen[labgrid]" in checks["extra-serial-twice"].hint
    missing = by_name(run_checks(make_host(make_root(tmp_path), modules=False)))
    assert missing["extra-labgrid"].status is Status.WARN and missing["extra-serial"].status is Status.WARN
    assert doctor.exit_status(list(missing.values())) == 1  # the required modules fail; the extras only warn


@pytest.mark.parametrize("tool, check", [("gcc", "gcc"), ("ld", "ld"), ("grub-mkimage", "grub-mkimage"),
                                         ("qemu-system-x86_64", "qemu")])
def test_missing_required_tool_fails(tmp_path, tool, check):
    checks = run_checks(make_host(make_root(tmp_path), tools=tuple(t for t in TOOLS if t != tool)))
    found = by_name(checks)[check]
    assert found.status is Status.FAIL and found.hint.startswith("apt-get install")
    assert doctor.exit_status(checks) == 1


def test_missing_grub_module_fails_with_its_package(tmp_path):
    root = make_root(tmp_path)
    (root / "usr/lib/grub/x86_64-efi/efi_gop.mod").unlink()
    checks = by_name(run_checks(make_host(root)))
    assert checks["grub-i386-pc"].status is Status.PASS
    efi = checks["grub-x86_64-efi"]
    assert efi.status is Status.FAIL and "efi_gop.mod" in efi.message and efi.hint == "apt-get install grub-efi-amd64-bin"


def test_missing_ovmf_only_warns(tmp_path):
    checks = run_checks(make_host(make_root(tmp_path, ovmf=False)))
    assert by_name(checks)["ovmf"].status is Status.WARN
    assert doctor.exit_status(checks) == 0


def test_bochs_missing_or_without_vtx_warns(tmp_path):
    root = make_root(tmp_path)
    checks = by_name(run_checks(make_host(root, bochs="bochs not found; install the Debian packages bochs")))
    assert checks["bochs"].status is Status.WARN and "bochs not found" in checks["bochs"].message
    assert "bochs-vtx" not in checks
    checks = by_name(run_checks(make_host(root, bochs_models=("pentium", "ryzen"))))
    assert checks["bochs-vtx"].status is Status.WARN


def test_kvm_absent_or_inaccessible(tmp_path):
    checks = by_name(run_checks(make_host(make_root(tmp_path / "a", kvm=False))))
    assert checks["kvm"].status is Status.WARN and "does not exist" in checks["kvm"].message
    root = make_root(tmp_path / "b")
    _touch(root / "etc/group", "kvm:x:104:\n")
    checks = run_checks(make_host(root, access=False))
    kvm = by_name(checks)["kvm"]
    assert kvm.status is Status.WARN and "'kvm' group" in kvm.hint
    assert doctor.exit_status(checks) == 0


def test_kvm_that_opens_but_runs_no_guest_is_no_pass(tmp_path):
    # As on a host whose KVM is kvm_pvm: /dev/kvm opens, and QEMU aborts setting an MSR for -cpu host.
    root = make_root(tmp_path / "pvm", cpu_flags="fpu sse2", nested=None)
    _touch(root / "sys/module/kvm_pvm/parameters/x")
    failed = by_name(run_checks(make_host(root, kvm_trial="qemu-system-x86_64: error: failed to set MSR 0x10a")))
    kvm = failed["kvm"]
    assert kvm.status is Status.WARN and "failed to set MSR 0x10a" in kvm.message and "kvm_pvm" in kvm.message
    ran = by_name(run_checks(make_host(make_root(tmp_path / "ok"))))["kvm"]
    assert ran.status is Status.PASS and "ran for a second" in ran.message and "kvm_intel" in ran.message


def test_missing_stub_sources_fail(tmp_path):
    checks = by_name(run_checks(make_host(make_root(tmp_path), sources=None)))
    assert checks["stub-sources"].status is Status.FAIL and "BOOTGEN_SOURCE_DIR" in checks["stub-sources"].hint


def test_kvm_group_hint_only_where_the_group_exists(tmp_path):
    without = by_name(run_checks(make_host(make_root(tmp_path / "a"), access=False)))["kvm"]
    assert "'kvm' group" not in without.hint and "read and write access" in without.hint
    root = make_root(tmp_path / "b")
    _touch(root / "etc/group", "root:x:0:\nkvm:x:104:\n")
    with_group = by_name(run_checks(make_host(root, access=False)))["kvm"]
    assert "'kvm' group" in with_group.hint


@pytest.mark.qemu
def test_the_real_kvm_trial_says_what_it_saw():
    """On this machine's real KVM (whatever it is): a trial that ran, or QEMU's own error line."""
    host = Host()
    if host.kvm_problem() is not None:
        pytest.skip(f"no usable /dev/kvm here: {host.kvm_problem()}")
    why = host.kvm_guest_trial()
    assert why is None or ("qemu" in why.lower() or "kvm" in why.lower() or "status" in why), why


def test_nested_parameter(tmp_path):
    off = by_name(run_checks(make_host(make_root(tmp_path / "off", nested="N"))))["kvm-nested"]
    assert off.status is Status.WARN and "modprobe -r kvm_intel; modprobe kvm_intel nested=1" in off.hint
    unloaded = by_name(run_checks(make_host(make_root(tmp_path / "none", nested=None))))["kvm-nested"]
    assert unloaded.status is Status.WARN and "not loaded" in unloaded.message
    amd = by_name(run_checks(make_host(make_root(tmp_path / "amd", cpu_flags="fpu svm", nested="1"))))
    assert amd["host-cpu"].status is Status.PASS and "AMD-V" in amd["host-cpu"].message
    assert amd["kvm-nested"].status is Status.PASS
    assert "kvm_amd" in amd["kvm-nested"].message


def test_host_without_virtualization_flags(tmp_path):
    checks = by_name(run_checks(make_host(make_root(tmp_path, cpu_flags="fpu sse2 hypervisor", nested=None))))
    assert checks["host-cpu"].status is Status.WARN and "virtual machine" in checks["host-cpu"].message
    assert checks["kvm-nested"].status is Status.INFO


def test_missing_python_modules_fail(tmp_path):
    checks = run_checks(make_host(make_root(tmp_path), modules=False))
    python = [c for c in checks if c.name.startswith("python-")]
    assert len(python) == 4 and all(c.status is Status.FAIL for c in python)
    assert doctor.exit_status(checks) == 1


def test_text_and_json(tmp_path):
    checks = run_checks(make_host(make_root(tmp_path, ovmf=False), tools=("ld",)))
    text = doctor.to_text(checks)
    assert "\033[" not in text
    assert "FAIL  gcc" in text and "hint: apt-get install gcc" in text and "WARN  ovmf" in text
    # Two warnings: no OVMF, and a /dev/kvm that no KVM guest could be tried on without QEMU.
    assert "WARN  kvm" in text and "without QEMU" in text
    assert text.splitlines()[-1].startswith(f"{len(checks)} checks: 3 failed, 2 warnings")
    assert "\033[31mFAIL" in doctor.to_text(checks, color=True)
    doc = doctor.to_json(checks)
    assert doc["ok"] is False and doc["schema"] == "bootgen-doctor"
    assert {c["status"] for c in doc["checks"]} == {"PASS", "WARN", "FAIL"}


def test_default_host_reads_the_real_machine():
    host = Host()
    assert host.path("/dev/kvm") == Path("/dev/kvm")
    assert host.access is os.access


def test_cli_doctor():
    proc = run_cli("doctor", "--json")
    doc = json.loads(proc.stdout)
    assert proc.returncode == (0 if doc["ok"] else 1)
    assert {c["name"] for c in doc["checks"]} >= {"gcc", "qemu", "kvm", "python-lief"}
    proc = run_cli("doctor")
    assert proc.stdout.splitlines()[-1].endswith("warnings") and "\033[" not in proc.stdout


def test_auto_backend_choice(tmp_path):
    from bootgen.backends.choice import choose_backend
    no_nested = make_host(make_root(tmp_path / "n", nested="N"), tools=(*TOOLS, "bochs"))
    assert choose_backend(no_nested).backend == "bochs"  # emulated VT-x beats TCG
    assert (choose_backend(no_nested, qemu_only=True).backend, choose_backend(no_nested, qemu_only=True).accel) \
        == ("qemu", "tcg")
    nested = make_host(make_root(tmp_path / "y"))
    assert (choose_backend(nested).backend, choose_backend(nested).accel) == ("qemu", "kvm")
    nested_svm = make_host(make_root(tmp_path / "s", cpu_flags="fpu svm"))
    assert (choose_backend(nested_svm).accel, "nested SVM" in choose_backend(nested_svm).tested) == ("kvm", True)
    # An AMD host without nested SVM: QEMU's TCG shows AMD-V working, Bochs's VT-x would not be this CPU's kind.
    amd = make_host(make_root(tmp_path / "a", cpu_flags="fpu svm", nested="N"), tools=(*TOOLS, "bochs"))
    assert (choose_backend(amd).backend, choose_backend(amd).accel) == ("qemu", "tcg")
