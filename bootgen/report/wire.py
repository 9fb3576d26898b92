"""The report's wire format: find the stub's report in serial bytes and check its framing.

The stub writes, after whatever the firmware and the loader printed::

    #BOOTGEN begin proto=1 stub=0.1.0
    <type> key=value key=value [-- free text]
    ...
    #BOOTGEN end records=N crc32=XXXXXXXX

``records`` counts the lines between begin and end, ``crc32`` is the CRC-32
(zlib's) of those lines, each followed by a single newline. The parser never
raises: whatever it is given, it returns a :class:`ParsedReport` that says
whether the report is complete and, if not, why. Its records are still strings;
``bootgen.report.reader`` turns them into the typed model, and nothing else
in bootgen reads them.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from ..contract.project import (
    BEGIN_MARK,
    BEGIN_PROTOCOL,
    BEGIN_STUB_VERSION,
    END_CRC,
    END_MARK,
    END_RECORDS,
    PROTOCOL_VERSION,
    TEXT_SEPARATOR,
)
from ..contract.records import Rec


@dataclass(frozen=True)
class Record:
    """One report line: its type, its key=value fields and optional free text."""

    type: str
    fields: dict[str, str]
    text: str = ""

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.fields.get(key, default)

    def int(self, key: str, default: int | None = None) -> int | None:
        """A field as an integer (decimal or 0x-hex); default when absent or malformed."""
        value = self.fields.get(key)
        if value is None:
            return default
        try:
            return int(value, 0)
        except ValueError:
            return default


@dataclass
class ParsedReport:
    """What was found on the serial line."""

    found_begin: bool = False
    protocol: int | None = None
    stub_version: str | None = None
    records: list[Record] = field(default_factory=list)
    complete: bool = False
    problem: str | None = None   # why the report is not complete
    preamble: str = ""           # output before the begin line (firmware, loader)
    begin_count: int = 0         # more than one means the machine restarted

    def of_type(self, type_: str) -> list[Record]:
        return [r for r in self.records if r.type == type_]

    def first(self, type_: str, **match: str) -> Record | None:
        for record in self.records:
            if record.type == type_ and all(record.fields.get(k) == v for k, v in match.items()):
                return record
        return None

    @property
    def verdict(self) -> Record | None:
        """The verdict record, only when the report is complete and has exactly one."""
        if not self.complete:
            return None
        verdicts = self.of_type(Rec.VERDICT)
        return verdicts[0] if len(verdicts) == 1 else None


def parse_record(line: str) -> Record | None:
    """Parse one record line; None when it is not a well-formed record."""
    body, _, text = line.partition(TEXT_SEPARATOR)
    words = body.split(" ")
    if not words or not _is_name(words[0]):
        return None
    fields: dict[str, str] = {}
    for word in words[1:]:
        key, eq, value = word.partition("=")
        if not eq or not _is_name(key) or key in fields:
            return None
        fields[key] = value
    return Record(type=words[0], fields=fields, text=text)


def _is_name(word: str) -> bool:
    return bool(word) and word[0].isalpha() and all(c.isalnum() or c in "-_" for c in word) and word.isascii()


def _parse_header(line: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for word in line.split(" ")[2:]:
        key, eq, value = word.partition("=")
        if eq:
            out[key] = value
    return out


def parse(serial: bytes) -> ParsedReport:
    """Find the last report in ``serial`` and check that it is whole."""
    text = serial.decode("latin-1")
    pieces = text.split("\n")
    # The last piece has no newline yet: a partial line, unless it is a whole end line.
    if not pieces[-1].startswith(END_MARK):
        pieces.pop()
    lines = [line.rstrip("\r") for line in pieces]
    report = ParsedReport()
    begins = [i for i, line in enumerate(lines) if line.startswith(BEGIN_MARK)]
    report.begin_count = len(begins)
    if not begins:
        report.preamble = text[-4000:]
        report.problem = "no report: the stub's begin line never arrived"
        return report

    start = begins[-1]
    report.found_begin = True
    report.preamble = "\n".join(lines[:start])
    header = _parse_header(lines[start])
    report.stub_version = header.get(BEGIN_STUB_VERSION)
    try:
        report.protocol = int(header.get(BEGIN_PROTOCOL, ""))
    except ValueError:
        report.problem = f"malformed begin line: {lines[start]!r}"
        return report
    if report.protocol != PROTOCOL_VERSION:
        report.problem = f"unsupported report protocol {report.protocol} (this bootgen reads {PROTOCOL_VERSION})"
        return report

    crc = 0
    body_lines = 0
    for line in lines[start + 1:]:
        if line.startswith(END_MARK):
            report.complete, report.problem = _check_end(line, body_lines, crc)
            verdicts = len(report.of_type(Rec.VERDICT))
            if report.problem is None and verdicts != 1:
                report.complete = False
                report.problem = f"the report holds {verdicts} verdict records, not 1"
            return report
        body_lines += 1
        crc = zlib.crc32(line.encode("latin-1") + b"\n", crc)
        record = parse_record(line)
        if record is None:
            report.problem = f"malformed record: {line[:120]!r}"
            return report
        report.records.append(record)
    report.problem = f"truncated report: no end line after {body_lines} records"
    return report


def _check_end(line: str, body_lines: int, crc: int) -> tuple[bool, str | None]:
    fields = _parse_header(line)
    try:
        count = int(fields[END_RECORDS])
        expected_crc = int(fields[END_CRC], 16)
    except (KeyError, ValueError):
        return False, f"malformed end line: {line!r}"
    if count != body_lines:
        return False, f"record count mismatch: end line says {count}, received {body_lines}"
    if expected_crc != crc:
        return False, f"CRC mismatch: end line says {expected_crc:08x}, received {crc:08x}"
    return True, None
