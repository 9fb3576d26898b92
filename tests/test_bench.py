"""The benchmark runs end to end (one run per figure) and writes the documented JSON keys."""

from __future__ import annotations

import importlib.util
import json
import shutil

import pytest

from bootgen.tools.bench import main

pytestmark = [pytest.mark.qemu, pytest.mark.grub]

KEYS = ["iso_bytes", "grub_mkrescue_iso_bytes", "iso_size_ratio", "iso_build_time_ratio", "dev_loop_seconds",
        "qemu_kernel_floor_ratio", "harness_overhead_seconds", "qemu_iso_seabios_ratio", "qemu_iso_ovmf_ratio",
        "bochs_ticks_ratio", "stub_loaded_bytes"]


def test_bench_quick(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["--runs", "1", "--no-bochs", "--no-ovmf", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    for key in KEYS:
        assert key in doc, key
    assert 0 < doc["stub_loaded_bytes"] <= 48 * 1024
    assert doc["iso_bytes"] <= 2 * 1024 * 1024
    assert doc["dev_loop_seconds"] > 0 and doc["qemu_kernel_floor_ratio"] > 0
    if shutil.which("grub-mkrescue") and shutil.which("xorriso"):
        assert doc["iso_size_ratio"] < 1 and doc["qemu_iso_seabios_ratio"] > 0
    table = capsys.readouterr().out
    assert "edit-build-boot loop" in table and "harness overhead" in table
    if importlib.util.find_spec("labgrid"):
        assert doc["labgrid_qemu_seconds"] > 0 and "labgrid QEMUDriver run" in table
