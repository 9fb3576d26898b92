"""bootgen as a pytest plugin (registered through the ``pytest11`` entry point): fixtures and a marker for
writing virtualization checks as ordinary tests.

    def test_nested(bootgen_run):
        assert bootgen_run(backend="qemu", accel="kvm", cpu="host").ready

    @pytest.mark.bootgen(backend="bochs", cpu_model="ryzen")
    def test_ryzen(bootgen_result):
        assert bootgen_result.ready

Each run is a ``bootgen run`` of its own (its emulator, its clean-up); keyword arguments are that command's
options with ``_`` for ``-`` (``cpu_model="ryzen"`` is ``--cpu-model ryzen``). When a test that ran bootgen
fails, the runs' text reports are attached to its output. Being plain pytest, pytest-xdist spreads the runs
over workers and hosts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from .contract.verdicts import Verdict

_RUNS = pytest.StashKey[list]()


@dataclass(frozen=True)
class BootgenRun:
    """One run's result: the verdict's name, whether it is a ready one, the JSON document, the text report."""

    verdict: str
    ready: bool
    reason: str
    exit_status: int
    doc: dict = field(repr=False)
    text: str = field(repr=False)


def _argv(options: dict[str, object]) -> list[str]:
    argv = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value not in (None, False):
            argv += [flag, str(value)]
    return argv


def run_bootgen(**options: object) -> BootgenRun:
    """``bootgen run`` with these options; a usage or environment error (exit 2, 4, 5) fails the test."""
    argv = [sys.executable, "-m", "bootgen", "run", *_argv(options), "--json"]
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if done.returncode in (2, 4, 5):
        pytest.fail(f"bootgen run {' '.join(_argv(options))}: {done.stderr.strip()}", pytrace=False)
    doc = json.loads(done.stdout)
    return BootgenRun(doc["verdict"], Verdict(doc["verdict"]).ready, doc["reason"], done.returncode, doc,
                      _text_of(doc))


def _text_of(doc: dict) -> str:
    """What the test's output shows of a run: the verdict, the advice, how it ran, every check."""
    lines = [f"verdict: {doc['verdict']}  {doc['reason']}"]
    lines += [f"  - {line}" for line in doc.get("advice") or []]
    run = doc.get("run") or {}
    if run:
        lines.append("run:     " + ", ".join(f"{k}={v}" for k, v in run.items()))
    lines += [f"check {c['name']}: {c['result']}" + (f" -- {c['text']}" if c.get("text") else "")
              for c in doc.get("checks") or []]
    return "\n".join(lines)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "bootgen(**options): run bootgen with these `bootgen run` options for the "
                                       "test's bootgen_result fixture")


@pytest.fixture
def bootgen_run(request: pytest.FixtureRequest) -> Callable[..., BootgenRun]:
    """Run bootgen: ``bootgen_run(backend="qemu", cpu="EPYC")`` returns a BootgenRun."""
    runs = request.node.stash.setdefault(_RUNS, [])

    def run(**options: object) -> BootgenRun:
        result = run_bootgen(**options)
        runs.append((options, result))
        return result
    return run


@pytest.fixture
def bootgen_result(request: pytest.FixtureRequest, bootgen_run) -> BootgenRun:
    """The run the test's ``@pytest.mark.bootgen(...)`` marker describes."""
    marker = request.node.get_closest_marker("bootgen")
    if marker is None:
        pytest.fail("bootgen_result needs a @pytest.mark.bootgen(...) marker with the run's options",
                    pytrace=False)
    return bootgen_run(**marker.kwargs)


@pytest.hookimpl(hookwrapper=True)  # the old-style wrapper: pytest 7 and 8 alike
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[Any]:
    outcome: Any = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for options, result in item.stash.get(_RUNS, []):
            report.sections.append((f"bootgen run {' '.join(_argv(options))}", result.text))
