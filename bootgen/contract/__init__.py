"""The stub/host contract, defined once.

Everything the stub and the host must agree on lives here as plain data: the
project and protocol versions and the report's framing (``project``), the
record types with their fields and the names their values take (``records``),
the verdicts (``verdicts``), the stub's command-line options (``options``), the
fault-injection names with what each must produce (``injects``), the I/O ports
(``ports``) and the test guest's ABI (``guest``).

The stub's header ``stage/include/generated/contract.h``, the architecture
headers next to it and the tables in ``docs/protocol.md`` and
``docs/failure-modes.md`` are generated from these modules and from
``bootgen.arch`` by ``python -m bootgen.contract.generate``; a unit test fails
when a checked-in copy differs from what the generator writes.
"""
