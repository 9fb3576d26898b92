"""The live status line: on a terminal's stderr only, never with --quiet, --json, NO_COLOR or TERM=dumb."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

from bootgen.render.progress import Progress, wanted

from conftest import ROOT


class _Stream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize("tty, quiet, machine, environ, expected", [
    (True, False, False, {"TERM": "xterm"}, True),
    (False, False, False, {"TERM": "xterm"}, False),
    (True, True, False, {"TERM": "xterm"}, False),
    (True, False, True, {"TERM": "xterm"}, False),
    (True, False, False, {"TERM": "xterm", "NO_COLOR": ""}, False),
    (True, False, False, {"TERM": "dumb"}, False),
    (True, False, False, {"TERM": "xterm", "CI": "true"}, False),
])
def test_when_a_status_line_is_wanted(tty, quiet, machine, environ, expected):
    assert wanted(quiet, machine, _Stream(tty), environ) is expected


def test_a_disabled_progress_does_nothing(capsys):
    with Progress(False) as progress:
        progress.phase("building", deadline=1.0)
        progress("the stub is running")
    assert capsys.readouterr() == ("", "")


def _on_a_terminal(*args: str, **env: str) -> tuple[int, bytes, bytes]:
    """Run bootgen with stderr on a pseudo-terminal: its status, stdout, and what the terminal got."""
    master, slave = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CI")} | {"TERM": "xterm"} | env
    proc = subprocess.Popen([sys.executable, "-m", "bootgen", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=slave, env=environ)
    os.close(slave)
    stdout = proc.stdout.read()
    status = proc.wait(120)
    terminal = b""
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # the other end is closed
            break
        if not chunk:
            break
        terminal += chunk
    os.close(master)
    return status, stdout, terminal


@pytest.mark.qemu
def test_a_run_shows_its_phases_on_the_terminal_only(stub_elf):
    status, stdout, terminal = _on_a_terminal("run", "--image", str(stub_elf), "--expect", "svm-ready")
    assert status == 0
    assert b"firmware and loader starting" in terminal and b"timeout in 30 s" in terminal
    assert stdout.startswith(b"verdict: svm-ready") and b"\x1b" not in stdout
    for args, env in ((("--quiet",), {}), (("--json",), {}), ((), {"NO_COLOR": "1"}), ((), {"TERM": "dumb"})):
        status, stdout, terminal = _on_a_terminal("run", "--image", str(stub_elf), "--expect", "svm-ready", *args,
                                                  **env)
        assert status == 0 and terminal == b"", (args, env, terminal)
