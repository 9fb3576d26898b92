"""Write the files generated from the contract and the architecture tables.

    python -m bootgen.contract.generate            # write them
    python -m bootgen.contract.generate --check    # exit 1 and name the stale ones

Outputs: the stub's headers in ``stage/include/generated/`` and the tables
between ``<!-- BEGIN GENERATED: NAME -->`` and ``<!-- END GENERATED: NAME -->``
markers in ``docs/protocol.md`` and ``docs/failure-modes.md``. The rendering
lives in ``bootgen.contract.render_c`` and ``bootgen.contract.render_docs``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from . import render_c, render_docs

_BLOCK = re.compile(r"(<!-- BEGIN GENERATED: (?P<name>[a-z-]+) [^>]*-->\n)(?P<body>.*?)"
                    r"(<!-- END GENERATED: (?P=name) -->)", re.S)


def generated_headers() -> dict[str, str]:
    """File name (under stage/include/generated) -> content."""
    return render_c.headers()


def fill_blocks(text: str, blocks: dict[str, str], path: str) -> str:
    """``text`` with the body of each generated block replaced; every block in ``blocks`` must be present."""
    seen = set()

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in blocks:
            raise KeyError(f"{path}: no generator for the block {name!r}")
        seen.add(name)
        return match.group(1) + blocks[name] + match.group(4)

    out = _BLOCK.sub(replace, text)
    missing = set(blocks) - seen
    if missing:
        raise KeyError(f"{path}: generated block(s) {', '.join(sorted(missing))} missing")
    return out


def expected_files(root: Path) -> dict[Path, str]:
    """Every generated file (or document with generated blocks) -> the content it must have."""
    out = {root / "stage" / "include" / "generated" / name: text for name, text in generated_headers().items()}
    for doc, blocks in render_docs.blocks().items():
        path = root / "docs" / doc
        out[path] = fill_blocks(path.read_text(), blocks, str(path))
    return out


def stale(root: Path) -> list[Path]:
    """The generated files whose content differs from what the generator writes."""
    found = []
    for path, text in expected_files(root).items():
        try:
            if path.read_text() != text:
                found.append(path)
        except FileNotFoundError:
            found.append(path)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bootgen.contract.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say which generated files are stale")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2],
                        help="the checkout (default: the one this bootgen is in)")
    args = parser.parse_args(argv)
    if args.check:
        paths = stale(args.root)
        for path in paths:
            print(f"stale: {path.relative_to(args.root)}", file=sys.stderr)
        return 1 if paths else 0
    for path, text in expected_files(args.root).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path.relative_to(args.root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
