"""The guard for an emulator bootgen did not start itself: it kills that process once bootgen's end of its pipe
closes, and never a process that only took the same PID later."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bootgen.backends import orphan_guard

from processes import alive, wait_for


def test_the_guard_kills_its_process_when_the_pipe_closes():
    victim = subprocess.Popen(["sleep", "60"])
    try:
        held = orphan_guard.guard(victim.pid)
        assert held is not None
        assert alive(victim.pid)
        os.close(held)  # as when bootgen ends, SIGKILL included
        assert wait_for(lambda: victim.poll() is not None, timeout=10), "the guard did not kill it"
    finally:
        if victim.poll() is None:
            victim.kill()
        victim.wait(10)


def test_a_released_guard_leaves_its_process_alone():
    """bootgen stopped the emulator the ordinary way, or a new one took its place: the guard stands down."""
    keeper = subprocess.Popen(["sleep", "60"])
    try:
        held = orphan_guard.guard(keeper.pid)
        assert held is not None
        orphan_guard.release(held)
        time.sleep(1)
        assert keeper.poll() is None
    finally:
        keeper.kill()
        keeper.wait(10)


def test_a_reused_pid_is_left_alone():
    """The start time does not match: it is another process than the one guarded."""
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        guard = subprocess.run([sys.executable, "-m", "bootgen.backends.orphan_guard", str(bystander.pid), "1"],
                               stdin=subprocess.DEVNULL, timeout=30)
        assert guard.returncode == 0 and bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait(10)


def test_a_process_already_gone_gets_no_guard():
    gone = subprocess.Popen(["true"])
    gone.wait(10)
    assert orphan_guard.guard(gone.pid) is None
