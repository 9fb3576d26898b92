"""The generated tables of docs/protocol.md and docs/failure-modes.md, rendered from the contract."""

from __future__ import annotations

from . import injects, options, records, schema, verdicts
from .exit_status import SIGNAL_BASE, ExitStatus, exit_status


def _row(*cells: str) -> str:
    """A Markdown table row; a "|" inside a cell is escaped (already escaped ones are kept)."""
    return "| " + " | ".join(cell.replace("\\|", "|").replace("|", "\\|") for cell in cells) + " |"


def _field(spec: schema.FieldSpec) -> str:
    text = f"`{spec.key}`"
    if spec.values is not None:
        # Verdicts: only those the stub writes (no-verdict is the host's).
        names = [v for v in spec.values if getattr(v, "from_stub", True)]
        text += " (" + ", ".join(f"`{v}`" for v in names) + ")"
    if spec.doc:
        text += f": {spec.doc}"
    return text


def records_table() -> str:
    rows = [_row("type", "fields", "meaning"), _row("---", "---", "---")]
    for spec in schema.SCHEMA:
        meaning = spec.doc + (f"; the free text: {spec.text}" if spec.text else "")
        rows.append(_row(f"`{spec.type}`", "; ".join(_field(f) for f in spec.fields), meaning))
    return "\n".join(rows) + "\n"


def checks_table() -> str:
    rows = [_row("check", "what it verifies"), _row("---", "---")]
    rows += [_row(f"`{check}`", schema.CHECK_DOCS[check]) for check in records.Check]
    return "\n".join(rows) + "\n"


def verdicts_table() -> str:
    rows = [_row("verdict", "meaning", "`bootgen run` status"), _row("---", "---", "---")]
    for verdict in verdicts.Verdict:
        status = exit_status(verdict, None)
        rows.append(_row(f"`{verdict}`", verdicts.SPECS[verdict].meaning, f"{int(status)}"))
    return "\n".join(rows) + "\n"


def statuses_table() -> str:
    meanings = {
        ExitStatus.OK: f"a ready verdict ({', '.join(f'`{v}`' for v in verdicts.Verdict if v.ready)}), or the "
                       "verdict given with `--expect`",
        ExitStatus.VERDICT: "a definite verdict other than that",
        ExitStatus.USAGE: "a usage error: bad options, values or paths",
        ExitStatus.NO_VERDICT: f"no verdict (and `{verdicts.Verdict.NO_VERDICT}` was not expected)",
        ExitStatus.ENVIRONMENT: "a tool is missing, the build failed or the emulator could not start",
        ExitStatus.INTERNAL: "bootgen itself failed unexpectedly (a bug): one line names the error; please "
                             "report it",
    }
    rows = [_row("status", "meaning"), _row("---", "---")]
    rows += [_row(str(int(status)), meanings[status]) for status in ExitStatus]
    rows.append(_row(f"{SIGNAL_BASE} + N", "stopped by signal N (130: SIGINT, 143: SIGTERM, 129: SIGHUP), after "
                                          "stopping the emulator and removing its files"))
    return "\n".join(rows) + "\n"


def options_table() -> str:
    rows = [_row("option", "values", "default", "meaning"), _row("---", "---", "---", "---")]
    for option, spec in options.SPECS.items():
        rows.append(_row(f"`{option}=`", spec.values, f"`{spec.default}`", spec.meaning))
    return "\n".join(rows) + "\n"


def injects_table() -> str:
    rows = [_row("inject", "acts at", "how it is produced (SDM)", "verdict and detail", "proven by"),
            _row("---", "---", "---", "---", "---")]
    for name, spec in injects.SPECS.items():
        result = f"`{spec.verdict}`" + (f", {spec.result}" if spec.result else "")
        proof = spec.proven_by
        if proof.endswith("::test_injected_failure_on_bochs"):
            proof = f"`{proof}[{name}]`"
        rows.append(_row(f"`{name}`", spec.point.value, spec.how, result, proof))
    return "\n".join(rows) + "\n"


def blocks() -> dict[str, dict[str, str]]:
    """docs file name -> generated block name -> its body."""
    return {
        "protocol.md": {"records": records_table(), "checks": checks_table(), "verdicts": verdicts_table(),
                        "exit-statuses": statuses_table(), "stub-options": options_table()},
        "failure-modes.md": {"injects": injects_table()},
    }
