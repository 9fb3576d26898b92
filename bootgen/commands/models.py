"""`bootgen models`: the CPU models each backend offers and the technology each gives its guest."""

from __future__ import annotations

import argparse
import sys

from ..errors import ToolMissing


def _listings(args: argparse.Namespace):
    """(backend, models or None, why not) for each backend asked."""
    from ..backends.bochs.models import bochs_models
    from ..backends.qemu.models import qemu_models
    wanted = ("qemu", "bochs") if args.backend == "all" else (args.backend,)
    for backend in wanted:
        try:
            models = qemu_models(args.accel) if backend == "qemu" else bochs_models()
        except ToolMissing as exc:
            if args.backend != "all":
                raise
            yield backend, None, str(exc)
            continue
        yield backend, models, ""


def cmd_models(args: argparse.Namespace) -> int:
    listings = list(_listings(args))
    if all(models is None for _, models, _ in listings):
        raise ToolMissing("; ".join(why for _, _, why in listings))
    if args.json:
        import json
        doc = {backend: ({"models": [m.as_json() for m in models]} | ({"accel": args.accel} if backend == "qemu"
                                                                      else {}))
               if models is not None else {"unavailable": why} for backend, models, why in listings}
        print(json.dumps(doc, indent=2))
        return 0
    out = []
    for backend, models, why in listings:
        if models is None:
            out.append(f"{backend}: not available: {why}\n")
            continue
        where = f" under {args.accel.upper()}" if backend == "qemu" else ""
        source = f", from {models[0].source}" if models and models[0].source else ""
        out.append(f"{backend}: {len(models)} CPU models{where}{source}")
        width = max((len(m.name) for m in models), default=10)
        out.append(f"  {'MODEL':<{width}}  {'VENDOR':<13} TECHNOLOGY")
        for m in models:
            notes = [n for n, on in (("default", m.default), ("deprecated", m.deprecated),
                                     (f"alias of {m.alias_of}", m.alias_of)) if on]
            out.append(f"  {m.name:<{width}}  {m.vendor or '?':<13} {m.technology:<12} {', '.join(notes)}".rstrip())
        out.append("")
    out.append("bootgen tests VT-x on Intel models and AMD-V on AMD ones: a model with neither gives no-vmx or "
               "no-svm.")
    try:
        print("\n".join(out))
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    return 0
