"""Nothing from the guest reaches a terminal or an XML file raw.

A report's strings (the verdict's text, check texts, option values, the CPU's
vendor and brand, which any hypervisor can set) may hold control characters:
ESC starts terminal control sequences that can retitle a window, clear the screen
or hide text, CR overwrites a line. Every C0 control, DEL, C1 control and ESC
becomes a visible ``\\xNN`` escape, and so does every other character outside
printable ASCII (the serial bytes are read as Latin-1: that is what such a
character is).
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^\x20-\x7e]")
_UNSAFE_TEXT = re.compile(r"[^\x20-\x7e\n]")
_UNSAFE_XML = re.compile(r"[^\x20-\x7e\t\n]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: str) -> str:
    """For a single line (an error message): no control character at all, newlines included."""
    return _UNSAFE.sub(_escape, text)


def lines(text: str, keep: str = "") -> str:
    """For multi-line text: newlines stay; ``keep`` lists characters the caller put in on purpose."""
    if not keep:
        return _UNSAFE_TEXT.sub(_escape, text)
    pattern = re.compile(r"[^\x20-\x7e\n" + re.escape(keep) + "]")
    return pattern.sub(_escape, text)


def xml(text: str) -> str:
    """For JUnit XML: tab and newline stay; CR, the other controls and non-ASCII are escaped."""
    return _UNSAFE_XML.sub(_escape, text)
