"""`bootgen doctor`: is this host ready?"""

from __future__ import annotations

import argparse


def cmd_doctor(args: argparse.Namespace) -> int:
    from ..render.terminal import use_color
    from ..tools.doctor import exit_status, run_checks, to_json, to_text
    checks = run_checks()
    if args.json:
        import json
        print(json.dumps(to_json(checks), indent=2))
    else:
        print(to_text(checks, color=use_color()))
    return exit_status(checks)
