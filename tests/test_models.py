"""`bootgen models`: the CPU models each backend offers, asked from the emulators, and what each gives."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from bootgen.backends import defaults
from bootgen.backends.bochs import models as bochs_models_module
from bootgen.backends.cpu_models import CpuModel
from bootgen.commands import models as models_command
from bootgen.errors import ToolMissing
from bootgen.report.reader import read

from conftest import DATA, run_cli


def test_technology_names():
    def model(vmx, svm, npt):
        return CpuModel("qemu", "m", "v", vmx, svm, npt)
    assert model(True, False, True).technology == "VT-x (EPT)"
    assert model(True, False, False).technology == "VT-x"
    assert model(False, True, True).technology == "AMD-V (NPT)"
    assert model(False, True, None).technology == "AMD-V"
    assert model(False, False, None).technology == "none"
    assert model(None, None, None).technology == "unknown"


@pytest.mark.qemu
def test_qemu_says_what_tcg_gives_each_model():
    from bootgen.backends.qemu.models import qemu_models
    models = {m.name: m for m in qemu_models("tcg")}
    assert len(models) > 50
    # TCG emulates AMD-V, not VT-x (DESIGN.md): QEMU's own expansion says so.
    assert models["max"].technology == "AMD-V (NPT)" and models["max"].default
    assert models["qemu64"].alias_of == "qemu64-v1" and models["qemu64"].svm is True
    assert models["Skylake-Client-v4"].technology == "none"
    assert not [m for m in models.values() if m.vmx]
    assert "host" not in models  # KVM only


@pytest.mark.qemu
def test_cli_models_json():
    proc = run_cli("models", "--backend", "qemu", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    names = {m["name"]: m for m in doc["qemu"]["models"]}
    assert names["EPYC-Rome"]["technology"] == "AMD-V (NPT)" and names["EPYC-Rome"]["vendor"] == "AuthenticAMD"
    text = run_cli("models", "--backend", "qemu").stdout
    assert text.startswith("qemu: ") and "\n  max " in text and "default" in text


@pytest.mark.bochs
def test_bochs_lists_its_models_with_their_cpudb_facts():
    models = {m.name: m for m in bochs_models_module.bochs_models()}
    assert models[defaults.BOCHS_CPU_MODEL].default
    assert models["corei7_skylake_x"].technology == "VT-x (EPT)"
    assert models["core_duo_t2400_yonah"].technology == "VT-x"
    assert models["ryzen"].technology == "AMD-V (NPT)" and models["turion64_tyler"].technology == "AMD-V"
    assert models["athlon64_venice"].technology == "none"
    assert not [m.name for m in models.values() if m.technology == "unknown"], "Debian's Bochs 2.7 is all known"


def test_a_bochs_model_the_table_does_not_know_is_unknown(monkeypatch):
    monkeypatch.setattr(bochs_models_module, "list_cpu_models", lambda bochs: ["ryzen", "future_lake"])
    future = bochs_models_module.bochs_models()[1]
    assert future.technology == "unknown" and future.vendor is None and future.source == ""


@pytest.mark.parametrize("log, model", [
    ("bochs-yonah.log", "core_duo_t2400_yonah"), ("bochs-penryn.log", "core2_penryn_t9600"),
    ("bochs-sandy-bridge.log", "corei7_sandy_bridge_2600k"), ("bochs-skylake-x.log", "corei7_skylake_x"),
    ("bochs-tigerlake.log", "tigerlake"), ("bochs-ryzen-no-vmx.log", "ryzen")])
def test_the_table_agrees_with_what_those_models_reported(log, model, monkeypatch):
    """The CPUID each model gave the stub (captured logs) says the same as the table: vendor and VT-x."""
    monkeypatch.setattr(bochs_models_module, "list_cpu_models", lambda bochs: [model])
    (entry,) = bochs_models_module.bochs_models()
    cpu = read((DATA / log).read_bytes()).boot_cpu
    assert bool(cpu.cpuid_leaf(1).ecx >> 5 & 1) is entry.vmx  # CPUID.1:ECX.VMX
    assert cpu.cpuid_leaf(0).ebx == (0x756E6547 if entry.vendor == "GenuineIntel" else 0x68747541)  # "Genu"/"Auth"


def test_a_missing_backend_is_said_and_the_other_listed(monkeypatch, capsys):
    def missing(accel):
        raise ToolMissing("qemu-system-x86_64 not found")
    monkeypatch.setattr("bootgen.backends.qemu.models.qemu_models", missing)
    monkeypatch.setattr("bootgen.backends.bochs.models.bochs_models",
                        lambda: [CpuModel("bochs", "ryzen", "AuthenticAMD", False, True, True)])
    args = SimpleNamespace(backend="all", accel="tcg", json=False)
    assert models_command.cmd_models(args) == 0
    out = capsys.readouterr().out
    assert "qemu: not available: qemu-system-x86_64 not found" in out and "ryzen" in out
    with pytest.raises(ToolMissing):
        models_command.cmd_models(SimpleNamespace(backend="qemu", accel="tcg", json=False))


def test_models_usage_errors():
    proc = run_cli("models", "--backend", "vmware")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr
