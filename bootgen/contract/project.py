"""The project's version and the report protocol's framing (docs/protocol.md)."""

from __future__ import annotations

#: The one version of bootgen: the package, the stub (its begin line) and the docs use it.
VERSION = "0.1.0"

#: The report protocol this bootgen writes (2: per-CPU sections, contract.smp).
PROTOCOL_VERSION = 2
#: The protocols it reads: version 1 reports (the boot CPU only) read as before.
READ_PROTOCOLS = (1, 2)

BEGIN_MARK = "#BOOTGEN begin"
END_MARK = "#BOOTGEN end"
#: Separates a record's fields from its free text for people.
TEXT_SEPARATOR = " -- "

# Header fields of the begin and end lines.
BEGIN_PROTOCOL = "proto"
BEGIN_STUB_VERSION = "stub"
END_RECORDS = "records"
END_CRC = "crc32"

#: Size of the stub's embedded command line (section .bootgen.cmdline), terminating NUL included.
EMBEDDED_CMDLINE_SIZE = 256
EMBEDDED_CMDLINE_SECTION = ".bootgen.cmdline"
