"""`bootgen matrix FILE`: run every entry of a matrix file, in parallel, and say which missed its expectation."""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..contract.exit_status import ExitStatus
from ..files import write_atomically
from ..outputs import distinct, writable_output
from ..render import escape


def _table(outcomes: list) -> str:
    rows: list[tuple[str, ...]] = [("", "name", "backend", "cpu", "verdict", "expected", "seconds")]
    for o in outcomes:
        run = (o.doc or {}).get("run") or {}
        cpu = run.get("cpu") or o.entry.option("cpu") or o.entry.option("cpu_model") or ""
        backend = run.get("backend") or o.entry.option("backend") or "qemu"
        rows.append(tuple(escape.one_line(str(cell)) for cell in (
            "PASS" if o.passed else "ERROR" if o.doc is None else "FAIL", o.entry.name, backend, cpu, o.verdict,
            o.entry.expect.value, f"{o.seconds:.1f}")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    for o in outcomes:
        if not o.passed:
            lines.append(escape.one_line(f"{o.entry.name}: {o.reason}"))
    return "\n".join(lines)


def _write_outputs(args: argparse.Namespace, path, outcomes: list) -> None:
    if args.junit is not None:
        from ..render.junit_matrix import write_matrix_junit
        write_matrix_junit(args.junit, path.stem, outcomes)
    if args.json is not None:
        passed = all(o.passed for o in outcomes)
        doc = {"schema": "bootgen-matrix", "schema_version": 1, "matrix": str(path), "passed": passed,
               "runs": [{"name": o.entry.name, "expect": o.entry.expect.value, "verdict": o.verdict,
                         "passed": o.passed, "seconds": round(o.seconds, 3), "exit_status": o.status,
                         "options": dict(o.entry.options), "error": o.error or None, "result": o.doc}
                        for o in outcomes]}
        write_atomically(args.json, (json.dumps(doc, indent=2) + "\n").encode())


def cmd_matrix(args: argparse.Namespace) -> int:
    from ..matrix.runner import run_matrix
    from ..matrix.spec import load, resolve
    from ..render.progress import Progress, wanted
    path = resolve(args.file)
    for out in (args.junit, args.json):
        if out is not None:
            writable_output(out)
    distinct({"--junit": args.junit, "--json": args.json}, {"FILE": path})
    entries = load(path)
    jobs = args.jobs or len(os.sched_getaffinity(0)) or 1  # the cores this process may use, not the machine's
    with Progress(wanted(args.quiet)) as progress:
        progress.phase(f"{len(entries)} runs, {jobs} at a time")

        def done(outcome, count: int) -> None:
            progress.phase(f"{count} of {len(entries)} done, the last {outcome.entry.name}: {outcome.verdict}")
        finished: dict = {}
        try:
            outcomes = run_matrix(entries, jobs, done, finished)
        except BaseException:
            # Interrupted (a cancelled CI job): what finished is still written, the rest as not run.
            from ..matrix.runner import Outcome
            partial = [finished.get(e.name) or Outcome(e, "error", False, 0.0, -1, None, "not run: interrupted")
                       for e in entries]
            _write_outputs(args, path, partial)
            raise
    _write_outputs(args, path, outcomes)
    missed = [o for o in outcomes if not o.passed]
    try:
        if args.quiet:
            print(f"{len(outcomes) - len(missed)} of {len(outcomes)} runs as expected")
        else:
            print(_table(outcomes))
            print(f"{len(outcomes) - len(missed)} of {len(outcomes)} runs as expected ({path.stem}, {jobs} at a time)")
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    return int(worst_status(outcomes))


#: The worst of the entries' exit statuses decides the matrix's: an internal error, then an environment or
#: usage problem in a run, then no verdict, then a wrong verdict.
_SEVERITY = (ExitStatus.INTERNAL, ExitStatus.ENVIRONMENT, ExitStatus.USAGE, ExitStatus.NO_VERDICT, ExitStatus.VERDICT)


def worst_status(outcomes: list) -> ExitStatus:
    statuses = {o.status for o in outcomes if not o.passed}
    if not statuses:
        return ExitStatus.OK
    return next((s for s in _SEVERITY if int(s) in statuses), ExitStatus.VERDICT)
