"""JUnit XML for CI systems (``--junit PATH``), read by Jenkins and GitLab.

The same configuration gives the same test cases on every run, whatever the
outcome, so a dashboard can track each one over time (junit_plan.py):

* one case per readiness check of the technology tested (``<suite>.check``);
* one per step of its operation (``<suite>.vmx``: VMXON region, VMXON, VMCS,
  VMLAUNCH, VMCLEAR, VMXOFF; ``<suite>.svm``: EFER.SVME, VMCB, VMRUN, clearing
  EFER.SVME), with the instructions each ran;
* one per exit the test guest is expected to cause (``<suite>.guest``);
* protocol 2: one per CPU (``<suite>.cpus``, ``cpu 1 (APIC 0x01)``), passed
  exactly when that CPU is ready; the cases above are the boot CPU's;
* one for the overall verdict (``<suite>.verdict``), whose text also names
  anything recorded that no case covers.

A case the run never reached is ``<skipped>`` with why; a failed check,
instruction or unexpected exit is a ``<failure>``. The verdict passes when it
is a ready verdict or the ``--expect``ed one; when the expected verdict is
reached, the failures that lead to it pass too, saying so. The suite is named
from the backend, the CPU model and the options (SuiteIdentity), and so are the
classnames, so one job per CPU model does not collide with another.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ..contract.verdicts import Verdict
from ..files import write_atomically
from ..verdict.evaluate import CpuResult, Result
from . import escape
from .junit_plan import Case, State, SuiteIdentity, plan_cases, plan_for, unplanned

__all__ = ["Case", "State", "SuiteIdentity", "build_cases", "junit_xml", "write_junit"]


def _xml_text(text: str) -> str:
    """Serial lines may hold control characters, which XML 1.0 cannot carry and a CI page must not show raw:
    escaped (render/escape.py)."""
    return escape.xml(text)


def cpu_case_name(cpu: CpuResult) -> str:
    return f"cpu {cpu.index} (APIC {cpu.apic_id:#04x})" if cpu.apic_id is not None else f"cpu {cpu.index}"


def cpu_cases(result: Result) -> list[Case]:
    """Protocol 2: one case per CPU's section, passed exactly when that CPU is ready."""
    if not result.report.sectioned:
        return []
    cases = []
    for cpu in result.cpus:
        text = f"{cpu.verdict.value}: {cpu.reason}"
        microcode = f" microcode={cpu.microcode:#x}" if cpu.microcode is not None else ""
        details = "\n".join([text, f"status={cpu.status} join_us={cpu.join_us}{microcode}",
                             *(f"differs from the boot CPU: {d.what} {d.boot} -> {d.this}" for d in cpu.differences)])
        state = State.PASSED if cpu.verdict.ready else State.FAILED
        cases.append(Case("cpus", cpu_case_name(cpu), state, text if cpu.verdict.ready else f"CPU {cpu.index}: {text}",
                          details))
    return cases


def build_cases(result: Result, expect: Verdict | None = None, advice: list[str] | None = None,
                mode: str | None = None) -> list[Case]:
    """All test cases, in plan order, then one per CPU, then the verdict."""
    wanted = expect if expect is not None else Verdict.VMX_READY
    as_expected = result.verdict is expect if expect is not None else result.verdict.ready
    technology = result.facts.technology if result.report.framing.found_begin else "vmx"
    cases = plan_cases(result.report, mode, technology) + cpu_cases(result)
    if as_expected and expect is not None:
        cases = [Case(c.group, c.name, State.PASSED, f"failed as expected (--expect {expect.value}): {c.message}")
                 if c.state is State.FAILED else c for c in cases]
    also = unplanned(result.report, plan_for(technology))
    verdict_text = "\n".join([f"{result.verdict.value}: {result.reason}", *(f"- {line}" for line in advice or []),
                              *(f"also recorded: {line}" for line in also)])
    if as_expected:
        cases.append(Case("verdict", "verdict", State.PASSED, verdict_text))
    else:
        message = f"verdict {result.verdict.value}, expected {wanted.value}: {result.reason}"
        cases.append(Case("verdict", "verdict", State.FAILED, message, verdict_text))
    return cases


def junit_xml(result: Result, expect: Verdict | None = None, advice: list[str] | None = None,
              identity: SuiteIdentity | None = None) -> bytes:
    """The JUnit XML document for a result (UTF-8, with an XML declaration)."""
    if identity is None:
        identity = SuiteIdentity.of_report(result)
    cases = build_cases(result, expect, advice, identity.mode)
    failures = sum(1 for c in cases if c.state is State.FAILED)
    skipped = sum(1 for c in cases if c.state is State.SKIPPED)
    elapsed = f"{result.outcome.elapsed_s:.3f}" if result.outcome is not None else "0"
    suite_name = _xml_text(identity.name)
    root = ET.Element("testsuites", name=suite_name, tests=str(len(cases)), failures=str(failures),
                      errors="0", time=elapsed)
    suite = ET.SubElement(root, "testsuite", name=suite_name, tests=str(len(cases)), failures=str(failures),
                          errors="0", skipped=str(skipped), time=elapsed)
    properties = ET.SubElement(suite, "properties")
    brand = result.facts.identity if result.report.framing.found_begin else None
    for key, value in (("verdict", result.verdict.value),
                       ("expected", wanted_value(expect)),
                       ("backend", identity.backend),
                       ("cpu-model", identity.cpu_model),
                       *identity.options,
                       ("cpu", brand.name if brand else "")):
        ET.SubElement(properties, "property", name=key, value=_xml_text(value or ""))
    for case in cases:
        element = ET.SubElement(suite, "testcase", classname=f"{suite_name}.{case.group}",
                                name=_xml_text(case.name), time="0")
        if case.state is State.FAILED:
            failure = ET.SubElement(element, "failure", message=_xml_text(case.message), type="failure")
            failure.text = _xml_text(case.details or case.message)
        elif case.state is State.SKIPPED:
            ET.SubElement(element, "skipped", message=_xml_text(case.message))
        out = case.details if case.state is State.SKIPPED else case.details or case.message
        if case.state is not State.FAILED and out:
            ET.SubElement(element, "system-out").text = _xml_text(out)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def wanted_value(expect: Verdict | None) -> str:
    return (expect or Verdict.VMX_READY).value


def write_junit(path: Path, result: Result, expect: Verdict | None = None, advice: list[str] | None = None,
                identity: SuiteIdentity | None = None) -> None:
    """Write the JUnit XML to ``path`` atomically (whole file or nothing)."""
    write_atomically(path, junit_xml(result, expect, advice, identity))
