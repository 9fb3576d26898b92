"""Run a matrix's entries in parallel, each as its own `bootgen run` (its own emulator, its own clean-up), and
collect each one's verdict and JSON document. Only the processes started here are stopped, by their PIDs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from .spec import Entry


@dataclass(frozen=True)
class Outcome:
    entry: Entry
    verdict: str             # the verdict reached, or "error" when the run gave no result
    passed: bool
    seconds: float
    status: int
    doc: dict | None         # the run's JSON document
    error: str = ""          # the run's one-line error, when it had one

    @property
    def reason(self) -> str:
        return self.error or (self.doc or {}).get("reason", "")


class _Running:
    """The `bootgen run` processes in flight, to be stopped (by PID) when the matrix is interrupted."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.procs: set[subprocess.Popen] = set()
        self.stopping = False

    def stop_all(self) -> None:
        with self.lock:
            self.stopping = True
            for proc in self.procs:
                if proc.poll() is None:
                    proc.terminate()  # bootgen stops its emulator on SIGTERM, then exits
        for proc in list(self.procs):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def _box(entry: Entry) -> str | None:
    """The real box an entry reads, if any: its console device, or its labgrid environment and target."""
    if isinstance(device := entry.option("device"), str):  # one box, however it is spelled: a /dev/serial/by-id
        return device.lower() if "://" in device else os.path.realpath(device)  # link is its tty, hosts any case
    if entry.option("backend") == "labgrid":
        return f"{entry.option('lg_env')}#{entry.option('lg_target') or 'main'}"
    return None


def _run_one(entry: Entry, running: _Running, box_locks: dict[str, threading.Lock]) -> Outcome:
    box = _box(entry)
    if box is not None:  # one reader per console, one power switch per box: runs on the same box take turns
        with box_locks[box]:
            return _run_alone(entry, running)
    return _run_alone(entry, running)


def _run_alone(entry: Entry, running: _Running) -> Outcome:
    started = time.monotonic()
    argv = [sys.executable, "-m", "bootgen", "run", *entry.argv(), "--json"]
    with running.lock:
        if running.stopping:
            return Outcome(entry, "error", False, 0.0, -1, None, "not run: the matrix was interrupted")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        running.procs.add(proc)
    try:
        out, err = proc.communicate()
    finally:
        with running.lock:
            running.procs.discard(proc)
    seconds = time.monotonic() - started
    try:
        doc = json.loads(out)
    except json.JSONDecodeError:
        line = (err.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        return Outcome(entry, "error", False, seconds, proc.returncode, None, line.removeprefix("bootgen: "))
    return Outcome(entry, doc["verdict"], proc.returncode == 0, seconds, proc.returncode, doc)


def run_matrix(entries: list[Entry], jobs: int, done: Callable[[Outcome, int], None] | None = None,
               results: dict[str, Outcome] | None = None) -> list[Outcome]:
    """Every entry, ``jobs`` at a time; ``done`` hears each outcome as it comes (with the count so far).
    The outcomes come back in the file's order; ``results`` (by name) holds the finished ones even when an
    interruption ends the matrix early."""
    running = _Running()
    results = {} if results is None else results
    device_locks = {box: threading.Lock() for e in entries if (box := _box(e)) is not None}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        try:
            for future in as_completed([pool.submit(_run_one, e, running, device_locks) for e in entries]):
                outcome = future.result()
                results[outcome.entry.name] = outcome
                if done is not None:
                    done(outcome, len(results))
        except BaseException:
            running.stop_all()
            raise
    return [results[e.name] for e in entries]
