"""Print a result as text or JSON, write its JUnit XML, and give the exit status."""

from __future__ import annotations

import argparse
import sys


def emit(result, args: argparse.Namespace, extra: dict | None = None, suite=None) -> int:
    """``suite``: the run's JUnit SuiteIdentity (a report's comes from the CPU it names)."""
    from ..contract.exit_status import exit_status
    from ..render.jsondoc import to_json
    from ..render.terminal import use_color
    from ..render.text import to_text
    status = int(exit_status(result.verdict, args.expect))
    if getattr(args, "junit", None) is not None:
        from ..render.junit import SuiteIdentity, write_junit
        from ..verdict.advice import advise
        if suite is None:
            suite = SuiteIdentity.of_report(result, getattr(args, "junit_suite", None))
        write_junit(args.junit, result, args.expect, advise(result), suite)
    if args.json:
        import json
        text = json.dumps(to_json(result, extra), indent=2, sort_keys=False)
    elif getattr(args, "quiet", False):
        text = to_text(result, color=use_color()).splitlines()[0]  # "verdict: NAME  reason"
    else:
        text = to_text(result, color=use_color())
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:
        pass  # the reader went away; the verdict's status still stands
    return status
