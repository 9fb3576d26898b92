"""The report parser: real logs, truncation, corruption, restarts, and arbitrary bytes."""

from __future__ import annotations

import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from bootgen.report.wire import parse, parse_record

from conftest import DATA

REAL_LOG = (DATA / "qemu-tcg-no-vmx.log").read_bytes()


def make_report(records: list[str], *, count: int | None = None, crc: int | None = None, protocol: int = 1) -> bytes:
    """A report as the stub writes it (CRLF on the wire, CRC over LF-terminated records)."""
    body = "".join(r + "\n" for r in records)
    crc = zlib.crc32(body.encode()) if crc is None else crc
    count = len(records) if count is None else count
    text = f"SeaBIOS noise\n#BOOTGEN begin proto={protocol} stub=0.1.0\n" + body + \
        f"#BOOTGEN end records={count} crc32={crc:08x}\n"
    return text.replace("\n", "\r\n").encode()


def test_real_qemu_log_is_complete():
    report = parse(REAL_LOG)
    assert report.complete, report.problem
    assert report.protocol == 1
    assert report.verdict is not None and report.verdict.get("name") == "no-vmx"
    leaf1 = report.first("cpuid", leaf="0x00000001")
    assert leaf1 is not None and leaf1.int("ecx") & (1 << 5) == 0


def test_record_fields_and_text():
    record = parse_record("vmx insn=vmxon outcome=fail-valid cf=0 zf=1 insn_error=15 -- VMfailValid")
    assert record.type == "vmx"
    assert record.fields["outcome"] == "fail-valid"
    assert record.int("insn_error") == 15
    assert record.text == "VMfailValid"
    assert parse_record("=bad") is None
    assert parse_record("vmx insn") is None          # a word without '='
    assert parse_record("vmx a=1 a=2") is None       # duplicate key


def test_every_truncation_of_a_real_log_has_no_verdict():
    whole = parse(REAL_LOG)
    assert whole.verdict is not None
    end = REAL_LOG.rindex(b"#BOOTGEN end")
    for cut in range(0, end, 7):
        assert parse(REAL_LOG[:cut]).verdict is None, cut


def test_record_count_mismatch_is_detected():
    report = parse(make_report(["verdict name=no-vmx"], count=2))
    assert not report.complete and "count" in report.problem


def test_crc_mismatch_is_detected():
    data = make_report(["check name=cpuid-vmx result=fail", "verdict name=no-vmx"])
    corrupted = data.replace(b"result=fail", b"result=pass")
    report = parse(corrupted)
    assert not report.complete and "CRC" in report.problem


def test_two_verdicts_are_rejected():
    report = parse(make_report(["verdict name=no-vmx", "verdict name=vmx-ready"]))
    assert report.verdict is None and "2 verdict" in report.problem


def test_restart_uses_the_last_report_and_counts_begins():
    first = make_report(["step name=paging state=begin"])[:-40]  # cut before the end
    report = parse(first + make_report(["verdict name=no-vmx"]))
    assert report.begin_count == 2
    assert report.verdict is not None


def test_unknown_protocol_version():
    report = parse(b"#BOOTGEN begin proto=9 stub=9\nverdict name=no-vmx\n#BOOTGEN end records=1 crc32=00000000\n")
    assert report.verdict is None and "protocol 9" in report.problem


def test_partial_last_line_is_not_a_record():
    data = make_report(["verdict name=no-vmx"])
    head = data[: data.index(b"#BOOTGEN end")] + b"step name=x sta"
    report = parse(head)
    assert not report.complete and "truncated" in report.problem


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise_nor_give_a_verdict(data):
    report = parse(data)
    assert report.verdict is None or report.complete


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=len(REAL_LOG) - 1), st.integers(min_value=0, max_value=255))
def test_any_single_byte_change_in_the_body_loses_the_verdict(position, value):
    begin = REAL_LOG.index(b"#BOOTGEN begin")
    end = REAL_LOG.index(b"#BOOTGEN end")
    if not begin + 40 < position < end or REAL_LOG[position] == value or REAL_LOG[position] in b"\r\n" \
            or value in b"\r\n":
        return
    mutated = bytearray(REAL_LOG)
    mutated[position] = value
    assert parse(bytes(mutated)).verdict is None


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_real_logs_never_raise_nor_give_a_wrong_verdict(data):
    """Lines dropped, duplicated or swapped in a real log: no verdict unless the report is still whole."""
    lines = REAL_LOG.split(b"\n")
    begin = next(i for i, line in enumerate(lines) if line.startswith(b"#BOOTGEN begin"))
    end = next(i for i, line in enumerate(lines) if line.startswith(b"#BOOTGEN end"))
    i = data.draw(st.integers(min_value=begin + 1, max_value=end - 1))
    j = data.draw(st.integers(min_value=begin + 1, max_value=end - 1))
    op = data.draw(st.sampled_from(["drop", "duplicate", "swap"]))
    mutated = list(lines)
    if op == "drop":
        del mutated[i]
    elif op == "duplicate":
        mutated.insert(i, mutated[i])
    else:
        mutated[i], mutated[j] = mutated[j], mutated[i]
    report = parse(b"\n".join(mutated))
    if mutated == lines:
        assert report.verdict is not None
    else:
        assert report.verdict is None
