"""`bootgen matrix FILE`: run every entry of a matrix file, in parallel, and say which missed its expectation."""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..contract.exit_status import ExitStatus
from ..files import write_atomically
from ..outputs import distinct, writable_output


def _table(outcomes: list) -> str:
    rows = [("", "name", "backend", "cpu", "verdict", "expected", "seconds")]
    for o in outcomes:
        cpu = o.entry.option("cpu") or o.entry.option("cpu_model") or ""
        rows.append(("PASS" if o.passed else "FAIL", o.entry.name, str(o.entry.option("backend") or "qemu"),
                     str(cpu), o.verdict, o.entry.expect.value, f"{o.seconds:.1f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    for o in outcomes:
        if not o.passed:
            lines.append(f"{o.entry.name}: {o.reason}")
    return "\n".join(lines)


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
    jobs = args.jobs or os.cpu_count() or 1
    with Progress(wanted(args.quiet)) as progress:
        progress.phase(f"{len(entries)} runs, {jobs} at a time")

        def done(outcome, count: int) -> None:
            progress.phase(f"{count} of {len(entries)} done, the last {outcome.entry.name}: {outcome.verdict}")
        outcomes = run_matrix(entries, jobs, done)
    missed = [o for o in outcomes if not o.passed]
    if args.junit is not None:
        from ..render.junit_matrix import write_matrix_junit
        write_matrix_junit(args.junit, path.stem, outcomes)
    if args.json is not None:
        doc = {"schema": "bootgen-matrix", "schema_version": 1, "matrix": str(path), "passed": not missed,
               "runs": [{"name": o.entry.name, "expect": o.entry.expect.value, "verdict": o.verdict,
                         "passed": o.passed, "seconds": round(o.seconds, 3), "exit_status": o.status,
                         "options": dict(o.entry.options), "error": o.error or None, "result": o.doc}
                        for o in outcomes]}
        write_atomically(args.json, (json.dumps(doc, indent=2) + "\n").encode())
    try:
        if args.quiet:
            print(f"{len(outcomes) - len(missed)} of {len(outcomes)} runs as expected")
        else:
            print(_table(outcomes))
            print(f"{len(outcomes) - len(missed)} of {len(outcomes)} runs as expected ({path.stem}, {jobs} at a time)")
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    return int(ExitStatus.OK if not missed else ExitStatus.VERDICT)
