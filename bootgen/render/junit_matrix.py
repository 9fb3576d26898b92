"""JUnit XML for a matrix: one suite named after the matrix file, one case per entry (its verdict against its
expectation), the run's reason and advice in the case's text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ..files import write_atomically
from . import escape


def matrix_junit_xml(name: str, outcomes: list) -> bytes:
    """``outcomes``: matrix.runner.Outcome, in the file's order."""
    suite_name = escape.xml(f"bootgen.matrix.{name}")
    errors = sum(1 for o in outcomes if o.doc is None)        # the run gave no result: <error>
    failures = sum(1 for o in outcomes if not o.passed) - errors
    elapsed = f"{sum(o.seconds for o in outcomes):.3f}"
    root = ET.Element("testsuites", name=suite_name, tests=str(len(outcomes)), failures=str(failures),
                      errors=str(errors), time=elapsed)
    suite = ET.SubElement(root, "testsuite", name=suite_name, tests=str(len(outcomes)), failures=str(failures),
                          errors=str(errors), skipped="0", time=elapsed)
    for o in outcomes:
        case = ET.SubElement(suite, "testcase", classname=suite_name, name=escape.xml(o.entry.name),
                             time=f"{o.seconds:.3f}")
        advice = "\n".join(f"- {line}" for line in ((o.doc or {}).get("advice") or []))
        text = escape.xml(f"{o.verdict}: {o.reason}" + (f"\n{advice}" if advice else ""))
        if o.passed:
            ET.SubElement(case, "system-out").text = text
        elif o.doc is None:
            error = ET.SubElement(case, "error", type="error",
                                  message=escape.xml(f"the run gave no result: {o.reason}"))
            error.text = text
        else:
            failure = ET.SubElement(case, "failure", type="failure", message=escape.xml(
                f"verdict {o.verdict}, expected {o.entry.expect.value}: {o.reason}"))
            failure.text = text
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write_matrix_junit(path: Path, name: str, outcomes: list) -> None:
    write_atomically(path, matrix_junit_xml(name, outcomes))
