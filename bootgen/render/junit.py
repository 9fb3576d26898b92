"""JUnit XML for CI systems (``--junit PATH``).

One ``<testsuite name="bootgen">`` inside ``<testsuites>``, with one test case
per ``check`` record (classname ``bootgen.check``), one per VMX instruction
record (``bootgen.vmx``) and one for the overall verdict (``bootgen.verdict``).

* A check that failed is a ``<failure>``; ``info`` and ``adjust`` pass (an
  adjustment is described in ``<system-out>``).
* A VMX instruction that did not succeed is a ``<failure>``.
* The verdict passes when it is a ready verdict or the ``--expect``ed one. When
  the expected verdict is reached, the failing checks and instructions that lead
  to it pass too, saying so in ``<system-out>``: the run went as expected.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..arch.vmx_exits import instruction_error_name
from ..contract.records import CheckResult, Outcome
from ..contract.verdicts import Verdict
from ..files import write_atomically
from ..verdict.evaluate import Result
from . import escape

SUITE_NAME = "bootgen"
def _xml_text(text: str) -> str:
    """Serial lines may hold control characters, which XML 1.0 cannot carry and a CI page must not show raw:
    escaped (render/escape.py)."""
    return escape.xml(text)


@dataclass(frozen=True)
class Case:
    """One JUnit test case."""

    classname: str
    name: str
    failure: str | None = None     # the failure message; None: passed
    details: str = ""              # <failure> text or <system-out>


def _fields(fields: Mapping[str, str], skip: tuple[str, ...]) -> str:
    return " ".join(f"{k}={v}" for k, v in fields.items() if k not in skip)


def _unique(name: str, seen: dict[str, int]) -> str:
    seen[name] = seen.get(name, 0) + 1
    return name if seen[name] == 1 else f"{name} #{seen[name]}"


def _check_cases(result: Result) -> list[Case]:
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for check in result.report.boot_cpu.checks:
        outcome = check.result or ""
        name = _unique(check.name or "unnamed-check", seen)
        facts = _fields(check.raw, ("name", "result"))
        text = " -- ".join(x for x in (facts, check.text) if x)
        if outcome == CheckResult.FAIL:
            cases.append(Case("bootgen.check", name, check.text or f"{name} failed", text))
        elif outcome in (CheckResult.PASS, CheckResult.INFO, CheckResult.ADJUST):
            cases.append(Case("bootgen.check", name, None, f"{outcome}: {text}" if text else outcome))
        else:
            cases.append(Case("bootgen.check", name, f"unknown check result {outcome!r}", text))
    return cases


def _vmx_cases(result: Result) -> list[Case]:
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for record in result.report.boot_cpu.vmx:
        insn = record.insn or "vmx"
        name = _unique(insn, seen)
        outcome = record.outcome or ""
        facts = _fields(record.raw, ("insn",))
        if outcome == Outcome.SUCCESS:
            cases.append(Case("bootgen.vmx", name, None, facts))
            continue
        message = f"{insn.upper()} {outcome}"
        if record.insn_error is not None:
            message += f": VM-instruction error {record.insn_error} ({instruction_error_name(record.insn_error)})"
        elif record.vector is not None:
            message += f": exception vector {record.vector}"
        cases.append(Case("bootgen.vmx", name, message, facts))
    return cases


def build_cases(result: Result, expect: Verdict | None = None, advice: list[str] | None = None) -> list[Case]:
    """All test cases, in report order: checks, VMX instructions, then the verdict."""
    wanted = expect if expect is not None else Verdict.VMX_READY
    as_expected = result.verdict is expect if expect is not None else result.verdict.ready
    cases = _check_cases(result) + _vmx_cases(result)
    if as_expected and expect is not None:
        cases = [Case(c.classname, c.name, None, f"failed as expected (--expect {expect.value}): {c.failure}")
                 if c.failure else c for c in cases]
    verdict_text = "\n".join([f"{result.verdict.value}: {result.reason}", *(f"- {line}" for line in advice or [])])
    if as_expected:
        cases.append(Case("bootgen.verdict", "verdict", None, verdict_text))
    else:
        message = f"verdict {result.verdict.value}, expected {wanted.value}: {result.reason}"
        cases.append(Case("bootgen.verdict", "verdict", message, verdict_text))
    return cases


def junit_xml(result: Result, expect: Verdict | None = None, advice: list[str] | None = None) -> bytes:
    """The JUnit XML document for a result (UTF-8, with an XML declaration)."""
    cases = build_cases(result, expect, advice)
    failures = sum(1 for c in cases if c.failure is not None)
    elapsed = f"{result.outcome.elapsed_s:.3f}" if result.outcome is not None else "0"
    root = ET.Element("testsuites", name=SUITE_NAME, tests=str(len(cases)), failures=str(failures),
                      errors="0", time=elapsed)
    suite = ET.SubElement(root, "testsuite", name=SUITE_NAME, tests=str(len(cases)), failures=str(failures),
                          errors="0", skipped="0", time=elapsed)
    properties = ET.SubElement(suite, "properties")
    identity = result.facts.identity if result.report.framing.found_begin else None
    for key, value in (("verdict", result.verdict.value),
                       ("expected", (expect or Verdict.VMX_READY).value),
                       ("backend", result.outcome.backend if result.outcome else "report"),
                       ("cpu", identity.name if identity else "")):
        ET.SubElement(properties, "property", name=key, value=_xml_text(value or ""))
    for case in cases:
        element = ET.SubElement(suite, "testcase", classname=case.classname, name=_xml_text(case.name), time="0")
        if case.failure is not None:
            failure = ET.SubElement(element, "failure", message=_xml_text(case.failure), type="failure")
            failure.text = _xml_text(case.details)
        elif case.details:
            ET.SubElement(element, "system-out").text = _xml_text(case.details)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write_junit(path: Path, result: Result, expect: Verdict | None = None,
                advice: list[str] | None = None) -> None:
    """Write the JUnit XML to ``path`` atomically (whole file or nothing)."""
    write_atomically(path, junit_xml(result, expect, advice))
