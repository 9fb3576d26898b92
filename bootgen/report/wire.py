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

import collections
import io
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO

from ..contract.project import (
    BEGIN_MARK,
    BEGIN_PROTOCOL,
    BEGIN_STUB_VERSION,
    END_CRC,
    END_MARK,
    END_RECORDS,
    READ_PROTOCOLS,
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
        """The verdict record, only when the report is complete and has exactly one (protocol 2: one CPU)."""
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


#: A line longer than this is no record of the stub's (its longest are under 300 bytes).
MAX_LINE_BYTES = 4096
#: More records than this in one report are no report of the stub's (it writes about 150 per CPU).
MAX_RECORDS = 20000
#: How much of the output before the report is kept for people (firmware and loader messages).
PREAMBLE_CHARS = 4000

_BEGIN = BEGIN_MARK.encode()
_END = END_MARK.encode()
_MARK = _BEGIN[:_BEGIN.index(b" ")]


class _Framer:
    """Frames a report from lines fed one at a time: memory stays bounded, whatever the input."""

    def __init__(self) -> None:
        self.report = ParsedReport()
        self.preamble: collections.deque[str] = collections.deque(maxlen=64)
        self.crc = 0
        self.body = 0
        self.state = "none"     # none: no begin yet; open; ended; broken (malformed or over the limits)

    def feed(self, raw: bytes, overlong: bool = False) -> None:
        line = raw.rstrip(b"\r")
        if line.startswith(_MARK) and not overlong:
            if line.startswith(_BEGIN):
                self._begin(line.decode("latin-1"))
                return
            if line.startswith(_END) and self.state == "open":
                self._end(line.decode("latin-1"))
                return
        if self.state == "open":
            self._record(line, overlong)
        elif self.state == "none":
            self.preamble.append(line[:PREAMBLE_CHARS].decode("latin-1"))

    def _begin(self, line: str) -> None:
        report = ParsedReport(found_begin=True, begin_count=self.report.begin_count + 1)
        previous = self.report
        report.preamble = "\n".join(self.preamble)[-PREAMBLE_CHARS:] if not previous.found_begin else \
            previous.preamble
        self.report, self.crc, self.body, self.state = report, 0, 0, "open"
        header = _parse_header(line)
        report.stub_version = header.get(BEGIN_STUB_VERSION)
        try:
            report.protocol = int(header.get(BEGIN_PROTOCOL, ""))
        except ValueError:
            report.problem, self.state = f"malformed begin line: {line[:120]!r}", "broken"
            return
        if report.protocol not in READ_PROTOCOLS:
            readable = ", ".join(str(v) for v in READ_PROTOCOLS)
            report.problem = f"unsupported report protocol {report.protocol} (this bootgen reads {readable})"
            self.state = "broken"

    def _record(self, line: bytes, overlong: bool) -> None:
        report = self.report
        self.body += 1
        self.crc = zlib.crc32(line + b"\n", self.crc)
        text = line.decode("latin-1")
        record = None if overlong else parse_record(text)
        if record is None:
            report.problem, self.state = f"malformed record: {text[:120]!r}", "broken"
        elif self.body > MAX_RECORDS:
            report.problem, self.state = f"more than {MAX_RECORDS} records: not a report of the stub's", "broken"
        else:
            report.records.append(record)

    def _end(self, line: str) -> None:
        report = self.report
        report.complete, report.problem = _check_end(line, self.body, self.crc)
        verdicts = len(report.of_type(Rec.VERDICT))
        # Protocol 1: one verdict in all; protocol 2: one per CPU's section, which the verdict checks per CPU.
        if report.problem is None and verdicts != 1 and report.protocol == 1:
            report.complete = False
            report.problem = f"the report holds {verdicts} verdict records, not 1"
        self.state = "ended"

    def finish(self) -> ParsedReport:
        report = self.report
        if self.state == "none":
            report.preamble = "\n".join(self.preamble)[-PREAMBLE_CHARS:]
            report.problem = "no report: the stub's begin line never arrived"
        elif self.state == "open":
            report.problem = f"truncated report: no end line after {self.body} records"
        return report


def parse(serial: bytes) -> ParsedReport:
    """Find the last report in ``serial`` and check that it is whole."""
    return parse_stream(io.BytesIO(serial))


def parse_stream(stream: BinaryIO) -> ParsedReport:
    """Find the last report in a stream of serial bytes, reading it once, line by line, in bounded memory."""
    framer = _Framer()
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            break
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while (rest := stream.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass  # the rest of an overlong line
            if not rest:
                break  # it was the last, unfinished line
            framer.feed(line, overlong=True)
            continue
        if not line.endswith(b"\n"):
            # The last line has no newline yet: a partial line, unless it is a whole end line.
            if line.startswith(_END):
                framer.feed(line)
            break
        framer.feed(line[:-1])
    return framer.finish()


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
